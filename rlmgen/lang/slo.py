"""Service level objectives: the multi-window, multi-burn-rate alerting of the SRE
workbook (as Sloth generates it), and the arithmetic that predicts when its alerts fire.

Windows and factors: each alert pair consumes a share of the period's error budget in
its long window; its burn-rate factor is that share times the period over the long
window (Sloth's `speed`), so a 30-day period gives the workbook's 14.4, 6, 3 and 1 and
a 28-day one 13.44, 5.6, 2.8 and 0.933. The windows stay the same whatever the period.

Prediction: `rate()` as Prometheus 2.x computes it (closed range, extrapolation toward
the range's edges limited by the counter's zero point), so the error ratio of a window
at an evaluation time is exactly what promtool will compute from the same samples.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from collections.abc import Sequence

from rlmgen.compiled_dataclasses import dataclass

DAY = 86400.0


@dataclass(frozen=True)
class BurnWindow:
    """One multi-window condition: both windows' error ratios over `factor` x budget."""

    alert: str  # "page" or "ticket"
    budget_share: float  # of the period's error budget, consumed in the long window
    short: float  # seconds
    long: float  # seconds

    def factor(self, period: float) -> float:
        return self.budget_share * period / self.long


# The workbook's table, as Sloth ships it (google-30d.yaml / google-28d.yaml).
WINDOWS = (
    BurnWindow("page", 0.02, 5 * 60, 3600),
    BurnWindow("page", 0.05, 30 * 60, 6 * 3600),
    BurnWindow("ticket", 0.10, 2 * 3600, DAY),
    BurnWindow("ticket", 0.10, 6 * 3600, 3 * DAY),
)
LONGEST_WINDOW = max(w.long for w in WINDOWS)


def error_budget(objective: float) -> float:
    """The share of events allowed to fail: 1 - objective (0.999 -> 0.001)."""
    return 1.0 - objective


Sample = tuple[float, float]  # (seconds, counter value)


def error_ratio(
    bad: Sequence[Sample], total: Sequence[Sample], at: float, window: float
) -> float | None:
    """`sum(rate(bad[w])) / sum(rate(total[w]))` at `at` (None: no rate, or no traffic)."""
    errors = Counter(bad).rate(at - window, at)
    requests = Counter(total).rate(at - window, at)
    if errors is None or requests is None or requests == 0:
        return None
    return errors / requests


class Counters:
    """Counters sampled at the same times (the inputs of one scenario), for rates at many
    times: each range's samples are found once, by bisection, for all of them. Each rate
    is `rate(counter[end - start])` at `end` as Prometheus 2.x computes it from the samples
    in [start, end], in the same order of float operations (bit for bit promtool's)."""

    def __init__(self, times: Sequence[float], values: Sequence[Sequence[float]]):
        self.times = list(times)
        self.values = [list(series) for series in values]

    def rates(self, start: float, end: float) -> list[float] | None:
        """Each counter's rate over [start, end], in order; None when fewer than two
        samples fall in the range. Inline: SLO scenarios ask for a hundred thousand."""
        times = self.times
        first = bisect.bisect_left(times, start)
        last = bisect.bisect_right(times, end) - 1
        if last - first < 1:
            return None
        first_t, last_t = times[first], times[last]
        sampled = last_t - first_t
        average = sampled / (last - first)
        threshold = average * 1.1
        to_end = end - last_t
        toward_end = to_end if to_end < threshold else average / 2
        width = end - start
        rates = []
        for values in self.values:
            # Prometheus' extrapolation of the increase toward the range's edges (limited
            # by the counter's zero point), per second of the range
            first_v = values[first]
            result = values[last] - first_v
            to_start = first_t - start
            if result > 0 and first_v >= 0:
                to_zero = sampled * (first_v / result)
                if to_zero < to_start:
                    to_start = to_zero
            interval = sampled
            interval += to_start if to_start < threshold else average / 2
            interval += toward_end
            rates.append(result * (interval / sampled / width))
        return rates


