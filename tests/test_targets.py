"""Target versions and feature flags: what the spec says Prometheus runs with decides
which PromQL is accepted, and what is refused is said where it is written."""

from __future__ import annotations

import pytest

from rlmgen.pipeline import compile_texts

SPEC = """apiVersion: rlmgen/v1
targets: {targets}
service: {{name: s, title: S, namespace: s, team: t, runbookUrl: https://r.example.com/s}}
metrics:
  - name: req
    type: counter
  - name: lat_seconds
    type: histogram
alertGroups:
  - name: g
    severity: warning
    alerts:
      - {{name: A, expr: "{expr}", summary: s}}
"""


def _diagnostics(targets: str, expr: str) -> list[tuple[str, str]]:
    [result] = compile_texts({"s.yaml": SPEC.format(targets=targets, expr=expr)})
    return [(d.severity, d.message) for d in result.diagnostics]


EXPERIMENTAL = "mad_over_time(req[1h]) > 1"
REFUSED = (
    "error",
    "'mad_over_time' is experimental: Prometheus refuses it unless started with "
    "--enable-feature=promql-experimental-functions",
)
PROMTOOL_REFUSES = (
    "warning",
    "'mad_over_time' is experimental: promtool check rules rejects it before Prometheus "
    "3.4, whatever the flags",
)


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        ('{prometheus: "2.53"}', [REFUSED]),
        ('{prometheus: "2.53", features: [promql-experimental-functions]}', [PROMTOOL_REFUSES]),
        ('{prometheus: "3.4", features: [promql-experimental-functions]}', []),
        ('{prometheus: "3.4"}', [REFUSED]),
    ],
)
def test_experimental_functions_need_the_feature_flag(
    targets: str, expected: list[tuple[str, str]]
) -> None:
    assert _diagnostics(targets, EXPERIMENTAL) == expected


NATIVE = "histogram_quantile(0.99, sum by (job) (rate(lat_seconds[5m]))) > 1"


def test_a_histogram_is_selected_by_its_name_only_as_a_native_histogram() -> None:
    [(severity, message)] = _diagnostics("{}", NATIVE)
    assert severity == "error"
    assert message.startswith("'lat_seconds' is a histogram: its series are lat_seconds_bucket")
    assert _diagnostics("{features: [native-histograms]}", NATIVE) == []


def test_an_unknown_feature_is_named_with_the_ones_rlmgen_knows() -> None:
    [result] = compile_texts(
        {"s.yaml": SPEC.format(targets="{features: [native-histogram]}", expr="rate(req[5m]) > 1")}
    )
    [diagnostic] = result.diagnostics
    assert diagnostic.pointer == "/targets/features/0"
    assert diagnostic.hint == "did you mean 'native-histograms'?"
