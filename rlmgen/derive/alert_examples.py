"""Which alerts an example of a hand-written alert expects at its `at`: promtool's
alert_rule_test checks every rule of an alert's name together, so the rules that share
the name (one per severity, the way inhibition tells them apart) fire in the example too
when the spec says enough to know it.

A sibling's alert is expected when its expression compares the same PromQL with a number
as the example's alert does, the example's alert fires, its condition implies the
sibling's (`> 0.05` implies `> 0.01`), and the sibling waits no longer (`for`): then the
sibling's condition held at least as long. One whose condition the example's `value`
contradicts at `at` is not expected. Anything else cannot be told from the spec: the
sibling is not expected, as before, and promtool judges the example."""

from __future__ import annotations

from collections.abc import Sequence

from rlmgen.derive.common import AlertRule
from rlmgen.model import types as m

_ABOVE, _BELOW = (">", ">="), ("<", "<=")


def firing(
    rule: AlertRule, siblings: Sequence[AlertRule], example: m.AlertExample
) -> list[AlertRule]:
    """The rules whose alerts fire at the example's `at`: its own rule when the example
    fires, and each sibling (another hand-written rule of the same name) known to fire."""
    found = [rule] if example.fires else []
    return found + [
        sibling for sibling in siblings if sibling is not rule and _fires(rule, sibling, example)
    ]


def _fires(rule: AlertRule, sibling: AlertRule, example: m.AlertExample) -> bool:
    mine, theirs = rule.alert, sibling.alert
    if mine is None or theirs is None or not example.fires:
        return False
    if mine.compared is None or mine.compared != theirs.compared:
        return False
    if mine.comparison is None or theirs.comparison is None:
        return False
    if example.value is not None and not _holds(example.value, *theirs.comparison):
        return False
    return _implies(mine.comparison, theirs.comparison) and (theirs.for_seconds <= mine.for_seconds)


def _holds(value: float, operator: str, threshold: float) -> bool:
    return {
        ">": value > threshold,
        ">=": value >= threshold,
        "<": value < threshold,
        "<=": value <= threshold,
    }[operator]


def _implies(condition: tuple[str, float], other: tuple[str, float]) -> bool:
    """Whether every value that meets `condition` meets `other` (both compare with a
    number: `> 0.05` implies `> 0.01` and `>= 0.05`, not `> 0.1`)."""
    (operator, threshold), (other_operator, other_threshold) = condition, other
    if operator in _ABOVE and other_operator in _ABOVE:
        strict_enough = operator == ">" or other_operator == ">="
        return threshold > other_threshold or (threshold == other_threshold and strict_enough)
    if operator in _BELOW and other_operator in _BELOW:
        strict_enough = operator == "<" or other_operator == "<="
        return threshold < other_threshold or (threshold == other_threshold and strict_enough)
    return False
