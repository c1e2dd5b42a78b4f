"""Turn a validated document into the frozen model: defaults applied, units
normalised, references resolved. Only called on documents that passed validation."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Literal

from rlmgen.derive.queries import metric_query
from rlmgen.lang.levels import Level, parse_level
from rlmgen.lang.units import SERIES_UNITS, SeriesUnit, parse_duration, parse_quantity
from rlmgen.model import types as m

DEFAULT_SCRAPE_INTERVAL = 60.0  # Prometheus' own defaults
DEFAULT_EVALUATION_INTERVAL = 60.0
DEFAULT_TIME_FROM = "now-6h"


def _labels(value: dict[str, str] | None) -> m.Labels:
    return MappingProxyType(dict(sorted((value or {}).items())))


def _seconds(value: str | None) -> float | None:
    return parse_duration(value) if value is not None else None


def build_model(data: dict[str, Any], source: str) -> m.Spec:
    service = _service(data["service"])
    metrics = tuple(_metric(raw) for raw in data.get("metrics", []))
    by_name = {metric.name: metric for metric in metrics}
    routing = _routing(data["routing"]) if "routing" in data else None
    return m.Spec(
        source=source,
        service=service,
        metrics=metrics,
        alert_groups=tuple(_alert_group(raw, routing) for raw in data.get("alertGroups", [])),
        routing=routing,
        dashboards=tuple(_dashboard(raw, by_name) for raw in data.get("dashboards", [])),
        autoscaling=tuple(_workload(raw, by_name) for raw in data.get("autoscaling", [])),
        runbook=_runbook(data.get("runbook", {})),
    )


def _service(raw: dict[str, Any]) -> m.Service:
    return m.Service(
        name=raw["name"],
        title=raw["title"],
        description=raw.get("description", ""),
        namespace=raw["namespace"],
        team=raw["team"],
        runbook_url=raw["runbookUrl"].rstrip("/"),
        grafana_url=raw.get("grafanaUrl"),
        labels=_labels(raw.get("labels")),
        scrape_interval=_seconds(raw.get("scrapeInterval")) or DEFAULT_SCRAPE_INTERVAL,
        evaluation_interval=_seconds(raw.get("evaluationInterval")) or DEFAULT_EVALUATION_INTERVAL,
    )


def _metric(raw: dict[str, Any]) -> m.Metric:
    unit = SERIES_UNITS.get(raw["unit"]) if "unit" in raw else None
    alert = raw.get("alert", {})
    return m.Metric(
        name=raw["name"],
        group=raw.get("group"),
        description=raw.get("description"),
        type=raw.get("type"),
        unit=unit,
        expr=raw.get("expr"),
        record=raw.get("record"),
        limit=raw.get("limit"),
        levels=_levels(raw["levels"], unit, "limit" in raw) if "levels" in raw else None,
        alert=m.ThresholdAlertSettings(
            name=alert.get("name"),
            for_seconds=_seconds(alert.get("for")),
            summary=alert.get("summary"),
            labels=_labels(alert.get("labels")),
            playbook=alert.get("playbook"),
        ),
        examples=tuple(
            m.RecordingExample(
                name=example.get("name"),
                interval=_seconds(example.get("interval")),
                series=_series(example["series"]),
                at=parse_duration(example["at"]),
                value=float(example["value"]),
                labels=_labels(example.get("labels")),
            )
            for example in raw.get("examples", [])
        ),
    )


def _series(raw: list[dict[str, str]]) -> tuple[m.ExampleSeries, ...]:
    return tuple(m.ExampleSeries(s["series"].strip(), s["values"].strip()) for s in raw)


def _levels(raw: dict[str, Any], unit: SeriesUnit | None, has_limit: bool) -> m.Levels:
    def level(key: str) -> Level | None:
        if key not in raw:
            return None
        return parse_level(raw[key], unit, has_limit=has_limit, allow_qualitative=key == "target")

    return m.Levels(
        target=level("target"),
        info=level("info"),
        warning=level("warning"),
        critical=level("critical"),
        baseline=_seconds(raw.get("baseline")),
    )


def _alert_group(raw: dict[str, Any], routing: m.Routing | None) -> m.AlertGroup:
    return m.AlertGroup(
        name=raw["name"],
        title=raw.get("title"),
        description=raw.get("description"),
        interval=_seconds(raw.get("interval")),
        alerts=tuple(_alert(alert, raw, routing) for alert in raw["alerts"]),
    )


def receiver_for(severity: str, explicit: str | None, routing: m.Routing | None) -> str | None:
    """The receiver an alert reaches: its own route, else its severity's, else the default."""
    if explicit:
        return explicit
    if routing is None:
        return None
    for receiver in routing.receivers:
        if severity in receiver.severities:
            return receiver.name
    return routing.default


