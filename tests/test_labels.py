"""Labels: what PromQL keeps of its series' labels (as Prometheus computes it), the checks
built on that, and the generated expressions and tests that depend on it, judged by
promtool on series shaped like production's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import promql_parser
import pytest
import yaml

from rlmgen.lang.labels import UNKNOWN, LabelSet, infer
from rlmgen.pipeline import compile_specs
from tests.conftest import require_tool

KNOWN = {
    "a": LabelSet.of("job", "instance", "pod"),
    "b": LabelSet.of("job", "instance"),
    "c": LabelSet.of("pod"),
    "h_bucket": LabelSet.of("job", "instance", "le", "endpoint"),
}


def _labels(expr: str) -> tuple[LabelSet, list[str]]:
    result, problems = infer(promql_parser.parse(expr), lambda n: KNOWN.get(n, UNKNOWN), expr)
    return result.labels, [p.message for p in problems]


@pytest.mark.parametrize(
    ("expr", "names", "exact"),
    [
        ("a", {"job", "instance", "pod"}, True),
        ("rate(a[5m])", {"job", "instance", "pod"}, True),
        ("sum(a)", set(), True),
        ("sum by (pod) (a)", {"pod"}, True),
        ("sum without (pod) (a)", {"job", "instance"}, True),
        ("sum without (pod) (unknown)", set(), False),
        ("sum by (pod) (unknown)", {"pod"}, True),  # a `by` says exactly what it keeps
        ("topk(3, a)", {"job", "instance", "pod"}, True),
        ('count_values("v", b)', {"v"}, True),
        ("histogram_quantile(0.9, sum by (le, endpoint) (rate(h_bucket[5m])))", {"endpoint"}, True),
        ('label_replace(b, "dst", "$1", "job", "(.*)")', {"dst", "job", "instance"}, True),
        ('absent(a{job="x", pod=~"p.*"})', {"job"}, True),
        ("vector(1)", set(), True),
        ("a / on(pod) c", {"pod"}, True),  # one-to-one on(): keeps only the on labels
        ("a / ignoring(pod) b", {"job", "instance"}, True),
        ("a / on(job, instance) group_left b", {"job", "instance", "pod"}, True),
        ("c * on(pod) group_right a", {"job", "instance", "pod"}, True),
        ("a > 1", {"job", "instance", "pod"}, True),
        ("a and on(pod) c", {"job", "instance", "pod"}, True),
        ("b or a", set(), False),
        ("unknown / b", set(), False),
    ],
)
def test_what_an_expression_keeps(expr: str, names: set[str], exact: bool) -> None:
    labels, problems = _labels(expr)
    assert (set(labels.names), labels.exact) == (names, exact)
    assert problems == []


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("a / b", "the two sides of '/' can never match"),
        ("a and b", "the two sides of 'and' can never match"),
        ("1 - a / b", "the two sides of '/' can never match"),
        ("sum by (nope) (a)", "'by (nope)': the series aggregated here never carry 'nope'"),
        ('a{nope="x"}', "'a' never carries the label 'nope'"),
        # a `by` on a missing label is reported once, not again at the division after it
        ("sum by (nope) (a) / c", "'by (nope)': the series aggregated here never carry"),
        ("histogram_quantile(99, sum by (le) (rate(u[5m])))", "histogram_quantile's quantile"),
        ("histogram_quantile(-0.5, sum by (le) (rate(u[5m])))", "histogram_quantile's quantile"),
        (
            "histogram_quantile(0.9, sum by (pod) (rate(u_bucket[5m])))",
            "histogram_quantile reads buckets by their 'le' label",
        ),
    ],
)
def test_what_can_never_work(expr: str, problem: str) -> None:
    _, problems = _labels(expr)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


@pytest.mark.parametrize(
    "expr",
    [
        'a{nope=""}',
        'a{nope=~".*"}',
        'a{nope!="x"}',
        "a / on(pod) c",
        "unknown / a",
        "histogram_quantile(0.99, sum by (le, pod) (rate(u_bucket[5m])))",
        "histogram_quantile(1, rate(u_bucket[5m]))",  # labels unknown: nothing to say of le
        "histogram_quantile(0.9, sum by (pod) (rate(u[5m])))",  # a native histogram
    ],
)
def test_what_is_fine(expr: str) -> None:
    assert _labels(expr)[1] == []


@pytest.mark.parametrize(
    ("left", "right", "hint"),
    [
        ("a", "sum by (pod) (a)", "`/ on(pod) group_left`"),
        ("sum by (pod) (a)", "a", "`/ on(pod) group_right`"),
        ("a", "h_bucket", "sum by (instance, job) (...) / sum by (instance, job) (...)"),
        ("b", "c", "sum(...) / sum(...)"),
    ],
)
def test_the_hint_matches_what_prometheus_would_accept(left: str, right: str, hint: str) -> None:
    """group_left when the right side has fewer labels, group_right when the left has;
    when each has labels the other lacks, on() alone would match many to many."""
    expr = f"{left} / {right}"
    _, problems = infer(promql_parser.parse(expr), lambda n: KNOWN.get(n, UNKNOWN), expr)
    assert len(problems) == 1 and problems[0].hint.endswith(hint), problems


SPEC = """apiVersion: rlmgen/v1
service:
  name: pool
  title: Pool
  namespace: pool
  team: sre
  runbookUrl: https://runbooks.example.com/pool
  labels: {{service: pool}}
  scrapeLabels: [job, instance]
