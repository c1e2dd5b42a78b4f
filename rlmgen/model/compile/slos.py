"""Service level objectives: the objective, the period, the SLI as an error ratio over a
rate window, and the page and ticket alerts with their routes."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation

from rlmgen.lang import promql, slo
from rlmgen.lang.units import SERIES_UNITS, UnitError, format_duration, parse_quantity
from rlmgen.model import types as m
from rlmgen.model.compile import references
from rlmgen.model.compile.alerts import check_severity_routed, check_template
from rlmgen.model.compile.labels import rule_labels
from rlmgen.model.compile.references import Declared
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.model.conventions import (
    SEVERITIES,
    SLO_IDENTITY_LABELS,
    SLO_SEVERITY_LABEL,
    slo_dashboard_uid,
)
from rlmgen.model.routing import receiver_for

DEFAULT_PERIOD = 30 * slo.DAY
WINDOW_PLACEHOLDER = "{{.window}}"  # Sloth's, so a raw SLI moves over unchanged
_PLACEHOLDER = re.compile(r"\{\{-?\s*\.window\s*-?\}\}")
_DEFAULT_SEVERITY = {"page": "critical", "ticket": "warning"}


def compile_slos(
    walk: Walk,
    root: Node,
    routing: m.Routing | None,
    declared: Declared,
    metrics: dict[str, m.Metric],
) -> tuple[m.SLO, ...]:
    compiled: list[m.SLO] = []
    seen: dict[str, str] = {}
    if root.items("slos"):
        service = root.mapping("service").text("name") or ""
        uid = slo_dashboard_uid(service)
        for board in root.items("dashboards"):
            if board.text("uid") == uid:
                walk.error(
                    board.at("uid"),
                    f"'{uid}' is the uid of the SLO dashboard rlmgen writes for the SLOs",
                    "give this dashboard another uid",
                    check="dashboards/duplicate-uid",
                )
    for node in root.items("slos"):
        name = node.text("name")
        if name in seen:
            walk.error(
                node.at("name"),
                f"SLO '{name}' is defined twice",
                f"first at line {walk.line_of(seen[name])}",
                check="names/duplicate",
            )
            continue
        if name:
            seen[name] = node.at("name")
        result = _slo(walk, node, routing, declared, metrics)
        if result is None:
            continue
        clash = next((c for c in compiled if c.alert_name == result.alert_name), None)
        if clash is not None and result.alerts and clash.alerts:
            walk.error(
                node.at("alerts") + ("/name" if "name" in node.mapping("alerts") else ""),
                f"the SLOs '{clash.name}' and '{result.name}' would both alert as "
                f"'{result.alert_name}': their alerts and tests would mix",
                "give this SLO its own alerts.name",
                check="names/duplicate",
            )
            continue
        compiled.append(result)
    return tuple(compiled)


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part)


def _slo(
    walk: Walk,
    node: Node,
    routing: m.Routing | None,
    declared: Declared,
    metrics: dict[str, m.Metric],
) -> m.SLO | None:
    name = node.text("name")
    objective = _objective(walk, node)
    period = _period(walk, node)
    sli = _sli(walk, node.mapping("sli"), declared, metrics)
    alerts_node = node.mapping("alerts")
    alerts = _burn_alerts(walk, alerts_node, routing, declared)
    if playbook := alerts_node.text("playbook"):
        references.check_playbook(walk, declared, alerts_node.at("playbook"), playbook)
    summary_ok = all(
        check_template(walk, alerts_node, key, must_render=False)
        for key in ("summary", "description")
    )
    if name is None or objective is None or period is None or sli is None or not summary_ok:
        return None
    _check_pairs(walk, node, 1 - float(objective), period, alerts)
    if walk.strict and alerts and (not sli.inputs or slo.concrete_inputs(sli.inputs) is None):
        why = (
            "a raw SLI's inputs are unknown to rlmgen"
            if not sli.inputs
            else "rlmgen finds no series that its selectors tell apart"
        )
        walk.report(  # at the `sli:` key, where a suppression comment goes
            node.at("sli"),
            f"no generated test proves the alerts of SLO '{name}': {why}",
            "write the SLI as events or latency with plain matchers",
            at_key=True,
            severity="warning",
            check="slo/untested",
        )
    return m.SLO(
        name=name,
        description=node.text("description"),
        objective=float(objective),
        objective_text=node.text("objective") or "",
        period=period,
        sli=sli,
        alert_name=alerts_node.text("name") or f"{camel(name)}ErrorBudgetBurn",
        alerts=alerts,
        labels=_own_labels(walk, alerts_node),
        summary=alerts_node.text("summary"),
        description_template=alerts_node.text("description"),
        playbook=alerts_node.text("playbook"),
        pointer=node.pointer,
    )


def _check_pairs(
    walk: Walk, node: Node, budget: float, period: float, alerts: tuple[m.BurnAlert, ...]
) -> None:
    """A window pair whose threshold is an error ratio of 100% or more can never fire:
    a low objective leaves the fast pairs nothing to detect."""
    for burn in alerts:
        for pair in (b for b in slo.WINDOWS if b.alert == burn.kind):
            limit = pair.factor(period) * budget
            if limit >= 1:
                walk.warning(
                    node.at("objective"),
                    f"the {burn.kind} alert's {format_duration(pair.short)}/"
                    f"{format_duration(pair.long)} pair can never fire: "
                    f"{pair.factor(period):.4g}x a budget of {budget:.4g} is an error ratio "
                    f"of {limit:.4g}, above 100%",
                    "alert a low objective by its ticket, or over a shorter period",
                    check="slo/pair-never-fires",
                )


def _own_labels(walk: Walk, node: Node) -> m.Labels:
    """The alerts' labels: neither rlmgen's nor the SLO's identity (per-SLO inhibition and
    Sloth's dashboards match on them)."""
    labels = rule_labels(walk, node)
    for name in labels:
        if name in SLO_IDENTITY_LABELS or name == SLO_SEVERITY_LABEL:
            walk.error(
                f"{node.at('labels')}/{name}",
                f"the label '{name}' is set from the SLO: this value would be overwritten",
                "choose another label name",
                at_key=True,
                check="labels/reserved",
            )
    return labels