def _alert(raw: dict[str, Any], group: dict[str, Any], routing: m.Routing | None) -> m.Alert:
    severity = raw.get("severity") or group["severity"]
    return m.Alert(
        name=raw["name"],
        group=group["name"],
        expr=raw["expr"].strip(),
        for_seconds=_seconds(raw.get("for")) or 0.0,
        severity=severity,
        receiver=receiver_for(severity, raw.get("route") or group.get("route"), routing),
        labels=_labels({**group.get("labels", {}), **raw.get("labels", {})}),
        summary=raw["summary"],
        description=raw.get("description"),
        meaning=raw.get("meaning"),
        playbook=raw.get("playbook"),
        examples=tuple(_example(example) for example in raw.get("examples", [])),
    )


def _example(raw: dict[str, Any]) -> m.AlertExample:
    return m.AlertExample(
        name=raw.get("name"),
        interval=_seconds(raw.get("interval")),
        series=_series(raw["series"]),
        at=parse_duration(raw["at"]),
        fires=raw.get("fires", True),
        labels=_labels(raw.get("labels")),
        value=float(raw["value"]) if "value" in raw else None,
    )


def _routing(raw: dict[str, Any]) -> m.Routing:
    receivers = []
    for entry in raw["receivers"]:
        kind: Literal["pagerduty", "slack", "email", "webhook"] = next(
            k for k in ("pagerduty", "slack", "email", "webhook") if k in entry
        )
        receivers.append(
            m.Receiver(
                name=entry["name"],
                title=entry.get("title"),
                kind=kind,
                settings=MappingProxyType(dict(sorted(entry[kind].items()))),
                severities=tuple(entry.get("severities", [])),
                group_wait=_seconds(entry.get("groupWait")),
                group_interval=_seconds(entry.get("groupInterval")),
                repeat_interval=_seconds(entry.get("repeatInterval")),
            )
        )
    return m.Routing(
        default=raw.get("default"),
        group_by=tuple(raw.get("groupBy", [])),
        receivers=tuple(receivers),
    )


def _dashboard(raw: dict[str, Any], metrics: dict[str, m.Metric]) -> m.Dashboard:
    rows = []
    if raw.get("panels"):
        rows.append(m.Row(None, False, tuple(_panel(p, metrics) for p in raw["panels"])))
    for row in raw.get("rows", []):
        rows.append(
            m.Row(
                row["title"],
                row.get("collapsed", False),
                tuple(_panel(p, metrics) for p in row["panels"]),
            )
        )
    return m.Dashboard(
        uid=raw["uid"],
        title=raw["title"],
        description=raw.get("description"),
        refresh=_seconds(raw.get("refresh")),
        time_from=raw.get("timeFrom", DEFAULT_TIME_FROM),
        tags=tuple(raw.get("tags", [])),
        variables=tuple(
            m.Variable(
                v["name"],
                v.get("label"),
                v["query"],
                v.get("multi", False),
                v.get("includeAll", False),
            )
            for v in raw.get("variables", [])
        ),
        rows=tuple(rows),
    )


def _panel(raw: dict[str, Any], metrics: dict[str, m.Metric]) -> m.Panel:
    metric = metrics.get(raw["metric"]) if "metric" in raw else None
    if "queries" in raw:
        queries = tuple(m.Query(q["expr"].strip(), q.get("legend")) for q in raw["queries"])
    elif "query" in raw:
        queries = (m.Query(raw["query"].strip(), raw.get("legend")),)
    elif metric is not None:
        queries = (m.Query(metric_query(metric), raw.get("legend")),)
    else:
        queries = ()
    return m.Panel(
        title=raw["title"],
        type=raw["type"],
        description=raw.get("description") or (metric.description if metric else None),
        metric=metric,
        queries=queries,
        unit=raw.get("unit"),
        min=raw.get("min"),
        max=raw.get("max"),
        decimals=raw.get("decimals"),
        content=raw.get("content"),
        width=raw.get("width"),
        height=raw.get("height"),
    )


