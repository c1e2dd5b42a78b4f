"""A metric's levels: each parsed once in the metric's unit, then checked together. What
the checks guarantee is what the level alerts and their promtool scenarios rely on: every
alerting level has a direction, all go the same way, each more severe level lies strictly
further that way, and each can fire in a test that promtool can run."""

from __future__ import annotations

import itertools
import math
import re

from rlmgen.lang import levels as level_lang
from rlmgen.lang import promtool
from rlmgen.lang.levels import Level
from rlmgen.lang.units import SeriesUnit, UnitError, format_duration
from rlmgen.model import types as m
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.model.conventions import SEVERITIES

LEVEL_KEYS = ("target", *SEVERITIES)
_RELATIVE = ("increase", "decrease")


def compile_levels(
    walk: Walk, node: Node, unit: SeriesUnit | None, has_limit: bool
) -> m.Levels | None:
    """The levels under `node` (a metric's `levels`), or None when there are none."""
    if not isinstance(node.value, dict) or not node.value:
        return None
    parsed: dict[str, Level] = {}
    for key in LEVEL_KEYS:
        raw = node.value.get(key)
        if raw is None or isinstance(raw, bool) or not isinstance(raw, str | int | float):
            continue  # absent, or a type the schema pass reported
        try:
            level = level_lang.parse_level(
                raw, unit, has_limit=has_limit, allow_qualitative=key == "target"
            )
        except UnitError as exc:
            walk.error(node.at(key), exc.message, exc.hint, check=exc.check)
            continue
        if _testable(walk, node.at(key), key, level) and _in_range(
            walk, node.at(key), key, level, unit
        ):
            parsed[key] = level
    baseline = node.duration("baseline")
    alerting = {k: v for k, v in parsed.items() if k != "target"}
    for key, level in alerting.items():
        _check_has_direction(walk, node.at(key), key, level)
    directional = {k: v for k, v in alerting.items() if v.is_threshold}
    slips = _unit_slips(parsed, unit)
    _check_same_direction(walk, node, directional)
    _check_order(walk, node, directional, slips)
    if "target" in parsed and directional:
        _check_target_side(walk, node, parsed["target"], directional, slips)
    _check_baseline(walk, node, directional, baseline)
    return m.Levels(
        target=parsed.get("target"),
        info=directional.get("info"),
        warning=directional.get("warning"),
        critical=directional.get("critical"),
        baseline=baseline,
    )


# A level's test puts values a little past it (and a level of the limit times the limit's
# test value, 128): far enough from the largest float that they stay numbers.
_LARGEST_LEVEL = 1e300
_LARGEST_FRACTION = 1e6


def _testable(walk: Walk, pointer: str, key: str, level: Level) -> bool:
    largest = _LARGEST_FRACTION if level.of_limit else _LARGEST_LEVEL
    ends = [v for v in (level.value, level.high) if v is not None]
    if all(abs(v) <= largest for v in ends):
        return True
    if level.of_limit:
        walk.error(
            pointer,
            f"{key} level {level.text!r} is more than a million times the limit",
            "a level of the limit is a fraction of it, such as 95% or 0.95",
            check="levels/out-of-range",
        )
    else:
        walk.error(
            pointer,
            f"{key} level {level.text!r} is too large for a test to go past it",
            "levels go up to 1e300 in the metric's unit",
            check="levels/out-of-range",
        )
    return False


# The values a unit's samples can take: a ratio is between 0 and 1, a percentage 0 and 100.
_RANGE = {"ratio": (0.0, 1.0), "percent": (0.0, 100.0)}
_BARE_NUMBER = re.compile(r"(\d+(?:\.\d*)?|\.\d+)$")


