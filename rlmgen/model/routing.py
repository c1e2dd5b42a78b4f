"""Who an alert reaches, and the Alertmanager route each receiver gets: decided once here
for hand-written alerts and level alerts alike."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from rlmgen.compiled_dataclasses import dataclass
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
# (group_wait, group_interval, repeat_interval), by the most severe severity a receiver takes
# (not by its integration): critical is fast and repeats often; info
# waits longer and repeats daily.
TIMING = {
    "critical": (30.0, 300.0, 4 * 3600.0),
    "warning": (60.0, 600.0, 12 * 3600.0),
    "info": (300.0, 1800.0, 24 * 3600.0),
}
ROOT_TIMING = TIMING["warning"]

# Where the Prometheus Operator mounts an Alertmanager's Secrets: <root>/<secret>/<key>.
OPERATOR_SECRETS = PurePosixPath("/etc/alertmanager/secrets")
# A receiver's settings that name a file holding a secret.
SECRET_FILE_SETTINGS = ("routingKeyFile", "apiUrlFile", "authPasswordFile", "urlFile")


def secret_reference(path: str) -> tuple[str | None, str]:
    """The Secret and key an AlertmanagerConfig reads for the secret file at `path`: a
    path in the Operator's layout (/etc/alertmanager/secrets/<secret>/<key>) is that key
    of that Secret; any other file, the key of its name in the service's own Secret
    (None). Two files of one service may not come to the same Secret and key."""
    pure = PurePosixPath(posixpath.normpath(path))
    if pure.parent.parent == OPERATOR_SECRETS and _SECRET_NAME.fullmatch(pure.parent.name):
        return pure.parent.name, pure.name
    return None, pure.name


def service_secret(service: str) -> str:
    """The Secret an AlertmanagerConfig reads the secrets of other files from."""
    return f"{service}-alertmanager"


# A Secret's name: a DNS subdomain (RFC 1123), at most 253 characters.
_SECRET_NAME = re.compile(
    r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)


def receiver_for(
    severity: str,
    explicit: str | None,
    routing: m.Routing | None,
    labels: Mapping[str, str] | None = None,
) -> str | None:
    """The receiver an alert reaches: its own route, else the first receiver (one that
    does not `continue`) taking its severity and matching its labels, else the root
    route's (the default, or the first receiver: where Alertmanager sends what no route
    takes). `labels` are those the spec gives the alert (service, team, its labels)."""
    if explicit:
        return explicit
    if routing is None or not routing.receivers:
        return None
    for receiver in by_specificity(routing.receivers):
        if not receiver.continues and receiver.takes(severity, labels or {}):
            return receiver.name
    return default_receiver(routing)


def by_specificity(receivers: tuple[m.Receiver, ...]) -> list[m.Receiver]:
    """Receivers with more `match` labels first (a `match: {team: dba}` receiver is not
    shadowed by a catch-all of the same severity written before it), else as written."""
    return sorted(receivers, key=lambda receiver: -len(receiver.match))


def service_labels(service: m.Service) -> dict[str, str]:
    """The labels every alert of the service carries unless its series set them: what a
    receiver's `match` can compare before any series exists."""
    return {
        SERVICE_LABEL: service.name,
        NAMESPACE_LABEL: service.namespace,
        TEAM_LABEL: service.team,
        **service.labels,
    }


def copies_for(severity: str, routing: m.Routing | None, labels: Mapping[str, str]) -> list[str]:
    """The receivers that `continue`: each gets a copy of the alerts it takes."""
    if routing is None:
        return []
    return [r.name for r in routing.receivers if r.continues and r.takes(severity, labels)]


def default_receiver(routing: m.Routing) -> str:
    return routing.default or routing.receivers[0].name


def group_by(routing: m.Routing) -> list[str]:
    return list(routing.group_by or DEFAULT_GROUP_BY)


# Labels that name what an alert is about in the series of common exporters (Kubernetes'
# kube-state-metrics and cAdvisor, node, queue and database exporters). When the labels of
# some alert's series are not all known (a metric without declared labels), inhibition
# compares these too: a critical alert of pod-a must not hold back the warning of pod-b.
# A label neither alert carries compares equal, so one more never stops an inhibition
# that should happen.
ENTITY_LABELS = frozenset(
    {
        "consumergroup",
        "container",
        "cronjob",
        "daemonset",
        "database",
        "deployment",
        "device",
        "job_name",
        "mountpoint",
        "name",
        "node",
        "partition",
        "persistentvolumeclaim",
        "pod",
        "pool",
        "queue",
        "statefulset",
        "topic",
    }
)


def inhibit_equal(carried: frozenset[str], route_label: str = ROUTE_LABEL) -> tuple[str, ...]:
    """What a firing alert and the alerts it holds back must share: the alert's name, the
    service, and the labels alert series carry (Alertmanager takes a label absent from
    both as equal), so that a critical alert of one pod holds back the warning of that
    pod only. Labels rlmgen sets per severity or per service are left out."""
    fixed = {"alertname", SERVICE_LABEL}
    per_rule = {SEVERITY_LABEL, route_label, TEAM_LABEL, NAMESPACE_LABEL}
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


@dataclass(frozen=True)
class Route:
    receiver: str
    matchers: tuple[tuple[str, str, str], ...]  # (label, operator, value)
    timing: tuple[float, float, float]  # group_wait, group_interval, repeat_interval
    continues: bool = False
    active_intervals: tuple[str, ...] = ()
    mute_intervals: tuple[str, ...] = ()


def routes(routing: m.Routing) -> list[Route]:
    """Alertmanager's routes, in order: receivers that `continue` first (each takes a copy
    of what it matches), then the route label of every other receiver (every rlmgen alert
    carries it), then their severities and `match` labels, the most specific first (for
    alerts from other rule files)."""

    def route(receiver: m.Receiver, matchers: list[tuple[str, str, str]]) -> Route:
        return Route(
            receiver.name,
            tuple(matchers),
            timing(receiver),
            receiver.continues,
            receiver.active_intervals,
            receiver.mute_intervals,
        )

    def by_severity(receiver: m.Receiver) -> list[list[tuple[str, str, str]]]:
        matched = [(name, "=", value) for name, value in sorted(receiver.match.items())]
        if not receiver.severities:
            return [matched] if matched else []
        return [[(SEVERITY_LABEL, "=", s), *matched] for s in receiver.severities]

    copies = [
        route(r, m_ or [(routing.route_label, "=~", ".*")])
        for r in routing.receivers
        if r.continues
        for m_ in (by_severity(r) or [[]])
    ]
    routed = [r for r in routing.receivers if not r.continues]
    found = [route(r, [(routing.route_label, "=", r.name)]) for r in routed]
    found += [route(r, m_) for r in by_specificity(tuple(routed)) for m_ in by_severity(r)]
    return [*copies, *found]
