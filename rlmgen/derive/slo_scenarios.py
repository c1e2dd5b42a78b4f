"""Scenarios that prove an SLO's alerts, computed from its objective: steady error ratios
just over and just under the burn-rate thresholds (firing at the evaluation the
multi-window condition becomes true, predicted by rlmgen.lang.slo exactly as Prometheus
computes rate()), a short spike that trips only a short window, and recovery.

The input series are concrete series the SLI's selectors match (a regex matcher gets a
value it matches; the good events a value it does not). Counters grow by whole numbers, a
million events per sample interval, so that promtool's series and the prediction hold the
same values exactly."""

from __future__ import annotations

import functools
import itertools
import math

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.derive.common import number
from rlmgen.derive.slos import budget_text, factor
from rlmgen.lang import slo
from rlmgen.model import types as m

EVENTS = 1_000_000  # events per sample interval, at least
# so that the smallest error ratio of a scenario is still a thousand failed events
_RESOLUTION = 1000


@dataclass(frozen=True)
class Checkpoint:
    at: float
    # the alert kinds (page, ticket) firing at `at`, with the value of their expression
    # (the short window's error ratio of the first pair over its limit)
    firing: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class SloScenario:
    slo: m.SLO
    title: str
    interval: float  # of the input samples
    inputs: tuple[tuple[str, str], ...]  # (series, promtool values)
    checkpoints: tuple[Checkpoint, ...]


def concrete_inputs(sli: m.SLI) -> tuple[tuple[str, str], ...] | None:
    return slo.concrete_inputs(sli.inputs)


Schedule = tuple[tuple[float, float], ...]  # (seconds, error ratio) segments, in order


def events_per_interval(schedule: Schedule) -> int:
    """Enough events per sample interval that every ratio of the schedule is whole
    numbers of failures within 0.1% (a 99.99999% objective needs billions)."""
    smallest = min((ratio for _, ratio in schedule if ratio > 0), default=1.0)
    needed = math.ceil(_RESOLUTION / smallest)
    return max(EVENTS, 10 ** math.ceil(math.log10(needed)))


def _increments(schedule: Schedule, interval: float, events: int) -> list[int]:
    """The failed events of each sample interval (a whole number of `events`)."""
    failed = []
    for seconds, ratio in schedule:
        failed += [round(ratio * events)] * round(seconds / interval)
    return failed


def _notation(steps: list[int]) -> str:
    """promtool's notation of a counter from 0 growing by `steps` (runs as a+bxn)."""
    parts, value, index = ["0"], 0, 0
    while index < len(steps):
        step, run = steps[index], 1
        while index + run < len(steps) and steps[index + run] == step:
            run += 1
        parts.append(f"{value + step}+{step}x{run - 1}")
        value += step * run
        index += run
    return " ".join(parts)


def _cumulative(steps: list[int]) -> list[float]:
    """A counter's values from 0, growing by `steps`."""
    return [0.0, *map(float, itertools.accumulate(steps))]


_ROLES = ("total", "rest", "bad", "good")


@dataclass(frozen=True)
class _Fed:
    """The SLI's roles fed as counters (sampled at the same times, in _ROLES order), and
    how the SLI's ratio reads them."""

    inputs: tuple[tuple[str, str], ...]
    roles: tuple[str, ...]
    counters: slo.Counters
    # the time of the first sample that counts a failure: before it every window's error
    # ratio is exactly 0 (or there is no rate yet), whatever the SLI's roles
    first_failure: float

    def ratio(self, at: float, window: float) -> float | None:
        # called for every evaluation of every window of a scenario (tens of thousands of
        # times per SLO)
        rates = self.counters.rates(at - window, at)
        if rates is None:
            return None
        if len(rates) == 2 and self.roles[0] == "total":  # bad or good events over all
            events, part = rates
            if not events:
                return None
            return part / events if self.roles[1] == "bad" else 1 - part / events
        rate = dict(zip(self.roles, rates, strict=True))
        total, rest, bad, good = (rate.get(role) for role in _ROLES)
        if total is None:  # one counter: its two series summed
            total = rest + (bad or good or 0.0)  # type: ignore[operator]
        if not total:
            return None
        if bad is not None:
            return bad / total
        return 1 - good / total  # type: ignore[operator]