def _in_range(walk: Walk, pointer: str, key: str, level: Level, unit: SeriesUnit | None) -> bool:
    """A level of a ratio or a percentage lies where its samples can be: else it always
    fires, or never does (`< 99.9` on a ratio: 99.9% was meant)."""
    if unit is None or unit.name not in _RANGE or level.of_limit or level.value is None:
        return True
    low, high = _RANGE[unit.name]
    value, top = level.value, level.high
    always = (level.kind == "above" and value < low) or (level.kind == "below" and value > high)
    never = (
        (level.kind == "above" and (value > high if level.inclusive else value >= high))
        or (level.kind == "below" and (value < low if level.inclusive else value <= low))
        or (level.kind == "outside" and value <= low and top is not None and top >= high)
    )
    if not (always or never):
        return True
    what = "a ratio is between 0 and 1" if unit.name == "ratio" else "a percentage is 0-100"
    hint = (
        "levels of a ratio are written like 99.9% or 0.999"
        if unit.name == "ratio"
        else "levels of a percentage are written like 80% or 80"
    )
    if unit.name == "ratio" and _BARE_NUMBER.search(level.text) and 1 < value <= 100:
        hint = f"did you mean '{level.text}%'?"
    walk.error(
        pointer,
        f"{key} level {level.text!r} {'always fires' if always else 'can never fire'}: {what}",
        hint,
        check="levels/out-of-range",
    )
    return False


def _check_has_direction(walk: Walk, pointer: str, key: str, level: Level) -> None:
    if level.kind == "band":
        walk.error(
            pointer,
            f"{key} level {level.text!r} is a band, which is a target, not an alert level",
            f'alert outside it with "outside {level.text}", or on one side with '
            f'"> {_band_high_text(level.text)}"',
            check="levels/not-alertable",
        )
    elif level.kind == "exact":
        walk.error(
            pointer,
            f"{key} level {level.text!r} has no direction",
            f'write "> {level.text}" or "< {level.text}"',
            check="levels/not-alertable",
        )
    elif level.kind in _RELATIVE and level.value == 0:
        walk.error(
            pointer,
            f"{key} level {level.text!r} is no change at all",
            'write the change to alert on, such as "> 20% increase" or "drop > 50%"',
            check="levels/not-alertable",
        )
    elif level.kind == "decrease" and level.value is not None and level.value >= 1:
        walk.error(
            pointer,
            f"{key} level {level.text!r}: a value cannot drop by 100% or more of its average",
            'a drop to zero is "drop > 99%"; to alert on a value below zero write "< 0"',
            check="levels/not-alertable",
        )


def _band_high_text(text: str) -> str:
    return re.split(r"\s*(?:-|–|\.\.|to)\s*", text)[-1]


def _check_same_direction(walk: Walk, node: Node, levels: dict[str, Level]) -> None:
    if len({level.kind for level in levels.values()}) <= 1:
        return
    first_key, first = next(iter(levels.items()))
    for key, level in list(levels.items())[1:]:
        if level.kind != first.kind:
            walk.error(
                node.at(key),
                f"{key} level {level.text!r} does not go the same way as "
                f"{first_key} level {first.text!r}",
                "all alert levels of a metric compare in one direction",
                check="levels/mixed-direction",
            )


_WITH_UNIT = re.compile(r"[0-9.]\s*[a-zµ]+$")
# The unit a bare number on a metric in seconds or milliseconds most often dropped.
_MEANT_UNIT = {"seconds": "ms", "milliseconds": "s"}


def _unit_slips(levels: dict[str, Level], unit: SeriesUnit | None) -> dict[str, str]:
    """Levels of a metric in seconds or milliseconds written as a bare number while
    another of its levels writes a unit (`< 100ms`, `> 200`, `> 500ms`): when such a
    level breaks the levels' order, the unit it most likely dropped is the hint."""
    if unit is None or unit.name not in _MEANT_UNIT:
        return {}
    if not any(_WITH_UNIT.search(level.text) for level in levels.values()):
        return {}
    return {
        key: f"'{level.text}' has no unit, so it is {level.value:g} {unit.name}: did you mean "
        f"'{level.text}{_MEANT_UNIT[unit.name]}'?"
        for key, level in levels.items()
        if level.kind in ("above", "below", "exact") and _BARE_NUMBER.search(level.text)
    }


