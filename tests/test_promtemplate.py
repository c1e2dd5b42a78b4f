"""rlmgen renders alert templates exactly as Prometheus does: checked against promtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from rlmgen.lang import promtemplate
from tests.conftest import assert_promtool_proves, require_tool

VALUES = [
    0.808,
    1e6,
    1234567.0,
    123456.0,
    0.0001,
    0.00001,
    1e21,
    -2.5,
    100.0,
    0.30000000000000004,
    3.0e-7,
    86400 * 3 + 5,
    59.5,
    1536.0,
    2.0**40,
    -90061.5,
    1e300,
    0.0,
]
TEMPLATE = (
    "r={{ $value }} h={{ $value | humanize }} d={{ $value | humanizeDuration }} "
    "p={{ $value | humanizePercentage }} k={{ $value | humanize1024 }} "
    "u={{ $labels.user }} v={{ .Value }}"
    # trim markers, and the escapes rlmgen writes for spec text that holds `{{`
    ' t=[ {{- $value -}} ] q={{ "{{" }} x }} e={{ "a\\"b" }}'
    ' f={{ printf "%.4g" $value }} g={{ printf "%.2f" .Value }} x={{ printf "%e" $value }}'
    # a pipeline passes the value as printf's last argument
    ' pf={{ $value | printf "%.4g" }} pg={{ .Value | printf "%.1f" }}'
)
# humanizeTimestamp, for the values Prometheus can (up to 2262, as nanoseconds in an int64)
TIMESTAMP_VALUES = [0.0, 1700000000.5, 1700000000.123456, 93600.0, -2.5, 1e-4, 1.0015, 4e9]
TIMESTAMP_TEMPLATE = "ts={{ $value | humanizeTimestamp }} tv={{ humanizeTimestamp $value }}"


@pytest.mark.parametrize(
    ("template", "values"), [(TEMPLATE, VALUES), (TIMESTAMP_TEMPLATE, TIMESTAMP_VALUES)]
)
def test_rendering_matches_promtool(tmp_path: Path, template: str, values: list[float]) -> None:
    promtool = require_tool("promtool")
    rules = {
        "groups": [
            {
                "name": "g",
                "rules": [
                    {
                        "alert": f"A{i}",
                        "expr": f'label_replace(vector({v!r}), "user", "alice", "", "")',
                        "annotations": {"s": template},
                    }
                    for i, v in enumerate(values)
                ],
            }
        ]
    }
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [],
                "alert_rule_test": [
                    {
                        "eval_time": "1m",
                        "alertname": f"A{i}",
                        "exp_alerts": [
                            {
                                "exp_labels": {"user": "alice"},
                                "exp_annotations": {
                                    "s": promtemplate.render(template, v, {"user": "alice"})
                                },
                            }
                        ],
                    }
                    for i, v in enumerate(values)
                ],
            }
        ],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    result = subprocess.run(
        [promtool, "test", "rules", str(tmp_path / "tests.yaml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.808, "80.8%"), (0.016666666666666666, "1.667%"), (1.0, "100%")],
)
def test_humanize_percentage(value: float, expected: str) -> None:
    assert promtemplate.humanize_percentage(value) == expected


@pytest.mark.parametrize(
    "text", ['{{ printf "%5.1f" $value }}', "{{ $value | title }}", "{{ range $labels }}x{{ end }}"]
)
def test_unsupported_templates_are_refused(text: str) -> None:
    with pytest.raises(promtemplate.UnsupportedTemplate):
        promtemplate.check(text)


@pytest.mark.parametrize(
    ("text", "labels", "rendered"),
    [
        ("{{ $labels.pod }}{{ with $labels.cluster }} on {{ . }}{{ end }}", {"pod": "p"}, "p"),
        (
            "{{ $labels.pod }}{{ with $labels.cluster }} on {{ . }}{{ end }}",
            {"pod": "p", "cluster": "c1"},
            "p on c1",
        ),
        ("{{ if $labels.zone }}in {{ $labels.zone }}{{ else }}here{{ end }}!", {}, "here!"),
        (
            "{{ if .Labels.zone }}in {{ .Labels.zone }}{{ else }}here{{ end }}!",
            {"zone": "z"},
            "in z!",
        ),
        ("a {{- with $labels.c }} on {{ . }} {{- end }} b", {"c": "z"}, "a on z b"),
        ("a {{- with $labels.c }} on {{ . }} {{- end }} b", {}, "a b"),
    ],
)
def test_optional_label_blocks(text: str, labels: dict[str, str], rendered: str) -> None:
    """kube-prometheus prints a label only where the series have it:
    `{{ with $labels.cluster }} on {{ . }}{{ end }}` (Go's text/template: an empty value is
    false)."""
    assert promtemplate.render(text, 1.0, labels) == rendered


def test_an_optional_label_block_is_judged_by_promtool(tmp_path: Path) -> None:
    """The generated test of an alert that prints an optional label passes; printing the
    label unguarded, as the prediction does not, fails it."""
    text = SPEC_WITH_OPTIONAL_LABEL
    assert_promtool_proves(
        tmp_path,
        text,
        "{{ with $labels.cluster }} on {{ . }}{{ end }}",
        " on {{ $labels.cluster }}",
    )


SPEC_WITH_OPTIONAL_LABEL = """\
apiVersion: rlmgen/v1
service: {name: k, title: K, namespace: k, team: t, runbookUrl: "https://r.example.com/k"}
metrics:
  - {name: kube_pod_status_ready, type: gauge, labels: [namespace, pod, condition]}
alertGroups:
  - name: g
    severity: warning
    alerts:
      - name: PodNotReady
        expr: sum by (namespace, pod) (kube_pod_status_ready{condition="false"}) > 0
        for: 5m
        summary: "{{ $labels.pod }} not ready{{ with $labels.cluster }} on {{ . }}{{ end }}"
        examples:
          - series:
              - series: >-
                  kube_pod_status_ready{condition="false", namespace="a", pod="p",
                  job="kube-state-metrics", instance="ksm:8080"}
                values: "1x20"
            at: 10m
            labels: {namespace: a, pod: p}
"""


def test_a_label_the_rule_adds_prints_empty_in_prometheus(tmp_path: Path) -> None:
    """What labels/never-carried says of `$labels.team` (a label the rule adds): Prometheus
    fills $labels with the series' labels, so the summary prints it empty. promtool passes
    the test that expects it empty and fails the one that expects the team."""
    from tests.conftest import REPO

    case = (REPO / "tests" / "cases" / "invalid" / "annotation-rule-label.yaml").read_text()
    text = case.replace(" for {{ $labels.team }}", " for core")
    assert_promtool_proves(tmp_path, text, "deep for core'", "deep for {{ $labels.team }}'")
