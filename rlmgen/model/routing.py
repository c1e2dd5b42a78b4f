"""Who an alert reaches, and the Alertmanager route each receiver gets: decided once here
for hand-written alerts and level alerts alike."""

from __future__ import annotations

import dataclasses

from rlmgen.model import types as m
from rlmgen.model.conventions import (
    NAMESPACE_LABEL,
    ROUTE_LABEL,
    SERVICE_LABEL,
    SEVERITY_LABEL,
    TEAM_LABEL,
    severity_rank,
)

DEFAULT_GROUP_BY = ("alertname", "service")
# (group_wait, group_interval, repeat_interval): paging is fast and repeats often; email
# waits longer and repeats daily.
TIMING = {
    "critical": (30.0, 300.0, 4 * 3600.0),
    "warning": (60.0, 600.0, 12 * 3600.0),
    "info": (300.0, 1800.0, 24 * 3600.0),
}
ROOT_TIMING = TIMING["warning"]


def receiver_for(severity: str, explicit: str | None, routing: m.Routing | None) -> str | None:
    """The receiver an alert reaches: its own route, else its severity's, else the root
    route's (the default, or the first receiver: where Alertmanager sends what no route
    takes)."""
    if explicit:
        return explicit
    if routing is None or not routing.receivers:
        return None
    for receiver in routing.receivers:
        if severity in receiver.severities:
            return receiver.name
    return default_receiver(routing)


def default_receiver(routing: m.Routing) -> str:
    return routing.default or routing.receivers[0].name


def group_by(routing: m.Routing) -> list[str]:
    return list(routing.group_by or DEFAULT_GROUP_BY)


def inhibit_equal(carried: frozenset[str]) -> tuple[str, ...]:
    """What a firing alert and the alerts it holds back must share: the alert's name, the
    service, and the labels alert series carry (Alertmanager takes a label absent from
    both as equal), so that a critical alert of one pod holds back the warning of that
    pod only. Labels rlmgen sets per severity or per service are left out."""
    fixed = {"alertname", SERVICE_LABEL}
    per_rule = {SEVERITY_LABEL, ROUTE_LABEL, TEAM_LABEL, NAMESPACE_LABEL}
    return ("alertname", SERVICE_LABEL, *sorted(carried - fixed - per_rule))


def timing(receiver: m.Receiver) -> tuple[float, float, float]:
    """The receiver's own timing, else that of the most severe severity it takes."""
    severities = sorted(receiver.severities, key=severity_rank)
    default = TIMING[severities[-1]] if severities else ROOT_TIMING
    wait, interval, repeat = (
        d if o is None else o
        for o, d in zip(
            (receiver.group_wait, receiver.group_interval, receiver.repeat_interval),
            default,
            strict=True,
        )
    )
    return wait, interval, repeat


@dataclasses.dataclass(frozen=True)
class Route:
    receiver: str
    label: str
    value: str
    timing: tuple[float, float, float]  # group_wait, group_interval, repeat_interval


def routes(routing: m.Routing) -> list[Route]:
    """The route label of each receiver first (every rlmgen alert carries it), then its
    severities (for alerts from other rule files), each with the receiver's timing."""
    pairs = [(r, ROUTE_LABEL, r.name) for r in routing.receivers]
    pairs += [(r, SEVERITY_LABEL, s) for r in routing.receivers for s in r.severities]
    return [Route(r.name, label, value, timing(r)) for r, label, value in pairs]
