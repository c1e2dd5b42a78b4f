"""Input series and checkpoints that prove a level's alert: the value sits exactly on the
threshold (must not fire), then goes past it (pending until `for` has elapsed, then
firing). What fires when is decided by simulating Prometheus' alert state at every
evaluation for every level of the metric, so sibling levels are expected too.

Pure functions of the rules. The compile walk has checked what makes every scenario
possible (levels strictly ordered, relative levels that can hold for `for` after a step,
tests of a size promtool runs: rlmgen.model.compile.levels), so every level fires in its
own scenario."""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Iterable, Mapping

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.derive.rules import AlertRule
from rlmgen.lang import levels as level_lang
from rlmgen.lang.levels import Level, LevelKind
from rlmgen.lang.promtool import level_test_span
from rlmgen.model.conventions import severity_rank

LIMIT_VALUE = 128.0  # a power of two: ratios of the limit stay exact in float64
BASE_VALUE = 100.0  # the steady value relative levels compare against
PAST_BY = 0.001  # how far past its threshold a level's value goes, relative


class ScenarioError(RuntimeError):
    """A level the compile walk accepted does not fire in its scenario: a bug in rlmgen."""


@dataclass(frozen=True)
class Checkpoint:
    at: float
    firing: tuple[AlertRule, ...]
    value: float  # what the alert expression measures at `at` ($value)


@dataclass(frozen=True)
class Scenario:
    alert: AlertRule
    interval: float  # seconds between input samples
    series: tuple[tuple[str, str], ...]  # (selector, promtool values)
    checkpoints: tuple[Checkpoint, ...]
    labels: Mapping[str, str]  # of the alert's series: what it fires with, besides its own


def _level(rule: AlertRule) -> Level:
    """A level alert's level (with its threshold)."""
    if rule.level is None or rule.level.value is None:
        raise ScenarioError(f"{rule.name} is not a level alert")
    return rule.level


def _edge(level: Level, edge: str | None) -> tuple[LevelKind, float]:
    """(kind, threshold) of a level; an 'outside' band is tested one edge at a time."""
    assert level.value is not None  # checked by _level
    if level.kind == "outside" and level.high is not None:
        return ("above", level.high) if edge == "high" else ("below", level.value)
    return level.kind, level.value


def edges(rule: AlertRule) -> tuple[str | None, ...]:
    """The scenarios a level needs: one, or one per edge of an 'outside' band."""
    return ("low", "high") if rule.level and rule.level.kind == "outside" else (None,)


def sample_labels(names: Iterable[str], known: Mapping[str, str]) -> dict[str, str]:
    """Values for a test series' labels: the known ones, else the label's own name."""
    return {name: known.get(name, name) for name in sorted(names)}


