"""`rlmgen health`: the spec's values read from a live Prometheus and judged against the
spec's levels, and the service's firing alerts, reported one line each in the style of an
SRE team's morning check (`✓ P99 latency: 45ms`)."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.lang.display import SIZED_SUFFIXES, format_change, format_value, written_display
from rlmgen.lang.levels import Level, is_past, is_within
from rlmgen.lang.units import format_duration
from rlmgen.live.prometheus import (
    PARALLEL_QUERIES,
    Prometheus,
    QueryFailed,
    Sample,
    Unreachable,
)
from rlmgen.model import types as m
from rlmgen.model.conventions import NAMESPACE_LABEL, SERVICE_LABEL, SEVERITY_LABEL

# States, least severe first; the rank decides the summary and the exit code.
RANK = {
    "target": 0,
    "ok": 0,
    "off-target": 0,
    "info": 1,
    "no-data": 2,
    "warning": 2,
    "critical": 3,
}
SYMBOL = {
    "target": "✓",
    "ok": "✓",
    "off-target": "✓",
    "info": "ℹ",
    "no-data": "⚠",
    "warning": "⚠",
    "critical": "✗",
}
HEALTHY_RANK = RANK["info"]  # an info level or alert is news, not a problem


@dataclass(frozen=True)
class Reading:
    """One series of a check's query: its value, its ratio to the baseline average when
    the levels are relative, and the state they are in."""

    labels: Mapping[str, str]
    value: float
    change: float | None
    state: str
    level: Level | None  # the level it is past (or the target it misses)


@dataclass(frozen=True)
class CheckResult:
    check: m.HealthCheck
    readings: tuple[Reading, ...]  # worst first
    error: str | None = None

    @property
    def state(self) -> str:
        if self.error is not None or not self.readings:
            return "no-data"
        return self.readings[0].state

    def line(self) -> str:
        check = self.check
        if self.error is not None:
            return f"{SYMBOL['no-data']} {check.label}: no data ({self.error})"
        if not self.readings:
            return f"{SYMBOL['no-data']} {check.label}: no data (`{check.query}` has no series)"
        worst = self.readings[0]
        if math.isnan(worst.value):
            return f"{SYMBOL['no-data']} {check.label}: no data (NaN: nothing to compute it from)"
        text = f"{SYMBOL[worst.state]} {check.label}: {self.value_text(worst)}"
        notes = []
        if worst.change is not None and check.levels.baseline:
            baseline = format_duration(check.levels.baseline)
            notes.append(f"{format_change(worst.change)} against the {baseline} average")
        if worst.level is not None:
            name = "off target" if worst.state == "off-target" else worst.state
            notes.append(f"{name}: {worst.level.text}")
        if len(self.readings) > 1:
            labels = ", ".join(
                f'{k}="{v}"' for k, v in sorted(worst.labels.items()) if k != "__name__"
            )
            notes.append(f"worst of {len(self.readings)}" + (f": {labels}" if labels else ""))
        return text + (f" ({'; '.join(notes)})" if notes else "")

    def value_text(self, reading: Reading) -> str:
        """The value as the levels are written; with more digits when fewer would read
        as the level it is past (`3d` against `< 3d`)."""
        check = self.check
        level = reading.level
        decimals, display = check.decimals, check.display
        # past a level: in its unit, so the two read side by side (`27h`, not `1.13d`
        # beside `> 26h`); healthy: in the target's (`2s`, not `0.0333m` beside `< 5s`)
        shown_beside = level if level is not None else check.levels.target
        if shown_beside is not None and shown_beside.value is not None and reading.change is None:
            written, _ = written_display([shown_beside.text], check.unit)
            if written != display and written in SIZED_SUFFIXES:
                display = written
        text = format_value(reading.value, check.unit, display, decimals)
        if level is None or level.value is None or reading.change is not None:
            return text
        while decimals < 12 and any(
            text == format_value(bound, check.unit, display, decimals)
            for bound in (level.value, level.high)
            if bound is not None and bound != reading.value
        ):
            decimals += 1
            text = format_value(reading.value, check.unit, display, decimals)
        return text


@dataclass(frozen=True)
class ServiceHealth:
    spec: m.Spec
    checks: tuple[CheckResult, ...]
    firing: tuple[Mapping[str, str], ...]  # labels of the service's firing alerts

    @property
    def alerts_state(self) -> str:
        severities = {alert.get(SEVERITY_LABEL) for alert in self.firing}
        if "critical" in severities:
            return "critical"
        return "warning" if "warning" in severities else "info" if self.firing else "ok"

    @property
    def state(self) -> str:
        states = [c.state for c in self.checks] + [self.alerts_state]
        return max(states, key=RANK.__getitem__)

    def alerts_line(self) -> str:
        by_severity: dict[str, Counter[str]] = {}
        for alert in self.firing:
            severity = alert.get(SEVERITY_LABEL, "none")
            by_severity.setdefault(severity, Counter())[alert.get("alertname", "?")] += 1

        def listed(severity: str) -> str:
            names = by_severity[severity]
            count = sum(names.values())
            named = ", ".join(
                f"{name} ×{n}" if n > 1 else name for name, n in sorted(names.items())
            )
            return f"{count} {severity} alert{'' if count == 1 else 's'} firing: {named}"

        others = [listed(s) for s in sorted(by_severity) if s != "critical"]
        if "critical" in by_severity:
            text = "; ".join([listed("critical"), *others])
        else:
            text = "; ".join(["No critical alerts", *others])
        return f"{SYMBOL[self.alerts_state]} {text}"

    def unhealthy(self) -> list[str]:
        found = [f"{c.check.label}: {c.state}" for c in self.checks if RANK[c.state] > HEALTHY_RANK]
        if RANK[self.alerts_state] > HEALTHY_RANK:
            found.append(f"{self.alerts_state} alerts firing")
        return found


@dataclass(frozen=True)
class Report:
    prometheus: str
    services: tuple[ServiceHealth, ...]

    @property
    def state(self) -> str:
        return max((s.state for s in self.services), key=RANK.__getitem__, default="ok")

    @property
    def healthy(self) -> bool:
        return RANK[self.state] <= HEALTHY_RANK

    def text(self) -> str:
        if self.healthy:
            lines = [f"{SYMBOL['ok']} All services healthy"]
        else:
            problems = "; ".join(
                f"{_name(s)} ({', '.join(s.unhealthy())})"
                for s in self.services
                if RANK[s.state] > HEALTHY_RANK
            )
            lines = [f"{SYMBOL[self.state]} Not healthy: {problems}"]
        several = len(self.services) > 1
        for service in self.services:
            body = [c.line() for c in service.checks] + [service.alerts_line()]
            if several:
                lines.append(f"{_name(service)}:")
                body = [f"  {line}" for line in body]
            lines.extend(body)
        return "\n".join(lines) + "\n"

    def as_json(self) -> str:
        return json.dumps(
            {
                "healthy": self.healthy,
                "state": self.state,
                "prometheus": self.prometheus,
                "services": [_service_json(s) for s in self.services],
            },
            indent=2,
            ensure_ascii=False,
        )


def _name(service: ServiceHealth) -> str:
    spec = service.spec
    return f"{spec.service.name} ({spec.environment})" if spec.environment else spec.service.name


def _service_json(service: ServiceHealth) -> dict[str, object]:
    spec = service.spec
    return {
        "service": spec.service.name,
        "environment": spec.environment,
        "spec": spec.source,
        "state": service.state,
        "checks": [
            {
                "label": c.check.label,
                "state": c.state,
                "value": None if not c.readings else _json_number(c.readings[0].value),
                "display": c.value_text(c.readings[0]) if c.readings else None,
                "query": c.check.query,
                "error": c.error,
                "levels": {
                    name: level.text
                    for name in ("target", "info", "warning", "critical")
                    if (level := getattr(c.check.levels, name)) is not None
                },
                "series": [
                    {
                        "labels": dict(r.labels),
                        "value": _json_number(r.value),
                        "ratio_to_baseline": None if r.change is None else _json_number(r.change),
                        "state": r.state,
                    }
                    for r in c.readings
                ],
            }
            for c in service.checks
        ],
        "alerts": {"state": service.alerts_state, "firing": [dict(a) for a in service.firing]},
    }


def _json_number(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)  # JSON has no NaN


# --- asking Prometheus -------------------------------------------------------------------


def check_health(prometheus: Prometheus, specs: Sequence[m.Spec]) -> Report:
    """Every check of every spec, read now. Raises Unreachable (before any other query:
    the firing alerts are asked first) when Prometheus does not answer."""
    try:
        firing = prometheus.query('ALERTS{alertstate="firing"}')
    except QueryFailed as exc:  # every Prometheus answers this: it is not one
        raise Unreachable(f"{prometheus.url} refuses a query of ALERTS: {exc}") from None
    jobs = [(spec, check) for spec in specs for check in spec.health.checks]
    with ThreadPoolExecutor(max_workers=PARALLEL_QUERIES) as pool:
        results = list(pool.map(lambda job: _run(prometheus, job[1]), jobs))
    services = []
    for spec in specs:
        mine = tuple(r for (owner, _), r in zip(jobs, results, strict=True) if owner is spec)
        services.append(ServiceHealth(spec, mine, _firing_of(spec, firing)))
    return Report(prometheus.url, tuple(services))


def _run(prometheus: Prometheus, check: m.HealthCheck) -> CheckResult:
    try:
        samples = prometheus.query(check.query)
        changes = prometheus.query(check.change_query) if check.change_query else []
    except QueryFailed as exc:
        return CheckResult(check, (), error=f"Prometheus refused `{check.query}`: {exc}")
    return judge(check, samples, changes)


def judge(
    check: m.HealthCheck, samples: Sequence[Sample], changes: Sequence[Sample]
) -> CheckResult:
    """The readings of a check, worst first."""
    change_of = {_key(s.labels): s.value for s in changes}
    readings = []
    for sample in samples:
        change = change_of.get(_key(sample.labels)) if check.change_query else None
        state, level = classify(check.levels, sample.value, change)
        readings.append(Reading(sample.labels, sample.value, change, state, level))
    worse_is_higher = _worse_is_higher(check.levels)

    def badness(reading: Reading) -> tuple[int, float]:
        value = reading.change if reading.change is not None else reading.value
        if math.isnan(value):
            return (RANK["no-data"], 0.0)
        return (RANK[reading.state], value if worse_is_higher else -value)

    return CheckResult(check, tuple(sorted(readings, key=badness, reverse=True)))


def classify(levels: m.Levels, value: float, change: float | None) -> tuple[str, Level | None]:
    """The state of one reading and the level it is past (or the target it misses)."""
    if math.isnan(value):
        return "no-data", None
    for severity in ("critical", "warning", "info"):
        level = getattr(levels, severity)
        if level is None or not level.is_threshold:
            continue
        relative = level.kind in ("increase", "decrease")
        if relative and (change is None or math.isnan(change)):
            continue
        if is_past(level, change if relative and change is not None else value):
            return severity, level
    target = levels.target
    if target is None:
        return "ok", None
    if target.kind == "exact" and target.value is not None:
        # `target: 99.99%` beside `warning: < 99.9%`: at least that much, as the levels read
        within: bool | None = (
            value <= target.value if _worse_is_higher(levels) else value >= target.value
        )
    else:
        within = is_within(target, value)
    if within is None:
        return "ok", None
    return ("target", None) if within else ("off-target", target)


def _worse_is_higher(levels: m.Levels) -> bool:
    for _, level in reversed(levels.alerting()):
        if level.kind in ("below", "decrease"):
            return False
        if level.kind in ("above", "increase"):
            return True
    return True


def _key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


def _firing_of(spec: m.Spec, firing: Sequence[Sample]) -> tuple[Mapping[str, str], ...]:
    """The firing alerts this spec's rules raise: its alert names, of its service (rules
    label their alerts with it, unless the series carry their own)."""
    names = {alert.name for alert in spec.alerts}
    names |= {metric.alert.name for metric in spec.metrics if metric.alert is not None}
    names |= {slo.alert_name for slo in spec.slos}
    # as the rules label them: an environment's namespace tells its alerts apart
    expected = {
        SERVICE_LABEL: spec.service.labels.get(SERVICE_LABEL, spec.service.name),
        NAMESPACE_LABEL: spec.service.labels.get(NAMESPACE_LABEL, spec.service.namespace),
    }
    mine = [
        sample.labels
        for sample in firing
        if sample.labels.get("alertname") in names
        and all(sample.labels.get(k, v) == v for k, v in expected.items())
    ]
    return tuple(sorted(mine, key=lambda labels: sorted(labels.items())))