def _feed(roles: tuple[tuple[str, str], ...], schedule: Schedule, interval: float) -> _Fed:
    events = events_per_interval(schedule)
    failed = _increments(schedule, interval, events)
    steps = {
        "bad": failed,
        "good": [events - f for f in failed],
        "total": [events] * len(failed),
    }
    steps["rest"] = steps["good"] if any(r == "bad" for _, r in roles) else failed
    inputs = tuple((series, _notation(steps[role])) for series, role in roles)
    played = tuple(role for role in _ROLES if any(r == role for _, r in roles))
    times = [k * interval for k in range(len(failed) + 1)]
    counters = slo.Counters(times, [_cumulative(steps[role]) for role in played])
    failing = next((k for k, count in enumerate(failed, start=1) if count), None)
    return _Fed(inputs, played, counters, math.inf if failing is None else times[failing])


def thresholds(target: m.SLO, kind: str) -> list[tuple[slo.BurnWindow, float]]:
    """Each window pair of `kind` and the error ratio its rule compares with, computed as
    Prometheus computes `(factor * budget)` from the rule's literals."""
    budget = float(budget_text(target))
    return [
        (b, float(number(float(factor(b, target.period)))) * budget)
        for b in slo.WINDOWS
        if b.alert == kind
    ]


State = tuple[float, tuple[tuple[str, float], ...]]


Limits = tuple[tuple[str, tuple[tuple[slo.BurnWindow, float], ...]], ...]  # per alert kind


def alerting(target: m.SLO) -> tuple[Limits, tuple[tuple[str, float], ...]]:
    """Per alert kind of the SLO: its window pairs with their limits, and its `for`."""
    limits = tuple((burn.kind, tuple(thresholds(target, burn.kind))) for burn in target.alerts)
    return limits, tuple((burn.kind, burn.for_seconds) for burn in target.alerts)


@functools.lru_cache(maxsize=1024)
def _played(
    limits: Limits,
    holds: tuple[tuple[str, float], ...],
    roles: tuple[tuple[str, str], ...],
    schedule: Schedule,
    interval: float,
    evaluation: float,
    horizon: float,
) -> tuple[Checkpoint, ...]:
    """A scenario's checkpoints: the same numbers for every environment (and every SLO of
    the same objective and alerts) of a build, computed once (tens of thousands of rates)."""
    fed = _feed(roles, schedule, interval)
    return _checkpoints(_states(dict(limits), dict(holds), fed, evaluation, horizon))