def _workload(raw: dict[str, Any], metrics: dict[str, m.Metric]) -> m.Workload:
    target = raw["target"]
    behavior = raw.get("behavior", {})
    return m.Workload(
        name=raw["name"],
        title=raw.get("title", raw["name"]),
        target=m.ObjectReference(
            target["kind"], target["name"], target.get("apiVersion", "apps/v1")
        ),
        min_replicas=raw.get("minReplicas", 1),
        max_replicas=raw["maxReplicas"],
        metrics=tuple(_scaling_metric(item, metrics) for item in raw["metrics"]),
        scale_up=_rules(behavior["scaleUp"]) if "scaleUp" in behavior else None,
        scale_down=_rules(behavior["scaleDown"]) if "scaleDown" in behavior else None,
    )


def _scaling_metric(raw: dict[str, Any], metrics: dict[str, m.Metric]) -> m.ScalingMetric:
    source = next(s for s in ("resource", "pods", "external", "object") if s in raw)
    described = None
    if source == "object":
        name = raw["object"]["metric"]
        obj = raw["object"]
        described = m.ObjectReference(obj["kind"], obj["name"], obj.get("apiVersion"))
    else:
        name = raw[source]
    metric = metrics.get(name) if source != "resource" else None
    unit = metric.unit if metric else None
    target_key = next(k for k in ("averageUtilization", "averageValue", "value") if k in raw)
    kind = {"averageUtilization": "Utilization", "averageValue": "AverageValue", "value": "Value"}[
        target_key
    ]
    return m.ScalingMetric(
        source=source,
        name=name,
        metric=metric,
        described_object=described,
        selector=_labels(raw.get("selector")),
        label=raw.get("label", name),
        target=_scaling_target(raw[target_key], kind, unit),  # type: ignore[arg-type]
        scale_down_below=_scaling_target(raw["scaleDownBelow"], kind, unit)  # type: ignore[arg-type]
        if "scaleDownBelow" in raw
        else None,
    )


def _scaling_target(raw: str | int | float, kind: str, unit: SeriesUnit | None) -> m.ScalingTarget:
    quantity = parse_quantity(str(raw))
    if kind == "Utilization":
        value = quantity.base * 100 if quantity.dimension == "fraction" else quantity.base
    else:
        value = quantity.in_unit(unit)
    return m.ScalingTarget(kind, value, str(raw))  # type: ignore[arg-type]


def _rules(raw: dict[str, Any]) -> m.ScalingRules:
    window = _seconds(raw.get("stabilizationWindow"))
    return m.ScalingRules(
        stabilization_window_seconds=int(window) if window is not None else None,
        select_policy=raw.get("selectPolicy"),
        policies=tuple(
            m.ScalingPolicy(p["type"], p["value"], int(parse_duration(p["period"])))
            for p in raw.get("policies", [])
        ),
    )


def _runbook(raw: dict[str, Any]) -> m.Runbook:
    return m.Runbook(
        severity_levels=tuple(
            m.SeverityLevel(s["name"], s["criteria"], s["responseTime"], s["escalation"])
            for s in raw.get("severityLevels", [])
        ),
        playbooks=tuple(
            m.Playbook(
                p["id"],
                p["title"],
                p.get("severity"),
                tuple(m.PlaybookStep(s["step"], s.get("run")) for s in p["steps"]),
            )
            for p in raw.get("playbooks", [])
        ),
        commands=tuple(m.Command(c["description"], c["run"]) for c in raw.get("commands", [])),
        checklists=tuple(
            m.Checklist(c["title"], tuple(c["items"])) for c in raw.get("checklists", [])
        ),
        scheduled_checks=tuple(
            m.ScheduledCheck(
                c["id"],
                c["title"],
                c["section"],
                c["schedule"],
                c.get("run"),
                c.get("script"),
                c.get("expectedOutput"),
            )
            for c in raw.get("scheduledChecks", [])
        ),
        contacts=tuple(
            m.Contact(c["label"], c["value"], c.get("url")) for c in raw.get("contacts", [])
        ),
    )