def _objective(walk: Walk, node: Node) -> Decimal | None:
    """The share of good events, exact (99.9% is 0.999, not 0.9990000000000001)."""
    text = node.text("objective")
    if text is None or not text.endswith("%"):
        return None  # the schema pass reported it
    try:
        share = Decimal(text[:-1]) / 100
    except InvalidOperation:
        return None
    if not 0 < share < 1:
        walk.error(
            node.at("objective"),
            f"an objective is above 0% and below 100%, got {text}",
            "100% leaves no error budget to alert on: write 99.9%, 99.99%, ...",
            check="slo/invalid-objective",
        )
        return None
    return share


def _period(walk: Walk, node: Node) -> float | None:
    if "period" not in node:
        return DEFAULT_PERIOD
    period = node.duration("period")
    if period is None:
        return None
    if period % slo.DAY:
        walk.error(
            node.at("period"),
            f"an SLO period is whole days, got {node.value['period']}",
            f"write {max(round(period / slo.DAY), round(slo.LONGEST_WINDOW / slo.DAY))}d",
            check="slo/invalid-period",
        )
        return None
    if period < slo.LONGEST_WINDOW:
        walk.error(
            node.at("period"),
            f"the period {format_duration(period)} is shorter than the longest alert "
            f"window ({format_duration(slo.LONGEST_WINDOW)}): the ticket alert would "
            "read more than the whole period",
            f"use a period of at least {format_duration(slo.LONGEST_WINDOW)}",
            check="slo/invalid-period",
        )
        return None
    return period


