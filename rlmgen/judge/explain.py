"""A failure promtool reports, said about the spec value that produced the test: the
example whose value promtool computes otherwise, the level whose generated test fails."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rlmgen.judge.promtool import Alert, Failure
from rlmgen.lang.promtool import TestGroup


def explain(group: TestGroup, failure: Failure) -> tuple[str, str]:
    """(message, hint) for one failure of a test group."""
    if failure.expr is not None:
        return _samples(group, failure)
    return _alerts(group, failure)


def _samples(group: TestGroup, failure: Failure) -> tuple[str, str]:
    expected = [value for _, value in failure.expected_samples]
    got = [value for _, value in failure.got_samples]
    what = f"{failure.expr} at {failure.time}"
    if not got:
        return (
            f"promtool computes no sample of {what}; the example expects {_values(expected)}",
            "check the example's series: the expression finds nothing in them",
        )
    if len(got) == 1 and len(expected) == 1:
        computed, wanted = got[0], expected[0]
        (got_labels, _), (wanted_labels, _) = failure.got_samples[0], failure.expected_samples[0]
        if computed == wanted and got_labels != wanted_labels:
            return (
                f"promtool computes {what} with labels {{{_shown(got_labels)}}}; the example "
                f"expects {{{_shown(wanted_labels)}}}",
                "an example's labels are those of the series the expression gives: "
                "name each, and give the input series the labels that make it",
            )
        message = f"promtool computes {_number(computed)} for {what}; the example expects " + (
            _number(wanted)
        )
        if math.isclose(computed, wanted, rel_tol=1e-9, abs_tol=1e-12):
            return message, (
                f"promtool compares values exactly and floating point arithmetic gives "
                f"{_number(computed)}: write value: {_number(computed)}"
            )
        return message, "fix the example's value, or its series"
    return (
        f"promtool computes {_values(got)} for {what}; the example expects {_values(expected)}",
        "each sample of the expression needs its labels and value in the example",
    )


def _alerts(group: TestGroup, failure: Failure) -> tuple[str, str]:
    name, when = failure.alertname, failure.time
    expected, got = failure.expected_alerts, failure.got_alerts
    hint = (
        "the generated test of this level fails: please report it with the spec"
        if group.kind in ("level", "slo")
        else "fix the example (its series, labels or value), or the alert"
    )
    if expected and not got:
        return f"{name} does not fire at {when}; the test expects it to", hint
    if got and not expected:
        return f"{name} fires at {when} ({_labels(got[0])}); the test expects it not to", hint
    if len(got) != len(expected):
        message = f"{name} fires {len(got)} times at {when}; the test expects {len(expected)}"
        others = _other_severities(expected, got)
        if others and group.kind == "alert example":
            shown = ", ".join(others)
            return message + f" (the {shown} rule of this name fires too)", (
                f"promtool checks every rule named {name} together: write the {shown} "
                "rule's condition so that it follows from this one's (the same expression "
                "compared with a number, a `for` no longer than this one's) and the test "
                "expects it, or give the example series that do not fire it"
            )
        return message, hint
    for want, have in zip(expected, got, strict=True):
        difference = _difference("label", want.labels, have.labels) or _difference(
            "annotation", want.annotations, have.annotations
        )
        if difference:
            return f"{name} at {when}: {difference}", hint
    return f"{name} at {when}: promtool reports a difference", hint


def _other_severities(expected: Sequence[Alert], got: Sequence[Alert]) -> list[str]:
    """The severities of alerts that fire which the test does not expect (sorted)."""
    wanted = {alert.labels.get("severity") for alert in expected}
    return sorted({s for alert in got if (s := alert.labels.get("severity")) and s not in wanted})


def _difference(kind: str, want: dict[str, str], have: dict[str, str]) -> str | None:
    for key in sorted(set(want) | set(have)):
        if want.get(key) != have.get(key):
            if key not in have:
                return f"the alert has no {kind} {key}; the test expects {want[key]!r}"
            if key not in want:
                return (
                    f"the alert has the {kind} {key}={have[key]!r}, which the test does not expect"
                )
            return f"its {kind} {key} is {have[key]!r}; the test expects {want[key]!r}"
    return None


def _shown(labels: dict[str, str], *, without: str = "__name__") -> str:
    return ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != without)


def _labels(alert: Alert) -> str:
    return _shown(alert.labels, without="alertname")


def _values(values: list[float]) -> str:
    return ", ".join(_number(v) for v in values) or "nothing"


def _number(value: float) -> str:
    """The shortest text that reads back as the same float, as YAML takes it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)
