"""What every derived rule is, and the labels and annotations every alert gets."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.lang.levels import Level
from rlmgen.model import types as m
from rlmgen.model.conventions import (
    NAMESPACE_LABEL,
    ROUTE_LABEL,
    SERIES_FIRST_LABELS,
    SERVICE_LABEL,
    SEVERITY_LABEL,
    TEAM_LABEL,
    alert_anchor,
    runbook_link,
)


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Mapping[str, str]
    metric: m.Metric | None = None
    slo: m.SLO | None = None


@dataclass(frozen=True, eq=False)  # identity: each rule is one emitted rule
class AlertRule:
    name: str
    expr: str
    for_seconds: float
    severity: str
    receiver: str | None
    labels: Mapping[str, str]  # the rule's labels, severity and route included
    annotations: Mapping[str, str]  # summary, description (when any), runbook_url
    origin: Literal["levels", "hand-written", "slo"]
    metric: m.Metric | None = None
    level: Level | None = None
    alert: m.Alert | None = None
    slo: m.SLO | None = None
    burn: m.BurnAlert | None = None

    @property
    def anchor(self) -> str:
        return alert_anchor(self.name)

    @property
    def pointer(self) -> str:
        """Where the spec writes what this rule comes from: the hand-written alert, the
        SLO, or the metric's level of this severity."""
        if self.alert is not None:
            return self.alert.pointer
        if self.slo is not None:
            return self.slo.pointer
        metric = self.metric
        if metric is None:
            return ""
        for level in metric.alert.levels if metric.alert else ():
            if level.severity == self.severity:
                return level.pointer or metric.pointer
        return metric.pointer


@dataclass(frozen=True)
class RuleGroup:
    name: str
    title: str | None
    interval: float | None
    rules: tuple[RecordingRule | AlertRule, ...]
    slo: str | None = None  # the SLO whose group this is: in a rules file of its own


@dataclass(frozen=True)
class Rules:
    """The spec's rules, grouped as the rules file has them. Rule identity is shared by
    every reader: a test refers to the rule it tests."""

    groups: tuple[RuleGroup, ...]

    @property
    def alerts(self) -> tuple[AlertRule, ...]:
        return tuple(r for g in self.groups for r in g.rules if isinstance(r, AlertRule))

    @property
    def recording(self) -> tuple[RecordingRule, ...]:
        return tuple(r for g in self.groups for r in g.rules if isinstance(r, RecordingRule))


def number(value: float) -> str:
    """A PromQL number literal for exactly `value`: integers without a point, others in
    12 digits when those are exact (they read better), else in full."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    short = float(f"{value:.12g}")
    return repr(short) if short == value else repr(value)


def alert_labels(
    spec: m.Spec,
    own: Mapping[str, str],
    severity: str,
    receiver: str | None,
    carried: frozenset[str],
) -> Mapping[str, str]:
    """An alert's labels: the service's, namespace and team unless its series carry
    their own (overwriting them could merge two series into one, which Prometheus
    refuses), the spec's, and the severity and route rlmgen decides."""
    defaults = {
        SERVICE_LABEL: spec.service.name,
        NAMESPACE_LABEL: spec.service.namespace,
        TEAM_LABEL: spec.service.team,
    }
    labels = {
        **{k: v for k, v in defaults.items() if k not in carried & SERIES_FIRST_LABELS},
        **spec.service.labels,
        **own,
        SEVERITY_LABEL: severity,
    }
    if receiver:
        labels[spec.routing.route_label if spec.routing else ROUTE_LABEL] = receiver
    return MappingProxyType(dict(sorted(labels.items())))


def alert_annotations(
    spec: m.Spec, name: str, summary: str, description: str | None
) -> Mapping[str, str]:
    annotations = {"summary": summary}
    if description:
        annotations["description"] = description
    annotations["runbook_url"] = runbook_link(spec.service.runbook_url, name)
    return MappingProxyType(annotations)