def _states(
    limits: dict[str, tuple[tuple[slo.BurnWindow, float], ...]],
    holds: dict[str, float],
    fed: _Fed,
    evaluation: float,
    horizon: float,
) -> list[State]:
    """(evaluation time, the kinds firing then), as Prometheus' alerting rule decides:
    active at the first evaluation its condition holds, firing once held for `for`."""
    active_since: dict[str, float | None] = {kind: None for kind in limits}
    steps = int(horizon // evaluation) + 1
    # no alert is active before the first failure (a scenario's first hours): not computed
    quiet = steps
    if fed.first_failure <= horizon:
        quiet = max(0, math.ceil(fed.first_failure / evaluation) - 1)
    states: list[State] = [(step * evaluation, ()) for step in range(quiet)]
    for step in range(quiet, steps):
        at = step * evaluation
        firing = []
        for kind, pairs in limits.items():
            met: float | None = None
            for burn, limit in pairs:
                short = fed.ratio(at, burn.short)
                if short is None or not short > limit:
                    continue
                long = fed.ratio(at, burn.long)
                if long is not None and long > limit:
                    met = short
                    break
            if met is None:
                active_since[kind] = None
                continue
            since = active_since[kind]
            if since is None:
                since = active_since[kind] = at
            if at - since >= holds[kind]:
                firing.append((kind, met))
        states.append((at, tuple(firing)))
    return states


def _checkpoints(states: list[State]) -> tuple[Checkpoint, ...]:
    """Every change of the firing alerts, with the evaluation before it, and the end."""
    chosen: dict[float, tuple[tuple[str, float], ...]] = {}
    for (before, was), (at, now) in itertools.pairwise(states):
        if [k for k, _ in was] != [k for k, _ in now]:
            chosen[before], chosen[at] = was, now
    last_at, last = states[-1]
    chosen[last_at] = last
    return tuple(Checkpoint(at, firing) for at, firing in sorted(chosen.items()))


def _pair(burn: slo.BurnWindow) -> str:
    return f"{burn.short / 60:.0f}m/{burn.long / 3600:.0f}h"


def scenarios(target: m.SLO, evaluation: float) -> list[SloScenario]:
    """The scenarios of an SLO whose SLI rlmgen can feed (events or latency)."""
    roles = concrete_inputs(target.sli) if target.sli.inputs else None
    if roles is None or not target.alerts:
        return []
    found = []
    kinds = {burn.kind for burn in target.alerts}
    budget = float(budget_text(target))
    page = [limit for _, limit in thresholds(target, "page")]
    ticket = [limit for _, limit in thresholds(target, "ticket")]
    plans: list[tuple[str, float, Schedule, float]] = []
    hour = 3600.0
    if "page" in kinds:
        for burn, limit in thresholds(target, "page"):
            if limit * 1.1 >= 1:
                continue  # this pair cannot fire: reported at validation
            over = limit * 1.1
            plans.append(
                (
                    f"an error ratio of {over:.4g} (just over {limit / budget:.4g}x the budget "
                    f"of the {_pair(burn)} pair) pages, and the alert resolves after recovery",
                    60.0,
                    # the long window fills with errors past the limit after long/1.1
                    ((burn.long, 0.0), (burn.long + hour, over), (hour, 0.0)),
                    2 * burn.long + 2 * hour,
                )
            )
        under = min(page) * 0.9
        if under < 1:
            plans.append(
                (
                    f"an error ratio of {under:.4g} (just under {min(page) / budget:.4g}x the "
                    "budget, the lowest page factor) never pages",
                    60.0,
                    ((6 * hour, 0.0), (6 * hour, under)),
                    12 * hour,
                )
            )
        # one minute at `spike` moves the short window's ratio by spike/5 and the long
        # one's by spike/60: a spike between 5 and 60 times the limit trips the short only
        quick, quick_limit = thresholds(target, "page")[0]
        spike = quick_limit * math.sqrt(quick.short / 60 * quick.long / 60)
        if spike <= 1:
            plans.append(
                (
                    f"a one-minute spike of {spike:.4g} errors trips the "
                    f"{quick.short / 60:.0f}m window only: no page",
                    60.0,
                    ((hour, 0.0), (60.0, spike), (hour, 0.0)),
                    2 * hour + 60,
                )
            )
    if "ticket" in kinds:
        if max(ticket) * 1.1 < 1:
            over = max(ticket) * 1.1
            plans.append(
                (
                    f"an error ratio of {over:.4g} (just over {max(ticket) / budget:.4g}x the "
                    "budget) opens a ticket",
                    300.0,
                    ((6 * hour, 0.0), (12 * hour, over)),
                    18 * hour,
                )
            )
        under = min(ticket) * 0.9
        if under < 1:
            plans.append(
                (
                    f"an error ratio of {under:.4g} (just under {min(ticket) / budget:.4g}x "
                    "the budget, the lowest ticket factor) never opens a ticket",
                    300.0,
                    ((6 * hour, 0.0), (12 * hour, under)),
                    18 * hour,
                )
            )
    limits, holds = alerting(target)
    # the checkpoints depend on the roles, not on the series that play them
    played_roles = tuple(sorted({("", role) for _, role in roles}))
    for title, interval, schedule, horizon in plans:
        fed = _feed(roles, schedule, interval)
        checkpoints = _played(limits, holds, played_roles, schedule, interval, evaluation, horizon)
        found.append(SloScenario(target, title, interval, fed.inputs, checkpoints))
    return found