metrics:
  - name: app_worker_busy
    type: gauge
    unit: count
    labels: [pod, worker]
  - name: app_workers_max
    type: gauge
    unit: count
    labels: [pod]
  - name: app_workers_busy
    description: Busy workers
    unit: count
    expr: sum by (pod) (app_worker_busy)
    record: pod:app_workers_busy:sum
    limit: {limit}
    levels:
      warning: "> 80%"
      critical: "> 95%"
routing:
  default: oncall
  receivers:
    - name: oncall
      pagerduty: {{routingKeyFile: /etc/secrets/key}}
"""


def _build(tmp_path: Path, limit: str = "max by (pod) (app_workers_max)") -> dict[str, bytes]:
    spec = tmp_path / "pool.yaml"
    spec.write_text(SPEC.format(limit=limit))
    [result] = compile_specs([spec], tmp_path / "out")
    assert not result.errors, [d.format() for d in result.errors]
    return result.files


def _level_exprs(files: dict[str, bytes]) -> dict[str, str]:
    groups = yaml.safe_load(files["prometheus/rules.yaml"])["groups"]
    return {r["labels"]["severity"]: r["expr"] for g in groups for r in g["rules"] if "alert" in r}


def test_a_limit_division_matches_on_the_labels_both_sides_carry(tmp_path: Path) -> None:
    # the recorded series carry {pod, service}; the limit's {pod}: many to one, on pod
    assert _level_exprs(_build(tmp_path))["warning"] == (
        "pod:app_workers_busy:sum / on(pod) group_left() (max by (pod) (app_workers_max)) > 0.8"
    )


def _run(promtool: str, root: Path, files: dict[str, bytes], tests: str | None = None) -> str:
    (root / "prometheus").mkdir(parents=True, exist_ok=True)
    (root / "prometheus" / "rules.yaml").write_bytes(files["prometheus/rules.yaml"])
    (root / "prometheus" / "tests.yaml").write_text(
        tests or files["prometheus/tests.yaml"].decode()
    )
    run = subprocess.run(
        [promtool, "test", "rules", str(root / "prometheus" / "tests.yaml")],
        capture_output=True,
        text=True,
    )
    return "" if run.returncode == 0 else run.stdout + run.stderr


def test_the_generated_tests_feed_series_shaped_like_production(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    files = _build(tmp_path)
    tests = yaml.safe_load(files["prometheus/tests.yaml"])["tests"]
    inputs = {s["series"] for t in tests for s in t["input_series"]}
    assert inputs == {
        'pod:app_workers_busy:sum{pod="pod",service="pool"}',  # the recording rule's labels
        'app_workers_max{instance="instance",job="job",pod="pod"}',  # the limit's own
    }
    assert _run(promtool, tmp_path / "ok", files) == ""


def test_the_generated_tests_fail_when_the_division_ignores_labels(tmp_path: Path) -> None:
    """Reintroduce the mismatch (a plain division) and the generated tests catch it."""
    promtool = require_tool("promtool")
    files = _build(tmp_path)
    plain = files["prometheus/rules.yaml"].replace(b" / on(pod) group_left() ", b" / ")
    assert plain != files["prometheus/rules.yaml"]
    failure = _run(promtool, tmp_path / "plain", {**files, "prometheus/rules.yaml": plain})
    assert "FAILED" in failure


DESCRIPTION = "app_workers_busy is 90% (warning level: > 80%)."


def test_the_limit_alert_fires_from_the_recording_rules_inputs(tmp_path: Path) -> None:
    """The whole chain on production-shaped input: the recording rule's own inputs (two
    workers per pod, with the scrape's labels) and the limit series with pod labels."""
    promtool = require_tool("promtool")
    files = _build(tmp_path)
    scrape = 'job="pool",instance="10.0.0.1:9090"'
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    # pod a: 9 of 10 busy (90%, past warning); pod b: 5 of 10 (fine)
                    {"series": f'app_worker_busy{{pod="a",worker="1",{scrape}}}', "values": "5x20"},
                    {"series": f'app_worker_busy{{pod="a",worker="2",{scrape}}}', "values": "4x20"},
                    {"series": f'app_worker_busy{{pod="b",worker="1",{scrape}}}', "values": "5x20"},
                    {"series": f'app_workers_max{{pod="a",{scrape}}}', "values": "10x20"},
                    {"series": f'app_workers_max{{pod="b",{scrape}}}', "values": "10x20"},
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "10m",
                        "alertname": "AppWorkersBusyHigh",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "pod": "a",
                                    "service": "pool",
                                    "namespace": "pool",
                                    "team": "sre",
                                    "severity": "warning",
                                    "route": "oncall",
                                },
                                "exp_annotations": {
                                    "summary": "Busy workers above 80% of the limit",
                                    "description": DESCRIPTION,
                                    "runbook_url": "https://runbooks.example.com/pool#appworkersbusyhigh",
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    assert _run(promtool, tmp_path / "chain", files, yaml.safe_dump(test)) == ""


@pytest.mark.parametrize(("label", "fails"), [("cache", True), ("scope", False)])
def test_a_rule_label_that_overwrites_a_series_label_fails_in_prometheus(
    tmp_path: Path, label: str, fails: bool
) -> None:
    """What the overwrite check reports, shown by promtool: two series that differ only in
    'cache' become one under `labels: {cache: all}`, and the rule fails to evaluate."""
    promtool = require_tool("promtool")
    rules = {
        "groups": [
            {
                "name": "g",
                "rules": [{"alert": "HitRatioLow", "expr": "hits < 0.8", "labels": {label: "all"}}],
            }
        ]
    }
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    expected = [{"exp_labels": {"cache": c, label: "all"}} for c in ("a", "b")]
    if label == "cache":
        expected = []
    test = {
        "rule_files": ["rules.yaml"],
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'hits{cache="a"}', "values": "0.5x5"},
                    {"series": 'hits{cache="b"}', "values": "0.5x5"},
                ],
                "alert_rule_test": [
                    {"eval_time": "2m", "alertname": "HitRatioLow", "exp_alerts": expected}
                ],
            }
        ],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(test))
    run = subprocess.run(
        [promtool, "test", "rules", str(tmp_path / "tests.yaml")], capture_output=True, text=True
    )
    output = run.stdout + run.stderr
    assert (run.returncode != 0) is fails, output
    assert ("same labelset after applying alert labels" in output) is fails, output


