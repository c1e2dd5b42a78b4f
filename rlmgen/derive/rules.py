"""Every rule rlmgen emits, derived once from the model: recording rules, the alerts
that metric levels raise, and the hand-written alerts, with their final labels and
annotations. The rules file, its promtool tests and the runbook all read this."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from rlmgen.derive.queries import parenthesised
from rlmgen.lang.levels import Level
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.anchors import alert_anchor
from rlmgen.model.build import receiver_for
from rlmgen.model.conventions import (
    LEVELS_GROUP,
    RECORDING_GROUP,
    rule_group_name,
    threshold_alert_name,
)

DEFAULT_THRESHOLD_FOR = 300.0  # long enough to ride out one bad scrape, short enough to page
SEVERITY_ORDER = ("info", "warning", "critical")
_OPERATOR = re.compile(r"^\s*(>=|<=|>|<|above|below|over|under)\s*", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Mapping[str, str]
    metric: m.Metric


@dataclasses.dataclass(frozen=True, eq=False)  # identity: each rule is one emitted rule
class AlertRule:
    name: str
    expr: str
    for_seconds: float
    severity: str
    receiver: str | None
    labels: Mapping[str, str]  # the rule's labels, severity and route included
    annotations: Mapping[str, str]  # summary, description (when any), runbook_url
    origin: Literal["levels", "hand-written"]
    metric: m.Metric | None = None
    level: Level | None = None
    alert: m.Alert | None = None

    @property
    def anchor(self) -> str:
        return alert_anchor(self.name)


@dataclasses.dataclass(frozen=True)
class RuleGroup:
    name: str
    title: str | None
    interval: float | None
    rules: tuple[RecordingRule | AlertRule, ...]


def number(value: float) -> str:
    """A PromQL number literal: integers without a point, others as short as exact."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(f"{value:.12g}"))


_last_derived: tuple[m.Spec, tuple[RuleGroup, ...]] | None = None


def rule_groups(spec: m.Spec) -> tuple[RuleGroup, ...]:
    """The spec's rules, grouped as the rules file has them. Every generator needs
    them, so they are derived once per spec (the last spec's are kept: one is compiled
    at a time), and rule identity is shared: a test refers to the rule it tests."""
    global _last_derived
    if _last_derived is None or _last_derived[0] is not spec:
        _last_derived = (spec, _derive_rule_groups(spec))
    return _last_derived[1]


def _derive_rule_groups(spec: m.Spec) -> tuple[RuleGroup, ...]:
    groups: list[RuleGroup] = []
    recording = tuple(recording_rules(spec))
    if recording:
        name = rule_group_name(spec.service.name, RECORDING_GROUP)
        groups.append(RuleGroup(name, "Recording rules", None, recording))
    levels = tuple(threshold_alerts(spec))
    if levels:
        name = rule_group_name(spec.service.name, LEVELS_GROUP)
        groups.append(RuleGroup(name, "Metric levels", None, levels))
    for group in spec.alert_groups:
        groups.append(
            RuleGroup(
                rule_group_name(spec.service.name, group.name),
                group.title,
                group.interval,
                tuple(hand_written_alert(spec, alert) for alert in group.alerts),
            )
        )
    return tuple(groups)


def alert_rules(spec: m.Spec) -> tuple[AlertRule, ...]:
    return tuple(r for g in rule_groups(spec) for r in g.rules if isinstance(r, AlertRule))


def recording_rules(spec: m.Spec) -> list[RecordingRule]:
    return [
        RecordingRule(metric.record, metric.expr, spec.service.labels, metric)
        for metric in spec.metrics
        if metric.record and metric.expr
    ]


def _labels(
    spec: m.Spec, own: Mapping[str, str], severity: str, receiver: str | None
) -> Mapping[str, str]:
    labels = {**spec.service.labels, "team": spec.service.team, **own, "severity": severity}
    if receiver:
        labels["route"] = receiver
    return MappingProxyType(dict(sorted(labels.items())))


def _annotations(
    spec: m.Spec, name: str, summary: str, description: str | None
) -> Mapping[str, str]:
    annotations = {"summary": summary}
    if description:
        annotations["description"] = description
    annotations["runbook_url"] = f"{spec.service.runbook_url}#{alert_anchor(name)}"
    return MappingProxyType(annotations)