class Counter:
    """One counter's samples (never reset): Counters of one."""

    def __init__(self, samples: Sequence[Sample]):
        self._counters = Counters([t for t, _ in samples], [[v for _, v in samples]])

    def rate(self, start: float, end: float) -> float | None:
        rates = self._counters.rates(start, end)
        return None if rates is None else rates[0]


# --- series that satisfy an SLI's selectors, for tests --------------------------------

Matcher = tuple[str, str, str]  # (label, operator, value)
Input = tuple[str, str, tuple[Matcher, ...]]  # (role, metric name, matchers)
_GENERIC_VALUES = ("200", "500", "503", "ok", "error", "true", "false", "1", "x", "")
_LITERAL = re.compile(r"[\w:/ @-]*")
_MAX_COMBINATIONS = 50_000


def _matches(labels: dict[str, str], matchers: Sequence[Matcher]) -> bool:
    for label, operator, value in matchers:
        found = labels.get(label, "")
        if (operator == "=" and found != value) or (operator == "!=" and found == value):
            return False
        if operator in ("=~", "!~"):
            hit = re.fullmatch(value, found) is not None
            if hit != (operator == "=~"):
                return False
    return True


def _candidates(matchers: Sequence[Matcher]) -> dict[str, list[str]]:
    """Plausible values of each label the matchers name: their literal values and the
    literal alternatives of their regexes first, then common ones, then absent."""
    found: dict[str, list[str]] = {}
    for label, operator, value in matchers:
        values = found.setdefault(label, [])
        if operator in ("=", "!="):
            parts = [value]
        else:
            parts = [p for p in value.split("|") if _LITERAL.fullmatch(p)]
        values += [p for p in parts if p not in values]
    for values in found.values():
        values += [v for v in _GENERIC_VALUES if v not in values]
    return found


def _labels_for(
    matchers: Sequence[Matcher], must: Sequence[Sequence[Matcher]], must_not: Sequence[Matcher] = ()
) -> dict[str, str] | None:
    """Label values that satisfy every set in `must` and not `must_not` (None if none of
    the candidates does)."""
    candidates = _candidates(matchers)
    names = sorted(candidates)
    count = 1
    for name in names:
        count *= len(candidates[name])
    if count > _MAX_COMBINATIONS:
        return None
    for values in itertools.product(*(candidates[n] for n in names)):
        labels = {n: v for n, v in zip(names, values, strict=True) if v}
        if all(_matches(labels, m) for m in must) and not (must_not and _matches(labels, must_not)):
            return labels
    return None


def series_text(name: str, labels: dict[str, str]) -> str:
    inner = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}" if inner else name


def concrete_inputs(inputs: Sequence[Input]) -> tuple[tuple[str, str], ...] | None:
    """(series, role) pairs a test can feed so that an SLI reads exactly the events of
    each role: `bad` or `good`, `total` (a counter of its own) or `rest` (the other events
    of the same counter); None when rlmgen finds no such series."""
    parsed = {role: (name, matchers) for role, name, matchers in inputs}
    counted = "bad" if "bad" in parsed else "good"
    if counted not in parsed or "total" not in parsed:
        return None
    name, matchers = parsed[counted]
    total_name, total_matchers = parsed["total"]
    if total_name != name:  # separate counters: the total counts every event
        events = _labels_for(matchers, [matchers])
        total = _labels_for(total_matchers, [total_matchers])
        if events is None or total is None:
            return None
        return ((series_text(name, events), counted), (series_text(total_name, total), "total"))
    every = [*matchers, *total_matchers]
    events = _labels_for(every, [matchers, total_matchers])
    rest = _labels_for(every, [total_matchers], must_not=matchers)
    if events is None or rest is None or events == rest:
        return None
    return ((series_text(name, events), counted), (series_text(name, rest), "rest"))
