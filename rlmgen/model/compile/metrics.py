"""Metrics: names, units, the recording rule and limit expressions, the levels and the
alert they raise, and the examples that prove the recording rule."""

from __future__ import annotations

from rlmgen.lang import promql
from rlmgen.lang.units import SERIES_UNITS
from rlmgen.model import types as m
from rlmgen.model.compile import labels, references
from rlmgen.model.compile.alerts import check_severity_routed, check_template
from rlmgen.model.compile.examples import (
    check_at_within_inputs,
    check_sample_spacing,
    check_test_clock,
    compile_series,
    example_time,
    labels_not_a_mapping,
    reads_clock,
    sample_interval,
)
from rlmgen.model.compile.levels import check_level_tests, compile_levels
from rlmgen.model.compile.references import Declared
from rlmgen.model.compile.service import check_hold
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.model.conventions import DEFAULT_LEVEL_FOR, level_alert_name
from rlmgen.model.routing import receiver_for, service_labels


def compile_metrics(
    walk: Walk,
    root: Node,
    service: m.Service,
    routing: m.Routing | None,
    declared: Declared,
) -> tuple[m.Metric, ...]:
    entries = root.items("metrics")
    references.unique(walk, entries, "name", "metric")
    references.unique(walk, entries, "record", "recording rule")
    compiled = (_metric(walk, node, service, routing, declared) for node in entries)
    return tuple(metric for metric in compiled if metric is not None)


def _metric(
    walk: Walk, node: Node, service: m.Service, routing: m.Routing | None, declared: Declared
) -> m.Metric | None:
    name = node.text("name")
    unit_name = node.text("unit")
    unit = SERIES_UNITS.get(unit_name) if unit_name else None
    alert_node = node.mapping("alert")
    hold = alert_node.duration("for")
    check_hold(walk, alert_node, "for", hold, service)
    expr = node.promql("expr")
    limit = node.promql("limit")
    for key, query in (("expr", expr), ("limit", limit)):
        if query is not None:
            references.check_series(walk, declared, node.at(key), query)
    if expr is not None and node.value.get("levels"):
        references.check_counters_compared(
            walk, declared, node.at("expr"), expr, "its levels compare", levels=True
        )
    if expr is not None and not references.check_rule_expression(
        walk, node.at("expr"), expr, "a recording rule"
    ):
        expr = None
    if walk.strict and node.text("expr") and not node.value.get("examples"):
        walk.warning(
            node.at("expr"),
            f"recording rule of '{node.value.get('name')}' has no example, so no promtool "
            "test proves what it computes",
            "add examples: input series, at, value",
            check="metrics/untested",
        )
    record = node.text("record")
    if record and expr is not None and reads_clock(expr):
        walk.clock_records.add(record)  # alerts on it read the clock too
    if record and record in declared.metrics:
        walk.error(
            node.at("record"),
            f"recording rule '{record}' has the name of a declared metric",
            "record under a level:metric:operations name",
            check="names/duplicate",
        )
    levels_node = node.mapping("levels")
    levels = compile_levels(walk, levels_node, unit, has_limit=node.text("limit") is not None)
    if levels is not None and levels.alerting() and name and not node.text("expr"):
        _check_levelled_series(walk, node, name)
    playbook = alert_node.text("playbook")
    if playbook:
        references.check_playbook(walk, declared, alert_node.at("playbook"), playbook, warn=True)
    examples = tuple(
        example
        for example_node in node.items("examples")
        if (example := _recording_example(walk, example_node, service.evaluation_interval, expr))
        is not None
    )
    if name is None:
        return None
    alert = _level_alerts(walk, node, name, levels, alert_node, hold, routing, service)
    if alert is not None and record and expr is not None and promql.yields_without_inputs(expr.ast):
        walk.warning(
            node.at("expr"),
            "this recording rule gives a value when none of its input series exists (`or "
            "vector(0)`, `absent`, `time()`...): the generated tests of its levels, which feed "
            "the recorded series, would collide with it, so its levels get none",
            "alert on a missing input with absent() in a hand-written alert, and record what "
            "the inputs give; or prove the rule with its examples",
            check="levels/untestable",
        )
    if alert is not None and levels is not None:
        check_level_tests(walk, levels_node, levels, alert, service.evaluation_interval)
        # every level's generated test renders the summary
        check_template(walk, alert_node, "summary", must_render=True)
    series = record or name
    limit_text = promql.without_comments(limit.text).strip() if limit else None
    limit_series = labels.limit_input(walk, node.at("limit"), limit) if limit else None
    return m.Metric(
        name=name,
        group=node.text("group"),
        description=node.text("description"),
        type=node.text("type"),
        unit=unit,
        expr=expr.text.strip() if expr else None,
        record=record,
        limit=limit_text,
        levels=levels,
        alert=alert,
        examples=examples,
        measured=f"{series} / {labels.parenthesised(limit_text)}"
        if limit_text and alert is not None and alert.levels[0].level.of_limit
        else series,
        labels=node.strings("labels") if "labels" in node else None,
        scrape_labels=node.strings("scrapeLabels") if node.is_list("scrapeLabels") else None,
        limit_input=limit_series,
        buckets=_buckets(walk, node),
        pointer=node.pointer,
    )