def selector(name: str, labels: Mapping[str, str]) -> str:
    """A promtool input series: `name{label="value",...}`."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _values(first: float, first_count: int, then: float, then_count: int) -> str:
    return f"{_exact(first)}+0x{first_count - 1} {_exact(then)}+0x{then_count - 1}"


def _exact(value: float) -> str:
    """The shortest text that parses back to exactly `value`."""
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def _past(kind: str, threshold: float, nearest: float | None) -> float:
    """A value just past an absolute threshold and short of the next level: the threshold
    is pinned between it and the threshold itself, so moving it by more than 0.1% either
    way fails a test. Rounded to 12 digits when that keeps it strictly between."""
    step = abs(threshold) * PAST_BY or PAST_BY
    if nearest is not None:
        step = min(step, abs(nearest - threshold) / 2)
    exact = threshold + step if kind == "above" else threshold - step
    rounded = float(f"{exact:.12g}")
    if kind == "above":
        between = threshold < rounded < (math.inf if nearest is None else nearest)
    else:
        between = (-math.inf if nearest is None else nearest) < rounded < threshold
    return rounded if between else exact


def _change(kind: LevelKind, threshold: float, nearest: float | None, needed: float) -> float:
    """The relative step for a relative level: half way to the next level (or half as much
    again), and more when that would not hold for `needed` of the window."""
    change = (threshold + nearest) / 2 if nearest is not None else threshold * 1.5
    longest = level_lang.longest_hold_fraction(kind, threshold)
    if level_lang.hold_fraction(kind, threshold, change) <= needed < longest:
        change = level_lang.change_for_hold(kind, threshold, (needed + longest) / 2)
    return min(change, 1.0) if kind == "decrease" else change


def scenario(
    rule: AlertRule,
    siblings: tuple[AlertRule, ...],
    evaluation: float,
    edge: str | None = None,
    rule_labels: Mapping[str, str] | None = None,
) -> Scenario:
    """The test of one level (of one `edge` of a band); `siblings` are all levels of the
    same metric (same alert name). The input series carry the labels production's do:
    those a recording rule adds (`rule_labels`, with their values) and those the spec
    declares, each with its own name as its value, alike on both sides of a division."""
    rule_labels = rule_labels or {}
    metric = rule.metric
    if metric is None or metric.levels is None:
        raise ScenarioError(f"{rule.name} is not a level alert")
    timeline = _timeline(
        tuple((_level(s), severity_rank(s.severity), s.for_seconds) for s in siblings),
        siblings.index(rule),
        edge,
        evaluation,
        metric.levels.baseline or 0.0,
    )
    if timeline is None:
        raise ScenarioError(f"{rule.name} ({rule.severity}) never fires in its own scenario")
    safe, past, interval, before, after, checks = timeline
    of_limit = bool(rule.level and rule.level.of_limit and metric.limit_input)
    scale = LIMIT_VALUE if of_limit else 1.0
    series_labels = sample_labels(metric.series_labels.names, rule_labels)
    series = [
        (
            selector(metric.series, series_labels),
            _values(safe * scale, before, past * scale, after),
        )
    ]
    if of_limit and metric.limit_input is not None:
        limit = metric.limit_input
        limit_labels = sample_labels(limit.labels.names | set(limit.fixed), limit.fixed)
        series.append(
            (selector(limit.name, limit_labels), _values(LIMIT_VALUE, before, LIMIT_VALUE, after))
        )
    checkpoints = tuple(
        Checkpoint(t, tuple(siblings[index] for index in firing), value)
        for t, firing, value in checks
    )
    return Scenario(rule, interval, tuple(series), checkpoints, series_labels)


# (safe value, value past the level, sample interval, samples before and from the step,
# checkpoints as (time, indices of the levels firing, value)); None: it never fires
Timeline = tuple[float, float, float, int, int, tuple[tuple[float, tuple[int, ...], float], ...]]


@functools.lru_cache(maxsize=4096)
def _timeline(
    levels: tuple[tuple[Level, int, float], ...],
    index: int,
    edge: str | None,
    evaluation: float,
    window: float,
) -> Timeline | None:
    """The simulation behind a scenario, from what it depends on: every level of the
    metric (with its severity rank and `for`), which of them is tested, the edge, the
    evaluation interval and a relative level's baseline window. Computed once for every
    metric (and environment) of a build with the same levels: platforms repeat them."""
    own, rank, hold = levels[index]
    kind, threshold = _edge(own, edge)
    more_severe = [level for level, other, _ in levels if other > rank]
    nearest = _edge(more_severe[0], edge)[1] if more_severe else None
    relative = kind in ("increase", "decrease")
    window = window if relative else 0.0
    span = level_test_span(window, max(h for _, _, h in levels), evaluation)
    if relative:
        safe = BASE_VALUE
        change = _change(kind, threshold, nearest, span.needed_hold / window)
        past = BASE_VALUE * (1 + change if kind == "increase" else 1 - change)
    elif own.inclusive:
        # `>= t` fires on t itself: the value sits just short of it, then on it
        safe, past = _past("below" if kind == "above" else "above", threshold, None), threshold
    else:
        safe = threshold
        past = _past(kind, threshold, nearest)
    interval, start, horizon = span.interval, span.start, span.horizon
    before = int(start // interval)
    after = math.ceil((horizon - start) / interval) + 1
    samples = [safe if j * interval < start else past for j in range(before + after)]
    times = _evaluation_times(evaluation, horizon)
    measured = [samples[int(t // interval)] for t in times]
    averages = _averages(samples, interval, window, times) if relative else []
    firing = [
        _firing(times, _holds(level, measured, averages), level_hold)
        for level, _, level_hold in levels
    ]
    if True not in firing[index]:
        return None
    fire = times[firing[index].index(True)]
    checks = [_last_before(start, evaluation)]  # the value is on the threshold
    if fire - evaluation >= start and hold > 0:
        checks.append(_on_grid(fire - evaluation, evaluation))  # before `for` has elapsed
    checks.append(fire)
    checkpoints = tuple(
        (
            t,
            tuple(i for i, fires in enumerate(firing) if fires[times.index(t)]),
            samples[int(t // interval)],
        )
        for t in checks
    )
    return safe, past, interval, before, after, checkpoints


def _on_grid(t: float, evaluation: float) -> float:
    return round(t / evaluation) * evaluation


def _last_before(start: float, evaluation: float) -> float:
    return (math.ceil(start / evaluation) - 1) * evaluation


def _evaluation_times(evaluation: float, horizon: float) -> list[float]:
    """Every evaluation up to `horizon`, on the grid of multiples of `evaluation` that
    promtool evaluates at (each computed, not accumulated, so times stay exact). Less
    severe levels may hold from the first: they are simulated from there."""
    return [index * evaluation for index in range(math.floor(horizon / evaluation) + 1)]


def _averages(
    samples: list[float], interval: float, window: float, times: list[float]
) -> list[float]:
    """avg_over_time over [t - window, t] at each time, from prefix sums: O(1) each (a
    week's baseline is twenty thousand evaluations: comprehensions, not a loop)."""
    prefix = list(itertools.accumulate(samples, initial=0.0))
    lasts = [int(t // interval) + 1 for t in times]
    firsts = [math.ceil((t - window) / interval) for t in times]
    return [
        (prefix[last] - prefix[first]) / (last - first)
        for first, last in zip([max(0, f) for f in firsts], lasts, strict=True)
    ]


def _holds(level: Level, measured: list[float], averages: list[float]) -> list[bool]:
    """Whether the level's condition holds at each evaluation."""
    kind, value, high = level.kind, level.value, level.high
    assert value is not None  # checked by _level
    if kind == "outside" and high is not None:
        return [now < value or now > high for now in measured]
    if kind == "above" and level.inclusive:
        return [now >= value for now in measured]
    if kind == "below" and level.inclusive:
        return [now <= value for now in measured]
    if kind == "above":
        return [now > value for now in measured]
    if kind == "below":
        return [now < value for now in measured]
    factor = level_lang.relative_factor(kind, value)
    if kind == "increase":
        return [now > factor * mean for now, mean in zip(measured, averages, strict=True)]
    return [now < factor * mean for now, mean in zip(measured, averages, strict=True)]


def _firing(times: list[float], held: list[bool], hold: float) -> list[bool]:
    """Whether a level fires at each evaluation, as Prometheus' rule manager decides: it
    is active from the first evaluation its condition holds and fires once it has held
    for `hold`; it resets when the condition fails. Found run by run of holding
    evaluations (a week's baseline is twenty thousand evaluations and a few runs)."""
    firing = [False] * len(held)
    end = 0
    while True:
        try:
            start = held.index(True, end)
        except ValueError:
            return firing
        try:
            end = held.index(False, start)
        except ValueError:
            end = len(held)
        since = times[start]
        # `t - since >= hold` only becomes true as t grows: its first evaluation, bisected
        fires = bisect.bisect_left(times, True, start, end, key=lambda t: t - since >= hold)
        firing[fires:end] = [True] * (end - fires)