def _rate(selector: str) -> str:
    return f"sum(rate({selector}[{{window}}]))"


def _sli(walk: Walk, node: Node, declared: Declared, metrics: dict[str, m.Metric]) -> m.SLI | None:
    if "events" in node:
        return _events(walk, node.mapping("events"), declared)
    if "latency" in node:
        return _latency(walk, node.mapping("latency"), declared, metrics)
    if "raw" in node:
        return _raw(walk, node.mapping("raw"), declared)
    return None


Counted = tuple[str, tuple[str, str, tuple[promql.Matcher, ...]]]  # (selector, input)


def _counter(walk: Walk, node: Node, key: str, declared: Declared) -> Counted | None:
    """A counter's series selector, as events count it, and its name and matchers."""
    query = node.promql(key)
    if query is None:
        return None
    selector = promql.selector_matchers(query.ast)
    if selector is None:
        walk.error(
            node.at(key),
            "events are counted by a counter: give its series selector, such as "
            'http_requests_total{code=~"5.."}',
            "rlmgen writes sum(rate(...[window])) around it",
            check="slo/invalid-sli",
        )
        return None
    references.check_series(walk, declared, node.at(key), query)
    name = query.series[0] if query.series else ""
    base = name.removesuffix("_total")
    if name in declared.gauges or base in declared.gauges:
        walk.error(
            node.at(key),
            f"'{name}' is a gauge: events are counted by a counter, whose rate is events "
            "per second",
            "count the events with a counter (type: counter)",
            check="slo/invalid-sli",
        )
        return None
    if name in declared.histograms or name in declared.summaries:
        walk.error(
            node.at(key),
            f"'{name}' is a {'histogram' if name in declared.histograms else 'summary'}: "
            f"count its events with {name}_count",
            check="slo/invalid-sli",
        )
        return None
    return query.text.strip(), (key, *selector)


def _events(walk: Walk, node: Node, declared: Declared) -> m.SLI | None:
    total = _counter(walk, node, "total", declared)
    if "bad" in node:
        bad = _counter(walk, node, "bad", declared)
        if bad is None or total is None:
            return None
        if bad[1][1:] == total[1][1:]:
            walk.error(
                node.at("bad"),
                "bad and total select the same series: the error ratio is always 1",
                'select the failures, such as requests_total{code=~"5.."}',
                check="slo/invalid-sli",
            )
            return None
        return m.SLI(
            "events",
            f"({_rate(bad[0])})\n/\n({_rate(total[0])})",
            bad=_rate(bad[0]),
            total=_rate(total[0]),
            inputs=(bad[1], total[1]),
        )
    good = _counter(walk, node, "good", declared)
    if good is None or total is None:
        return None
    return m.SLI(
        "events",
        f"1 - (\n({_rate(good[0])})\n/\n({_rate(total[0])})\n)",
        total=_rate(total[0]),
        inputs=(good[1], total[1]),
    )