def _check_order(
    walk: Walk, node: Node, levels: dict[str, Level], slips: dict[str, str] | None = None
) -> None:
    """A more severe level lies strictly further in the metric's direction: higher for
    `>`, lower for `<`, a larger change for relative levels, a wider band for `outside`.
    An order broken by a level without a unit (`slips`) is reported at that level, with
    the unit as hint."""
    slips = {} if slips is None else slips
    ordered = [(k, levels[k]) for k in SEVERITIES if k in levels]
    for (low_key, low), (high_key, high) in itertools.pairwise(ordered):
        if low.kind != high.kind or low.value is None or high.value is None:
            continue
        if _indistinguishable(low, high):
            walk.error(
                node.at(high_key),
                f"{high_key} level {high.text!r} is too close to {low_key} level "
                f"{low.text!r} for any value to lie between them",
                "a test needs a value past one level and short of the other: set them apart",
                check="levels/order",
            )
        elif low.kind == "outside":
            _check_bands_widen(walk, node, (low_key, low), (high_key, high))
        elif low.kind in _RELATIVE:
            if not high.value > low.value:
                word = "increase" if low.kind == "increase" else "drop"
                walk.error(
                    node.at(high_key),
                    f"{high_key} level {high.text!r} must be a larger {word} than {low_key} "
                    f"level {low.text!r}",
                    f"the more severe level is the larger {word}",
                    check="levels/order",
                )
        else:
            rising = low.kind == "above"
            if not (high.value > low.value if rising else high.value < low.value):
                slipped = next((k for k in (low_key, high_key) if k in slips), None)
                walk.error(
                    node.at(slipped or high_key),
                    f"{high_key} level {high.text!r} must be {'above' if rising else 'below'} "
                    f"{low_key} level {low.text!r}",
                    slips.pop(slipped)
                    if slipped
                    else f"the metric alerts when it goes {'up' if rising else 'down'}: the "
                    "more severe level is further that way",
                    check="levels/order",
                )


def _indistinguishable(low: Level, high: Level) -> bool:
    """Whether two levels are adjacent floating-point numbers (on either edge of a band)."""
    pairs = [(low.value, high.value), (low.high, high.high)]
    return any(
        a is not None and b is not None and a != b and math.nextafter(a, b) == b for a, b in pairs
    )


def _check_bands_widen(
    walk: Walk, node: Node, inner: tuple[str, Level], outer: tuple[str, Level]
) -> None:
    """A more severe 'outside' band is wider: it fires further from the target."""
    (inner_key, inner_level), (outer_key, outer_level) = inner, outer
    low, high = inner_level.value, inner_level.high
    outer_low, outer_high = outer_level.value, outer_level.high
    if low is None or high is None or outer_low is None or outer_high is None:
        return
    if not (outer_low < low and outer_high > high):
        walk.error(
            node.at(outer_key),
            f"{outer_key} band {outer_level.text!r} must be wider than {inner_key} band "
            f"{inner_level.text!r} on both sides",
            "the more severe level fires further from the target",
            check="levels/order",
        )


def _check_target_side(
    walk: Walk, node: Node, target: Level, levels: dict[str, Level], slips: dict[str, str]
) -> None:
    if target.value is None or target.kind == "qualitative":
        return
    key, nearest = next((k, levels[k]) for k in SEVERITIES if k in levels)
    if nearest.kind == "outside" and nearest.value is not None and nearest.high is not None:
        top = target.high if target.high is not None else target.value
        if target.value < nearest.value or top > nearest.high:
            walk.error(
                node.at("target"),
                f"target {target.text!r} lies outside the {key} band {nearest.text!r}",
                "the target is the healthy side of every alert level",
                check="levels/target-past-alert",
            )
        return
    if nearest.kind not in ("above", "below") or nearest.value is None:
        return
    worst_target = (
        target.high if target.kind == "band" and target.high is not None else target.value
    )
    if (nearest.kind == "above" and worst_target > nearest.value) or (
        nearest.kind == "below" and target.value < nearest.value
    ):
        slipped = next((k for k in (key, "target") if k in slips), None)
        walk.error(
            node.at(slipped or "target"),
            f"target {target.text!r} lies past the {key} level {nearest.text!r}",
            slips[slipped] if slipped else "the target is the healthy side of every alert level",
            check="levels/target-past-alert",
        )


