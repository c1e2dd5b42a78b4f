"""Input series and checkpoints that prove a level's alert: the value sits exactly on
the threshold (must not fire), then goes past it (pending until `for` has elapsed,
then firing). What fires when is decided by simulating Prometheus' alert state per
evaluation for every level of the metric, so sibling levels are expected too."""

from __future__ import annotations

import dataclasses
import math

from rlmgen.derive.rules import SEVERITY_ORDER, AlertRule

SAMPLE_INTERVAL = 60.0  # input samples every minute: well inside the 5m lookback
# promtool refuses queries that load more than 10,000 samples; a long baseline window
# is sampled more sparsely, but never beyond the 5m lookback of instant selectors.
MAX_WINDOW_SAMPLES = 5000
MAX_SAMPLE_INTERVAL = 240.0
WARMUP_SAMPLES = 10
LIMIT_VALUE = 128.0  # a power of two: ratios of the limit stay exact in float64
BASE_VALUE = 100.0  # the steady value relative levels compare against
PAST_BY = 0.001  # how far past its threshold a level's value goes, relative


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    at: float
    firing: tuple[AlertRule, ...]
    value: float  # what the alert expression measures at `at` ($value)


@dataclasses.dataclass(frozen=True)
class Scenario:
    alert: AlertRule
    interval: float  # seconds between input samples
    series: tuple[tuple[str, str], ...]  # (selector, promtool values)
    checkpoints: tuple[Checkpoint, ...]


def _level(rule: AlertRule, edge: str | None = None) -> tuple[str, float]:
    """(kind, threshold) of a level; an 'outside' band is tested one edge at a time."""
    assert rule.level is not None and rule.level.value is not None
    if rule.level.kind == "outside":
        assert rule.level.high is not None
        return ("above", rule.level.high) if edge == "high" else ("below", rule.level.value)
    return rule.level.kind, rule.level.value


def edges(rule: AlertRule) -> tuple[str | None, ...]:
    """The scenarios a level needs: one, or one per edge of an 'outside' band."""
    return ("low", "high") if rule.level and rule.level.kind == "outside" else (None,)


def _values(first: float, first_count: int, then: float, then_count: int) -> str:
    return f"{_exact(first)}+0x{first_count - 1} {_exact(then)}+0x{then_count - 1}"