def _latency(
    walk: Walk, node: Node, declared: Declared, metrics: dict[str, m.Metric]
) -> m.SLI | None:
    name = node.text("histogram")
    threshold = node.text("threshold")
    if name is None or threshold is None:
        return None
    metric = metrics.get(name)
    if metric is None or metric.type != "histogram":
        what = "not a declared metric" if metric is None else f"a {metric.type or 'metric'}"
        walk.error(
            node.at("histogram"),
            f"'{name}' is {what}: a latency SLI counts a histogram's buckets",
            "declare it under metrics with type: histogram and its buckets",
            check="slo/invalid-sli",
        )
        return None
    if not metric.buckets:
        walk.error(
            node.at("threshold"),
            f"'{name}' declares no buckets: rlmgen cannot tell which le holds {threshold}",
            "add buckets: [...] (its le bounds, in its unit) to the metric",
            check="slo/latency-threshold",
        )
        return None
    unit = metric.unit or SERIES_UNITS["seconds"]
    try:
        quantity = parse_quantity(threshold)
    except UnitError as exc:
        walk.error(node.at("threshold"), exc.message, exc.hint, check=exc.check)
        return None
    bound = quantity.in_unit(unit)
    if bound not in metric.buckets:
        below = [b for b in metric.buckets if b < bound]
        above = [b for b in metric.buckets if b > bound]
        nearest = " and ".join(
            f"le={promql.bucket_label(b, walk.targets.prometheus)!r}"
            for b in ([below[-1]] if below else []) + above[:1]
        )
        walk.error(
            node.at("threshold"),
            f"{threshold} is not one of {name}'s buckets ({unit.name}): the nearest are {nearest}",
            "use a bucket bound as the threshold, or add the bucket to the histogram",
            check="slo/latency-threshold",
        )
        return None
    selector = node.labels("selector")
    if "le" in selector:
        walk.error(
            f"{node.at('selector')}/le",
            "the threshold sets le: a selector on le would select no bucket or the wrong one",
            "remove le from the selector",
            at_key=True,
            check="slo/latency-threshold",
        )
        return None
    labels = tuple((k, "=", v) for k, v in selector.items())
    le = ("le", "=", promql.bucket_label(bound, walk.targets.prometheus))
    good = _selector(f"{name}_bucket", (le, *labels))
    total = _selector(f"{name}_count", labels)
    return m.SLI(
        "latency",
        f"1 - (\n({_rate(good)})\n/\n({_rate(total)})\n)",
        total=_rate(total),
        inputs=(("good", f"{name}_bucket", (le, *labels)), ("total", f"{name}_count", labels)),
    )


def _selector(name: str, matchers: tuple[promql.Matcher, ...]) -> str:
    inner = ", ".join(
        f"{label}{operator}{json.dumps(value)}" for label, operator, value in matchers
    )
    return f"{name}{{{inner}}}" if inner else name


def _raw(walk: Walk, node: Node, declared: Declared) -> m.SLI | None:
    text = node.text("errorRatio")
    if text is None:
        return None
    text = _PLACEHOLDER.sub(WINDOW_PLACEHOLDER, text)  # {{ .window }} as Go reads it
    if WINDOW_PLACEHOLDER not in text:
        walk.error(
            node.at("errorRatio"),
            f"the error ratio has no {WINDOW_PLACEHOLDER}: every alert window would read "
            "the same range",
            f"write the range as [{WINDOW_PLACEHOLDER}], as in rate(x[{WINDOW_PLACEHOLDER}])",
            check="slo/invalid-sli",
        )
        return None
    query = promql.analyse(text.replace(WINDOW_PLACEHOLDER, "5m"), walk.targets.prometheus)
    if isinstance(query, promql.PromQLProblem):
        walk.error_in_value(
            node.at("errorRatio"), query.fragment, query.message, query.hint, check=query.check
        )
        return None
    references.check_series(walk, declared, node.at("errorRatio"), query)
    return m.SLI("raw", text.strip().replace(WINDOW_PLACEHOLDER, "{window}"))


def _burn_alerts(
    walk: Walk, node: Node, routing: m.Routing | None, declared: Declared
) -> tuple[m.BurnAlert, ...]:
    found = []
    for kind in ("page", "ticket"):
        alert = node.mapping(kind)
        if alert.flag("disabled", False):
            continue
        severity = alert.text("severity") or _DEFAULT_SEVERITY[kind]
        if severity not in SEVERITIES:
            continue  # the schema pass reported it
        route = alert.text("route")
        if route:
            references.check_receiver(walk, declared, alert.at("route"), route)
        else:
            check_severity_routed(walk, node.at(kind), severity, routing, "give it a route")
        hold = alert.duration("for") or 0.0
        found.append(
            m.BurnAlert(kind, severity, receiver_for(severity, route, routing), hold, alert.pointer)
        )
    return tuple(found)