def _check_baseline(
    walk: Walk, node: Node, levels: dict[str, Level], baseline: float | None
) -> None:
    relative = [k for k, v in levels.items() if v.kind in _RELATIVE]
    if relative and "baseline" not in node:
        walk.error(
            node.at(relative[0]),
            "a relative level needs a 'baseline' window to compare against",
            "add baseline: 7d (or the window that fits) to the levels",
            check="levels/baseline",
        )
    if not relative and "baseline" in node:
        walk.error(
            node.at("baseline"),
            "'baseline' is only used by relative levels such as \"> 20% increase\"",
            at_key=True,
            check="levels/baseline",
        )
    if not relative or baseline is None:
        return
    if baseline <= 0:
        walk.error(
            node.at("baseline"), "a baseline window must be longer than 0s", check="durations/zero"
        )
    elif baseline > promtool.LONGEST_WINDOW:
        walk.error(
            node.at("baseline"),
            f"a {format_duration(baseline)} baseline is longer than rlmgen can prove in a "
            f"promtool test ({format_duration(promtool.LONGEST_WINDOW)}: "
            f"{promtool.MAX_WINDOW_SAMPLES} samples at most {promtool.MAX_SAMPLE_INTERVAL:.0f}s "
            "apart)",
            f"use a baseline of at most {format_duration(promtool.LONGEST_WINDOW)}",
            check="tests/too-large",
        )


def check_level_tests(
    walk: Walk, node: Node, levels: m.Levels, alert: m.LevelAlerts, evaluation: float
) -> None:
    """Every alerting level can fire in a promtool test, and the test is a size promtool
    runs: the invariants the level scenarios (rlmgen.derive.scenarios) rely on."""
    baseline = levels.baseline or 0.0
    if baseline > promtool.LONGEST_WINDOW or any(
        level.level.kind in _RELATIVE and baseline <= 0 for level in alert.levels
    ):
        return  # reported with the baseline
    span = promtool.level_test_span(baseline, alert.longest_hold(), evaluation)
    evaluations = span.horizon / evaluation
    if evaluations > promtool.MAX_TEST_EVALUATIONS:
        walk.error(
            node.at("baseline") if baseline else node.pointer,
            f"the promtool test of these levels would evaluate the rules {evaluations:,.0f} "
            f"times ({format_duration(span.horizon)} at the {format_duration(evaluation)} "
            f"evaluation interval); rlmgen writes tests of at most "
            f"{promtool.MAX_TEST_EVALUATIONS:,}",
            "shorten the baseline or alert.for, or lengthen service.evaluationInterval",
            at_key=not baseline,
            check="tests/too-large",
        )
        return
    for level in alert.levels:
        if level.level.kind in _RELATIVE and level.level.value is not None:
            _check_relative_fires(
                walk, node, level, level.level.value, baseline, alert.hold(level), span
            )


def _check_relative_fires(
    walk: Walk,
    node: Node,
    level: m.LevelAlert,
    threshold: float,
    baseline: float,
    hold: float,
    span: promtool.LevelTestSpan,
) -> None:
    """A relative level compares with its own average, which catches up with a sustained
    change: if it does so before `for` has passed, the alert can never fire."""
    kind = level.level.kind
    longest = level_lang.longest_hold_fraction(kind, threshold) * baseline
    if span.needed_hold < longest:
        return
    slack = span.needed_hold - hold
    word = "increase" if kind == "increase" else "drop"
    # whole minutes, strictly longer than the hold the test needs
    needed = (
        math.floor(span.needed_hold / level_lang.longest_hold_fraction(kind, threshold) / 60) + 1
    )
    catch_up = f"within {format_duration(round(longest))}" if longest >= 1 else "at once"
    walk.error(
        node.at(level.severity),
        f"{level.severity} level {level.level.text!r} can never fire: after a sustained "
        f"{word}, the {format_duration(baseline)} average catches up with the value "
        f"{catch_up}, and the alert must hold for "
        f"{format_duration(hold)} (plus {format_duration(slack)} of evaluations and samples)",
        f"lengthen the baseline to at least {format_duration(needed * 60)}, or shorten alert.for",
        check="levels/relative-never-fires",
    )