def _exact(value: float) -> str:
    """The shortest text that parses back to exactly `value`."""
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def scenario(
    rule: AlertRule, siblings: tuple[AlertRule, ...], evaluation: float, edge: str | None = None
) -> Scenario:
    """The test of one level (of one `edge` of a band); `siblings` are all levels of the
    same metric (same alert name)."""
    metric = rule.metric
    assert metric is not None and metric.levels is not None
    kind, threshold = _level(rule, edge)
    more_severe = [
        s
        for s in siblings
        if SEVERITY_ORDER.index(s.severity) > SEVERITY_ORDER.index(rule.severity)
    ]
    nearest = _level(more_severe[0], edge)[1] if more_severe else None
    relative = kind in ("increase", "decrease")
    baseline = metric.levels.baseline or 0.0 if relative else 0.0
    if relative:
        safe = BASE_VALUE
        change = (threshold + nearest) / 2 if nearest is not None else threshold * 1.5
        past = BASE_VALUE * (1 + change if kind == "increase" else max(1 - change, 0.0))
    else:
        safe = threshold
        # Just past: the threshold is pinned between `safe` and `past`, so moving it by
        # more than 0.1% either way fails a test.
        step = abs(threshold) * PAST_BY or PAST_BY
        if nearest is not None:
            step = min(step, abs(nearest - threshold) / 2)
        past = float(f"{threshold + step if kind == 'above' else threshold - step:.12g}")
    interval = SAMPLE_INTERVAL
    if baseline / interval > MAX_WINDOW_SAMPLES:
        interval = math.ceil(baseline / MAX_WINDOW_SAMPLES / 60) * 60.0
        if interval > MAX_SAMPLE_INTERVAL:
            raise ValueError(
                f"{rule.name}: a {baseline:.0f}s baseline cannot be tested by promtool"
            )
    start = baseline + WARMUP_SAMPLES * interval  # when the value goes past
    horizon = start + max(s.for_seconds for s in siblings) + 10 * interval
    before = int(start // interval)
    after = math.ceil((horizon - start) / interval) + 1
    of_limit = bool(rule.level and rule.level.of_limit and metric.limit)
    scale = LIMIT_VALUE if of_limit else 1.0
    series = [(metric.series, _values(safe * scale, before, past * scale, after))]
    if of_limit:
        assert metric.limit is not None
        series.append((metric.limit, _values(LIMIT_VALUE, before, LIMIT_VALUE, after)))

    samples = [
        (safe if j * interval < start else past) * scale / scale for j in range(before + after)
    ]
    times = _evaluation_times(evaluation, horizon)
    measured = [samples[int(t // interval)] for t in times]
    averages: list[float] = []
    if any(s.level is not None and s.level.kind in ("increase", "decrease") for s in siblings):
        # avg_over_time over [t - baseline, t], from prefix sums: O(1) per evaluation.
        prefix = [0.0]
        for value in samples:
            prefix.append(prefix[-1] + value)
        for t in times:
            last = int(t // interval)
            first = max(0, math.ceil((t - baseline) / interval))
            averages.append((prefix[last + 1] - prefix[first]) / (last + 1 - first))
    holds = {level: _holds(level, measured, averages) for level in siblings}
    states = _simulate(times, holds)
    firing_at = [t for t, firing in states if rule in firing and t >= start]
    assert firing_at, f"{rule.name} ({rule.severity}) never fires in its own scenario"
    fire = firing_at[0]
    checks = [start - evaluation]
    if fire - evaluation >= start and rule.for_seconds > 0:
        checks.append(fire - evaluation)  # the last evaluation before `for` has elapsed
    checks.append(fire)
    by_time = dict(states)
    checkpoints = tuple(
        Checkpoint(t, tuple(s for s in siblings if s in by_time[t]), samples[int(t // interval)])
        for t in checks
    )
    assert rule not in checkpoints[0].firing and (
        len(checkpoints) == 2 or rule not in checkpoints[1].firing
    )
    return Scenario(rule, interval, tuple(series), checkpoints)


def _evaluation_times(evaluation: float, horizon: float) -> list[float]:
    times = []
    t = 0.0
    while t <= horizon:  # accumulated, as the checkpoints' times are
        times.append(t)
        t += evaluation
    return times


def _holds(level: AlertRule, measured: list[float], averages: list[float]) -> list[bool]:
    """Whether the level's condition holds at each evaluation."""
    assert level.level is not None and level.level.value is not None
    kind, value = level.level.kind, level.level.value
    if kind == "outside":
        high = level.level.high
        assert high is not None
        return [now < value or now > high for now in measured]
    if kind == "above":
        return [now > value for now in measured]
    if kind == "below":
        return [now < value for now in measured]
    if kind == "increase":
        return [now > (1 + value) * mean for now, mean in zip(measured, averages, strict=True)]
    return [now < (1 - value) * mean for now, mean in zip(measured, averages, strict=True)]


def _simulate(
    times: list[float], holds: dict[AlertRule, list[bool]]
) -> list[tuple[float, frozenset[AlertRule]]]:
    """[(t, {firing levels})] at every evaluation, as Prometheus' rule manager does:
    a level is active from the first evaluation its condition holds and fires once it
    has held for `for`; it resets when the condition fails."""
    firing_at: list[set[AlertRule]] = [set() for _ in times]
    for level, held in holds.items():
        since = None
        for index, (t, holding) in enumerate(zip(times, held, strict=True)):
            if not holding:
                since = None
                continue
            if since is None:
                since = t
            if t - since >= level.for_seconds:
                firing_at[index].add(level)
    return [(t, frozenset(firing)) for t, firing in zip(times, firing_at, strict=True)]