def hand_written_alert(spec: m.Spec, alert: m.Alert) -> AlertRule:
    return AlertRule(
        name=alert.name,
        expr=alert.expr,
        for_seconds=alert.for_seconds,
        severity=alert.severity,
        receiver=alert.receiver,
        labels=_labels(spec, alert.labels, alert.severity, alert.receiver),
        annotations=_annotations(
            spec, alert.name, alert.summary, alert.description or _condition_description(alert)
        ),
        origin="hand-written",
        alert=alert,
    )


def _condition_description(alert: m.Alert) -> str:
    """What fired, for alerts the spec gives no description: the condition and its `for`."""
    condition = " ".join(alert.expr.split())
    if "{{" in condition or "}}" in condition:
        condition = "the alert expression"  # would be read as template actions
    else:
        condition = f"`{condition}`"
    if alert.for_seconds:
        return f"{condition} has been true for {format_duration(alert.for_seconds)}."
    return f"{condition} is true."


def threshold_alerts(spec: m.Spec) -> list[AlertRule]:
    alerts = []
    for metric in spec.metrics:
        if metric.levels is None:
            continue
        for severity, level in metric.levels.alerting():
            alerts.append(threshold_alert(spec, metric, severity, level))
    return alerts


def threshold_alert(spec: m.Spec, metric: m.Metric, severity: str, level: Level) -> AlertRule:
    assert metric.levels is not None
    name = threshold_alert_name(metric.name, level.kind, metric.alert.name)
    receiver = receiver_for(severity, None, spec.routing)
    return AlertRule(
        name=name,
        expr=level_expr(metric, level),
        for_seconds=metric.alert.for_seconds
        if metric.alert.for_seconds is not None
        else DEFAULT_THRESHOLD_FOR,
        severity=severity,
        receiver=receiver,
        labels=_labels(spec, metric.alert.labels, severity, receiver),
        annotations=_annotations(
            spec,
            name,
            metric.alert.summary or _summary(metric, level),
            _description(metric, severity, level),
        ),
        origin="levels",
        metric=metric,
        level=level,
    )


def measured(metric: m.Metric, level: Level) -> str:
    """The expression a level compares: the metric, or its fraction of the limit."""
    if level.of_limit and metric.limit:
        return f"{metric.series} / {parenthesised(metric.limit)}"
    return metric.series


def level_expr(metric: m.Metric, level: Level) -> str:
    assert metric.levels is not None and level.value is not None
    series = measured(metric, level)
    if level.kind in ("increase", "decrease"):
        baseline = format_duration(metric.levels.baseline or 0)
        factor = 1 + level.value if level.kind == "increase" else 1 - level.value
        operator = ">" if level.kind == "increase" else "<"
        return f"{series} {operator} {number(factor)} * avg_over_time({metric.series}[{baseline}])"
    if level.kind == "outside":
        assert level.high is not None
        return f"{series} < {number(level.value)} or {series} > {number(level.high)}"
    return f"{series} {'>' if level.kind == 'above' else '<'} {number(level.value)}"


def value_template(metric: m.Metric, level: Level) -> str:
    """How an annotation prints the measured value, in the unit the author thinks in."""
    if level.of_limit:
        return "{{ $value | humanizePercentage }}"
    unit = metric.unit.name if metric.unit else None
    return {
        "ratio": "{{ $value | humanizePercentage }}",
        "percent": "{{ $value | humanize }}%",
        "seconds": "{{ $value | humanizeDuration }}",
        "milliseconds": "{{ $value | humanize }}ms",
        "bytes": "{{ $value | humanize1024 }}B",
        "usd": "${{ $value | humanize }}",
    }.get(unit or "", "{{ $value | humanize }}")


def _threshold_text(level: Level) -> str:
    return _OPERATOR.sub("", level.text)


def _summary(metric: m.Metric, level: Level) -> str:
    subject = metric.description or metric.name
    if level.kind in ("increase", "decrease"):
        assert metric.levels is not None
        baseline = format_duration(metric.levels.baseline or 0)
        return f"{subject}: {level.text} against its {baseline} average"
    if level.kind == "outside":
        return f"{subject} {level.text}"
    way = "above" if level.kind == "above" else "below"
    threshold = _threshold_text(level)
    if level.of_limit and "limit" not in threshold:
        threshold += " of the limit"
    return f"{subject} {way} {threshold}"


def _description(metric: m.Metric, severity: str, level: Level) -> str:
    text = f"{metric.name} is {value_template(metric, level)} ({severity} level: {level.text}"
    target = metric.levels.target if metric.levels else None
    if target is not None:
        text += f"; target: {target.text}"
    return text + ")."