def _buckets(walk: Walk, node: Node) -> tuple[float, ...]:
    """A histogram's declared bucket bounds, ascending (its le values)."""
    raw = node.value.get("buckets") if isinstance(node.value, dict) else None
    if not isinstance(raw, list) or not raw:
        return ()
    bounds = tuple(float(b) for b in raw if isinstance(b, int | float) and not isinstance(b, bool))
    if node.text("type") != "histogram":
        walk.error(
            node.at("buckets"),
            "only a histogram has buckets",
            "add type: histogram",
            check="metrics/invalid-buckets",
        )
    elif list(bounds) != sorted(bounds):
        walk.error(
            node.at("buckets"),
            "bucket bounds go in ascending order, as le does",
            check="metrics/invalid-buckets",
        )
    return bounds


def _level_alerts(
    walk: Walk,
    node: Node,
    name: str,
    levels: m.Levels | None,
    alert_node: Node,
    hold: float | None,
    routing: m.Routing | None,
    service: m.Service,
) -> m.LevelAlerts | None:
    if levels is None or not levels.alerting():
        return None
    alerting = levels.alerting()
    for severity, _ in alerting:
        check_severity_routed(walk, f"{node.at('levels')}/{severity}", severity, routing)
    explicit = alert_node.text("name")
    own = labels.rule_labels(walk, alert_node)
    levels_alerting = []
    for severity, level in alerting:
        per_level = alert_node.mapping(severity)
        level_hold = per_level.duration("for")
        check_hold(walk, per_level, "for", level_hold, service)
        level_labels = labels.rule_labels(walk, per_level)
        known = {**service_labels(service), **own, **level_labels}
        levels_alerting.append(
            m.LevelAlert(
                severity,
                level,
                receiver_for(severity, None, routing, known),
                for_seconds=level_hold,
                labels=level_labels,
                pointer=node.at("levels") + "/" + severity,
            )
        )
    for severity in ("info", "warning", "critical"):
        if severity in alert_node and severity not in dict(alerting):
            walk.error(
                alert_node.at(severity),
                f"alert.{severity} sets the {severity} level's alert, but levels has no {severity}",
                f"add levels.{severity}, or remove alert.{severity}",
                at_key=True,
                check="levels/alert-without-level",
            )
    return m.LevelAlerts(
        name=level_alert_name(name, alerting[0][1].kind, explicit),
        name_pointer=alert_node.at("name") if explicit else node.at("name"),
        for_seconds=hold if hold is not None else DEFAULT_LEVEL_FOR,
        summary=alert_node.text("summary"),
        labels=own,
        playbook=alert_node.text("playbook"),
        levels=tuple(levels_alerting),
    )


def _recording_example(
    walk: Walk, node: Node, evaluation: float, expr: promql.Query | None
) -> m.RecordingExample | None:
    series = compile_series(walk, node)
    at = example_time(walk, node, evaluation)
    value = node.number("value")
    valid_interval, interval = sample_interval(walk, node)
    if series is None or at is None or value is None or not valid_interval:
        return None
    check_test_clock(walk, node, series, at, expr)
    check_sample_spacing(walk, node, series, interval, at, expr, evaluation)
    if labels_not_a_mapping(node):
        return None
    if not check_at_within_inputs(walk, node, series, at, interval, expects_output=True):
        return None
    return m.RecordingExample(
        name=node.text("name"),
        interval=interval,
        series=series,
        at=at,
        value=value,
        labels=node.labels("labels"),
        pointer=node.pointer,
    )


def _check_levelled_series(walk: Walk, node: Node, name: str) -> None:
    """Levels compare the metric's own series: a histogram has none by its name, and a
    counter's only grows."""
    kind = node.text("type")
    if kind == "histogram":
        walk.error(
            node.at("levels"),
            f"'{name}' is a histogram: no series is named '{name}', so these levels would "
            "compare nothing",
            "put the levels on a metric computed from it, such as expr: histogram_quantile("
            f"0.99, sum by (le) (rate({name}_bucket[5m]))) with a record",
            at_key=True,
            check="levels/on-histogram",
        )
    elif kind == "counter":
        walk.warning(
            node.at("levels"),
            f"'{name}' is a counter: it only grows, so once past a level its alert fires "
            "until the counter resets",
            f"alert on its rate: a metric with expr: rate({name}[5m]) and a record",
            check="levels/on-counter",
        )
