"""An example of a hand-written alert expects the alerts of the rules that share its name
(one per severity) when the spec says enough to know they fire: promtool checks every
rule of a name together. tests/cases/valid/ingest-workers.yaml has such a pair, judged by
promtool in test_valid_cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlmgen.derive import alert_examples
from rlmgen.derive.rules import derive_rules
from tests.conftest import REPO, assert_promtool_proves, model_of

MINIMAL = (REPO / "tests" / "cases" / "valid" / "minimal.yaml").read_text(encoding="utf-8")
_RATIO = "rate(shop_errors[5m]) / rate(shop_requests[5m])"
BOTH, CRITICAL, WARNING = ["critical", "warning"], ["critical"], ["warning"]


def _spec(
    critical: str,
    critical_for: str,
    warning: str,
    warning_for: str,
    value: str,
    warning_errors: str = "0+30x20",
) -> str:
    """Two alerts named ShopErrors, each with one firing example: the ratio is 0.5 in the
    critical one's (and in the warning one's unless `warning_errors` says otherwise),
    `value` adds lines to both."""
    alerts = "".join(
        f"""      - name: ShopErrors
        expr: {expr}
        for: {hold}
        severity: {severity}
        summary: Errors
        examples:
          - series:
              - {{series: shop_errors, values: {errors}}}
              - {{series: shop_requests, values: 0+60x20}}
            at: 20m
{value}"""
        for severity, expr, hold, errors in (
            ("critical", critical, critical_for, "0+30x20"),
            ("warning", warning, warning_for, warning_errors),
        )
    )
    start = MINIMAL.index("alertGroups:")
    end = MINIMAL.index("routing:")
    groups = f"alertGroups:\n  - name: errors\n    alerts:\n{alerts}"
    return MINIMAL[:start] + groups + MINIMAL[end:]


def _firing(text: str) -> list[list[str]]:
    """For each alert's example: the severities the generated test expects to fire."""
    rules = derive_rules(model_of(text))
    named = [r for r in rules.alerts if r.alert is not None]
    return [
        [fired.severity for fired in alert_examples.firing(rule, named, example)]
        for rule in named
        for example in rule.alert.examples  # type: ignore[union-attr]
    ]


@pytest.mark.parametrize(
    ("critical", "critical_for", "warning", "warning_for", "value", "expected"),
    [
        # the critical condition implies the warning one, which waits no longer
        (f"{_RATIO} > 0.4", "5m", f"{_RATIO} > 0.1", "5m", "", [BOTH, WARNING]),
        (f"{_RATIO} >= 0.4", "5m", f"{_RATIO} > 0.1", "2m", "", [BOTH, WARNING]),
        # equal thresholds: > implies >=, >= does not imply >
        (f"{_RATIO} > 0.4", "5m", f"{_RATIO} >= 0.4", "5m", "", [BOTH, WARNING]),
        (f"{_RATIO} >= 0.4", "5m", f"{_RATIO} > 0.4", "5m", "", [CRITICAL, BOTH[::-1]]),
        # the warning rule waits longer: whether it fires depends on the series' history
        (f"{_RATIO} > 0.4", "5m", f"{_RATIO} > 0.1", "10m", "", [CRITICAL, WARNING]),
        # the example's value says the critical condition does not hold at `at`
        (f"{_RATIO} > 0.4", "5m", f"{_RATIO} > 0.1", "5m", "            value: 0.2\n",
         [BOTH, WARNING]),
        # below a level, mirrored
        (f"{_RATIO} < 0.1", "5m", f"{_RATIO} < 0.4", "5m", "", [BOTH, WARNING]),
        # opposite directions, or different compared expressions: nothing is known
        (f"{_RATIO} > 0.4", "5m", f"{_RATIO} < 0.9", "5m", "", [CRITICAL, WARNING]),
        (f"{_RATIO} > 0.4", "5m", "rate(shop_errors[5m]) > 0.1", "5m", "", [CRITICAL, WARNING]),
        (f"{_RATIO} > bool 0.4", "5m", f"{_RATIO} > 0.1", "5m", "", [CRITICAL, WARNING]),
    ],
)  # fmt: skip
def test_an_example_expects_the_siblings_known_to_fire(
    critical: str, critical_for: str, warning: str, warning_for: str, value: str, expected
) -> None:
    assert _firing(_spec(critical, critical_for, warning, warning_for, value)) == expected


def test_a_value_that_contradicts_the_siblings_condition_leaves_it_out() -> None:
    text = _spec(f"{_RATIO} > 0.1", "5m", f"{_RATIO} > 0.4", "5m", "            value: 0.2\n")
    # the critical rule (> 0.1) is the looser one here: the warning example at 0.2
    # fires it (implied, and its value meets > 0.1); the critical example at 0.2
    # contradicts the warning's > 0.4
    assert _firing(text) == [CRITICAL, BOTH[::-1]]


def test_an_example_that_does_not_fire_expects_no_sibling() -> None:
    text = _spec(f"{_RATIO} > 0.4", "5m", f"{_RATIO} > 0.1", "5m", "            fires: false\n")
    assert _firing(text) == [[], []]


@pytest.mark.parametrize("hold", ["2m", "5m"])
def test_promtool_passes_the_tests_that_expect_siblings(tmp_path: Path, hold: str) -> None:
    """The generated tests pass on the generated rules (the warning example's ratio, 0.2,
    does not fire the critical rule), and fail once the warning rule no longer fires on
    the critical example's series: its alert is expected there."""
    critical, warning = f"{_RATIO} > 0.4", f"{_RATIO} > 0.1"
    text = _spec(critical, "5m", warning, hold, "            value: 0.2\n", "0+12x20")
    text = text.replace("value: 0.2", "value: 0.5", 1)
    assert _firing(text)[0] == ["critical", "warning"]
    assert_promtool_proves(tmp_path, text, warning, f"{_RATIO} > 0.9")
