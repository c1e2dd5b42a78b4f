"""`health:` what `rlmgen health` reads from a live Prometheus and judges: metrics by their
levels, or a value several alerts compare (an error rate that warns at 1% and pages at
5%) by the thresholds of those alerts, so that no level is written twice."""

from __future__ import annotations

from rlmgen.lang.display import format_value, written_display
from rlmgen.lang.levels import Level, LevelKind
from rlmgen.lang.units import SERIES_UNITS, SeriesUnit, format_duration
from rlmgen.model import types as m
from rlmgen.model.compile import references
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.spec.suggest import did_you_mean

_SEVERITIES = ("info", "warning", "critical")


def compile_health(
    walk: Walk, root: Node, metrics: tuple[m.Metric, ...], alerts: tuple[m.Alert, ...]
) -> m.Health:
    node = root.mapping("health")
    url = node.text("prometheusUrl")
    if "checks" not in node:
        judged = (metric_check(metric, None, metric.pointer) for metric in metrics)
        return m.Health(tuple(c for c in judged if c is not None), url)
    items = node.items("checks")
    references.unique(walk, items, "label", "health check")
    by_name = {metric.name: metric for metric in metrics}
    by_alert = {alert.name: alert for alert in alerts}
    checks = []
    for item in items:
        if ("metric" in item) == ("alerts" in item):
            walk.error(
                item.pointer,
                "a health check reads either 'metric' or 'alerts'",
                "metric: judges a metric by its levels; alerts: judges the value hand-written "
                "alerts compare by their thresholds",
                at_key=True,
                check="health/invalid-check",
            )
            continue
        check = (
            _of_metric(walk, item, by_name)
            if "metric" in item
            else _of_alerts(walk, item, by_alert, metrics)
        )
        if check is not None:
            checks.append(check)
    return m.Health(tuple(checks), url, chosen=True)


def metric_check(metric: m.Metric, label: str | None, pointer: str) -> m.HealthCheck | None:
    """A metric judged by its levels; None when no level is a number to judge by."""
    levels = metric.levels
    if levels is None or not any(
        level is not None and level.value is not None
        for level in (levels.target, levels.info, levels.warning, levels.critical)
    ):
        return None
    written = levels.written()  # the alerting levels' unit first: read against them
    absolute = [lv for lv in (levels.target, *dict(levels.alerting()).values()) if lv]
    of_limit = any(level.of_limit for level in absolute)
    display, decimals = written_display(written, None if of_limit else metric.unit)
    change_query = None
    if any(level.kind in ("increase", "decrease") for _, level in levels.alerting()):
        baseline = format_duration(levels.baseline or 0)
        change_query = f"{metric.measured} / avg_over_time({metric.series}[{baseline}])"
    return m.HealthCheck(
        label=label or metric.description or metric.name,
        query=metric.measured,
        levels=levels,
        unit=None if of_limit else metric.unit,
        display="%" if of_limit else display,
        decimals=decimals,
        change_query=change_query,
        metric=metric.name,
        pointer=pointer,
    )


def _of_metric(walk: Walk, item: Node, by_name: dict[str, m.Metric]) -> m.HealthCheck | None:
    name = item.text("metric") or ""
    metric = by_name.get(name)
    if metric is None:
        walk.error(
            item.at("metric"),
            f"'{name}' is not a declared metric",
            did_you_mean(name, by_name) or "declare it under metrics",
            check="references/unknown-metric",
        )
        return None
    if "unit" in item:
        walk.error(
            item.at("unit"),
            "a metric's check reads the metric's own unit",
            f"remove unit, or set unit on the metric {name}",
            at_key=True,
            check="health/invalid-check",
        )
    check = metric_check(metric, item.text("label"), item.pointer)
    if check is None:
        walk.error(
            item.at("metric"),
            f"the metric {name} has no level with a number to judge its value by",
            "give it levels (target, warning, critical), or check the alerts that watch it",
            check="health/invalid-check",
        )
    return check


def _of_alerts(
    walk: Walk, item: Node, by_alert: dict[str, m.Alert], metrics: tuple[m.Metric, ...]
) -> m.HealthCheck | None:
    label = item.text("label")
    if label is None:
        walk.error(
            item.pointer,
            "a check of alerts needs a label: what the value is",
            at_key=True,
            check="health/invalid-check",
        )
    unit = SERIES_UNITS.get(item.text("unit") or "")
    display, decimals = written_display((), unit)
    levels: dict[str, Level] = {}
    measured: dict[str, str] = {}  # left side of the comparison -> the first alert comparing it
    named: list[str] = []
    names = item.value.get("alerts")
    for position, name in enumerate(names if isinstance(names, list) else []):
        pointer = f"{item.at('alerts')}/{position}"
        if not isinstance(name, str):
            continue
        alert = by_alert.get(name)
        if alert is None:
            raised_by = next(
                (x.name for x in metrics if x.alert is not None and x.alert.name == name), None
            )
            walk.error(
                pointer,
                f"'{name}' is not a hand-written alert",
                f"its levels belong to the metric {raised_by}: check `metric: {raised_by}`"
                if raised_by
                else did_you_mean(name, by_alert) or "name alerts of alertGroups",
                check="references/unknown-alert",
            )
            continue
        side = _compared(alert, unit, display)
        if side is None:
            walk.error(
                pointer,
                f"the alert {name} does not compare a value with a number (`expr > 0.05`)",
                "name alerts whose expression ends in a comparison with a number",
                check="health/unusable-alerts",
            )
            continue
        query, level = side
        if alert.severity not in _SEVERITIES:
            walk.error(
                pointer,
                f"the alert {name} has severity '{alert.severity}'",
                "",
                check="health/unusable-alerts",
            )
            continue
        if alert.severity in levels:
            walk.error(
                pointer,
                f"two alerts of severity {alert.severity} in one check",
                "name one alert per severity: the check's levels are their thresholds",
                check="health/unusable-alerts",
            )
            continue
        if measured and query not in measured:
            other = next(iter(measured.values()))
            walk.error(
                pointer,
                f"the alert {name} compares `{query}`, the alert {other} `{next(iter(measured))}`",
                "a check judges one value: name alerts that compare the same expression",
                check="health/unusable-alerts",
            )
            continue
        levels[alert.severity] = level
        measured.setdefault(query, name)
        named.append(name)
    if not levels or label is None:
        return None
    return m.HealthCheck(
        label=label,
        query=next(iter(measured)),
        levels=m.Levels(
            None, levels.get("info"), levels.get("warning"), levels.get("critical"), None
        ),
        unit=unit,
        display=display,
        decimals=decimals,
        alerts=tuple(named),
        pointer=item.pointer,
    )


def _compared(alert: m.Alert, unit: SeriesUnit | None, display: str) -> tuple[str, Level] | None:
    """(the value the alert compares, as PromQL; its threshold as a level, written in
    the check's display unit: `> 0.05` of a ratio reads `> 5%`)."""
    if alert.comparison is None or alert.compared is None:
        return None
    operator, value = alert.comparison
    left = alert.compared
    kind: LevelKind = "above" if operator.startswith(">") else "below"
    text = f"{operator} {format_value(value, unit, display)}"
    return left, Level(text, kind, value, inclusive=operator.endswith("="))
