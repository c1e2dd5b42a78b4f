"""Every rule rlmgen emits, derived from the model: recording rules, the alerts that metric
levels raise, and the hand-written alerts, with their final labels and annotations. The
rules file, its promtool tests, the runbook and reviews all read these."""

from __future__ import annotations

import re

from rlmgen.derive.common import (
    AlertRule,
    RecordingRule,
    RuleGroup,
    Rules,
    alert_annotations,
    alert_labels,
    number,
)
from rlmgen.derive.slos import slo_groups
from rlmgen.lang.display import in_decimal_bytes
from rlmgen.lang.levels import Level, relative_factor
from rlmgen.lang.promtemplate import escape
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.conventions import (
    LEVELS_GROUP,
    RECORDING_GROUP,
    rule_group_name,
)

_OPERATOR = re.compile(r"^\s*(>=|<=|>|<|above|below|over|under)\s*", re.IGNORECASE)


def derive_rules(spec: m.Spec) -> Rules:
    groups: list[RuleGroup] = []
    recording = tuple(recording_rules(spec))
    if recording:
        name = rule_group_name(spec.service.name, RECORDING_GROUP)
        groups.append(RuleGroup(name, "Recording rules", None, recording))
    levels = tuple(level_alerts(spec))
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
    groups.extend(slo_groups(spec))
    return Rules(tuple(groups))


def recording_rules(spec: m.Spec) -> list[RecordingRule]:
    return [
        RecordingRule(metric.record, metric.expr, spec.service.labels, metric)
        for metric in spec.metrics
        if metric.record and metric.expr
    ]


def hand_written_alert(spec: m.Spec, alert: m.Alert) -> AlertRule:
    return AlertRule(
        name=alert.name,
        expr=alert.expr,
        for_seconds=alert.for_seconds,
        severity=alert.severity,
        receiver=alert.receiver,
        labels=alert_labels(
            spec, alert.labels, alert.severity, alert.receiver, alert.series_labels.names
        ),
        annotations=alert_annotations(
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


def level_alerts(spec: m.Spec) -> list[AlertRule]:
    return [
        level_alert(spec, metric, metric.alert, level)
        for metric in spec.metrics
        if metric.alert is not None
        for level in metric.alert.levels
    ]


def level_alert(
    spec: m.Spec, metric: m.Metric, alert: m.LevelAlerts, level: m.LevelAlert
) -> AlertRule:
    return AlertRule(
        name=alert.name,
        expr=level_expr(metric, level.level),
        for_seconds=alert.hold(level),
        severity=level.severity,
        receiver=level.receiver,
        labels=alert_labels(
            spec,
            {**alert.labels, **level.labels},
            level.severity,
            level.receiver,
            metric.series_labels.names,
        ),
        annotations=alert_annotations(
            spec,
            alert.name,
            alert.summary or _summary(metric, level.level),
            _description(metric, level.severity, level.level),
        ),
        origin="levels",
        metric=metric,
        level=level.level,
    )


def level_expr(metric: m.Metric, level: Level) -> str:
    """The condition of one level, on what the metric's levels measure."""
    series = metric.measured
    if level.kind in ("increase", "decrease"):
        baseline = format_duration(metric.levels.baseline or 0 if metric.levels else 0)
        change = level.value or 0.0
        factor = relative_factor(level.kind, change)
        operator = ">" if level.kind == "increase" else "<"
        return f"{series} {operator} {number(factor)} * avg_over_time({metric.series}[{baseline}])"
    low = number(level.value or 0.0)
    if level.kind == "outside":
        return f"{series} < {low} or {series} > {number(level.high or 0.0)}"
    operator = ">" if level.kind == "above" else "<"
    return f"{series} {operator}{'=' if level.inclusive else ''} {low}"


def value_template(metric: m.Metric, level: Level) -> str:
    """How an annotation prints the measured value, in the unit the author thinks in."""
    if level.of_limit:
        return "{{ $value | humanizePercentage }}"
    unit = metric.unit.name if metric.unit else None
    if unit == "bytes" and in_decimal_bytes([level.text], metric.unit):
        return "{{ $value | humanize }}B"  # `> 256MB`: 300MB, as the level counts
    return {
        "ratio": "{{ $value | humanizePercentage }}",
        "percent": "{{ $value | humanize }}%",
        "seconds": "{{ $value | humanizeDuration }}",
        # humanize would write 1k: milliseconds read best as plain digits
        "milliseconds": '{{ printf "%.4g" $value }}ms',
        "bytes": "{{ $value | humanize1024 }}B",
        "usd": "${{ $value | humanize }}",
    }.get(unit or "", "{{ $value | humanize }}")


def _threshold_text(level: Level) -> str:
    return _OPERATOR.sub("", level.text)


def _summary(metric: m.Metric, level: Level) -> str:
    """A summary from the spec's words; they are text, not template code, so escaped."""
    subject = escape(metric.description or metric.name)
    if level.kind in ("increase", "decrease"):
        baseline = format_duration(metric.levels.baseline or 0 if metric.levels else 0)
        return f"{subject}: {escape(level.text)} against its {baseline} average"
    if level.kind == "outside":
        return f"{subject} {escape(level.text)}"
    way = "above" if level.kind == "above" else "below"
    threshold = _threshold_text(level)
    if level.of_limit and "limit" not in threshold:
        threshold += " of the limit"
    return f"{subject} {way} {escape(threshold)}"


def _description(metric: m.Metric, severity: str, level: Level) -> str:
    text = (
        f"{metric.name} is {value_template(metric, level)} ({severity} level: {escape(level.text)}"
    )
    target = metric.levels.target if metric.levels else None
    if target is not None:
        text += f"; target: {escape(target.text)}"
    return text + ")."