KUBERNETES_SPEC = """apiVersion: rlmgen/v1
service:
  name: pool
  title: Pool
  namespace: pool
  team: sre
  runbookUrl: https://runbooks.example.com/pool
  scrapeLabels: [job, instance, namespace, pod]
metrics:
  - name: app_memory_bytes
    type: gauge
    unit: bytes
    labels: [container]
  - name: app_pod_memory
    unit: bytes
    expr: sum by (namespace, pod) (app_memory_bytes)
    record: namespace_pod:app_memory_bytes:sum
    levels: {warning: "> 1GiB"}
alertGroups:
  - name: totals
    severity: warning
    alerts:
      - {name: PoolMemoryHigh, expr: "sum(app_memory_bytes) > 1e10", summary: Pool memory}
routing:
  receivers:
    - {name: oncall, severities: [warning], webhook: {url: "http://127.0.0.1:9/"}}
"""


def test_rlmgen_keeps_the_namespace_the_series_carry(tmp_path: Path) -> None:
    """A Kubernetes scrape adds namespace: rlmgen's own would overwrite it, and two pods
    of one name in two namespaces would collide. An alert that sums the namespace away
    gets the spec's."""
    spec = tmp_path / "pool.yaml"
    spec.write_text(KUBERNETES_SPEC)
    [result] = compile_specs([spec], tmp_path / "out")
    assert not result.errors, [d.format() for d in result.errors]
    groups = yaml.safe_load(result.files["prometheus/rules.yaml"])["groups"]
    labels = {r["alert"]: r["labels"] for g in groups for r in g["rules"] if "alert" in r}
    assert "namespace" not in labels["AppPodMemoryHigh"]
    assert labels["AppPodMemoryHigh"]["service"] == "pool"
    assert labels["PoolMemoryHigh"]["namespace"] == "pool"
