"""Threshold colours from a metric's levels: ascending steps whose colours run the
right way for the metric's direction (lower-is-worse availability is red at the
bottom), with the target band shown when there is one."""

from __future__ import annotations

from rlmgen.lang.levels import Level
from rlmgen.model import types as m

SEVERITY_COLOURS = {"info": "blue", "warning": "yellow", "critical": "red"}
HEALTHY = "green"
OFF_TARGET = "super-light-yellow"  # outside the target band, but no level reached
UNDER_TARGET = "blue"  # on the safe side of the target band (spare capacity)

Step = tuple[float | None, str]  # (lower bound, colour); None is Grafana's -Infinity


def threshold_steps(metric: m.Metric | None) -> list[Step]:
    if metric is None or metric.levels is None:
        return [(None, HEALTHY)]
    levels = [
        (severity, level)
        for severity, level in metric.levels.alerting()
        if level.kind in ("above", "below", "outside") and level.value is not None
    ]
    if not levels:
        return [(None, HEALTHY)]
    kind = levels[0][1].kind
    target = metric.levels.target
    band = target if target is not None and target.kind == "band" else None
    if kind == "above":
        return _above(levels, band)
    if kind == "below":
        return _below(levels, band)
    return _outside(levels)


def _value(level: Level) -> float:
    assert level.value is not None
    return level.value


def _above(levels: list[tuple[str, Level]], band: Level | None) -> list[Step]:
    ordered = sorted(levels, key=lambda pair: _value(pair[1]))
    lowest = _value(ordered[0][1])
    steps: list[Step] = [(None, HEALTHY)]
    if band is not None and band.high is not None and band.high < lowest:
        steps = [(None, UNDER_TARGET), (band.value, HEALTHY), (band.high, OFF_TARGET)]
    steps += [(_value(level), SEVERITY_COLOURS[severity]) for severity, level in ordered]
    return steps


def _below(levels: list[tuple[str, Level]], band: Level | None) -> list[Step]:
    ordered = sorted(levels, key=lambda pair: _value(pair[1]))  # most severe first
    colours = [SEVERITY_COLOURS[severity] for severity, _ in ordered]
    steps: list[Step] = [(None, colours[0])]
    for index, (_, level) in enumerate(ordered):
        following = colours[index + 1] if index + 1 < len(colours) else HEALTHY
        steps.append((_value(level), following))
    highest = _value(ordered[-1][1])
    if (
        band is not None
        and band.value is not None
        and band.high is not None
        and band.value > highest
    ):
        steps[-1] = (highest, OFF_TARGET)
        steps += [(band.value, HEALTHY), (band.high, UNDER_TARGET)]
    return steps


def _outside(levels: list[tuple[str, Level]]) -> list[Step]:
    """Bands nest, most severe widest: red, ..., green in the middle, ..., red."""
    ordered = sorted(levels, key=lambda pair: _value(pair[1]))  # widest first
    colours = [SEVERITY_COLOURS[severity] for severity, _ in ordered]
    steps: list[Step] = [(None, colours[0])]
    for index, (_, level) in enumerate(ordered):
        steps.append((_value(level), colours[index + 1] if index + 1 < len(colours) else HEALTHY))
    for index, (_, level) in reversed(list(enumerate(ordered))):
        assert level.high is not None
        steps.append((level.high, colours[index]))
    return steps
