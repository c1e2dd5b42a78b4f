"""Hand-written alerts: series, receivers and playbooks resolve, severities route, `for`
can hold an alert back, and annotations are templates rlmgen can render for the promtool
tests its examples become."""

from __future__ import annotations

import re
from types import MappingProxyType

from rlmgen.lang import gotemplate, promql, promtemplate
from rlmgen.lang.units import UnitError, format_duration, parse_duration
from rlmgen.model import types as m
from rlmgen.model.compile import references
from rlmgen.model.compile.examples import (
    check_at_within_inputs,
    check_sample_spacing,
    check_test_clock,
    compile_series,
    example_time,
    labels_not_a_mapping,
    sample_interval,
)
from rlmgen.model.compile.labels import rule_labels
from rlmgen.model.compile.references import Declared
from rlmgen.model.compile.service import check_hold
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.model.conventions import SEVERITIES
from rlmgen.model.routing import default_receiver, receiver_for, service_labels

ANNOTATIONS = ("summary", "description")
_PREDICTABLE_HINT = (
    "use $value (piped to humanize, humanizePercentage, humanizeDuration or humanize1024, "
    'or as printf "%.2f" $value) and $labels.<name>'
)


def compile_alert_groups(
    walk: Walk,
    root: Node,
    service: m.Service,
    routing: m.Routing | None,
    declared: Declared,
) -> tuple[m.AlertGroup, ...]:
    groups = root.items("alertGroups")
    references.unique(walk, groups, "name", "alert group")
    compiled = []
    for group in groups:
        if route := group.text("route"):
            references.check_receiver(walk, declared, group.at("route"), route)
        interval = group.duration("interval")
        alerts = [
            alert
            for node in group.items("alerts")
            if (alert := _alert(walk, node, group, service, routing, declared)) is not None
        ]
        if name := group.text("name"):
            compiled.append(
                m.AlertGroup(
                    name=name,
                    title=group.text("title"),
                    description=group.text("description"),
                    interval=interval,
                    alerts=tuple(alerts),
                )
            )
    return tuple(compiled)


def _alert(
    walk: Walk,
    node: Node,
    group: Node,
    service: m.Service,
    routing: m.Routing | None,
    declared: Declared,
) -> m.Alert | None:
    expr = node.promql("expr")
    if expr is not None:
        references.check_series(walk, declared, node.at("expr"), expr)
        references.check_counters_compared(
            walk, declared, node.at("expr"), expr, "the alert compares"
        )
        if not references.check_rule_expression(walk, node.at("expr"), expr, "an alert"):
            expr = None
    severity = node.text("severity") or group.text("severity")
    if severity is None:
        walk.error(
            node.pointer,
            "alert has no severity",
            "set severity on the alert or on its group",
            at_key=True,
            check="alerts/no-severity",
        )
    route = node.text("route")
    if route:
        references.check_receiver(walk, declared, node.at("route"), route)
    elif severity and not group.text("route"):
        check_severity_routed(walk, node.pointer, severity, routing, "give the alert a route")
    if playbook := node.text("playbook"):
        references.check_playbook(walk, declared, node.at("playbook"), playbook)
    examples_fire = any(e.flag("fires", True) for e in node.items("examples"))
    predictable = all(
        check_template(walk, node, key, must_render=examples_fire) for key in ANNOTATIONS
    )
    prints_value = any(
        promtemplate.uses_value(text) for key in ANNOTATIONS if (text := node.text(key))
    )
    examples = []
    for example_node in node.items("examples"):
        example = _example(
            walk,
            example_node,
            service.evaluation_interval,
            expr,
            _quiet_duration(node.value.get("for")),
        )
        if example is None:
            continue
        if example.fires and predictable and prints_value and example.value is None:
            walk.error(
                example_node.pointer,
                "this example fires and the alert's annotations print $value: give "
                "the value the expression has at 'at'",
                "add value: <number>",
                at_key=True,
                check="examples/missing-value",
            )
        examples.append(example)
    name = node.text("name")
    if walk.strict and not node.items("examples") and name:
        walk.warning(
            node.pointer,
            f"alert '{name}' has no example, so no promtool test proves it fires",
            "add examples: input series, the time 'at', and whether it fires",
            check="alerts/untested",
        )
    hold = node.duration("for")
    check_hold(walk, node, "for", hold, service)
    for example in examples:
        if example.fires and hold and example.at < hold:
            walk.error(
                f"{example.pointer}/at",
                f"this example expects the alert firing at {format_duration(example.at)}, "
                f"but 'for: {node.value['for']}' keeps it pending until "
                f"{format_duration(hold)} at the earliest",
                f"check it at {format_duration(hold)} or later (with inputs that run that "
                "long), or shorten 'for'",
                check="examples/fires-before-for",
            )
    summary = node.text("summary")
    group_name = group.text("name")
    if name is None or expr is None or severity is None or summary is None or not group_name:
        return None
    explicit_route = route or group.text("route")
    merged_labels = _merged_labels(walk, group, node)
    return m.Alert(
        name=name,
        group=group_name,
        expr=expr.text.strip(),
        for_seconds=hold or 0.0,
        severity=severity,
        receiver=receiver_for(
            severity, explicit_route, routing, {**service_labels(service), **merged_labels}
        ),
        labels=merged_labels,
        summary=summary,
        description=node.text("description"),
        meaning=node.text("meaning"),
        playbook=node.text("playbook"),
        examples=tuple(examples),
        comparison=promql.comparison(expr.ast),
        compared=promql.compared_side(expr.ast),
        pointer=node.pointer,
    )


def _merged_labels(walk: Walk, group: Node, alert: Node) -> m.Labels:
    """The group's labels overlaid with the alert's own, sorted by name."""
    merged = {**rule_labels(walk, group), **rule_labels(walk, alert)}
    return MappingProxyType(dict(sorted(merged.items())))


# `$labels.pod` or `$value` in an annotation's text, outside any {{ }} action.
_OUTSIDE_ACTION = re.compile(r"\$(?:labels\.[a-zA-Z_][a-zA-Z0-9_]*|value\b|externalLabels\.\w+)")


def _blanked(action: re.Match[str]) -> str:
    """An action replaced by as many spaces: what is left is the template's text."""
    return " " * len(action.group())


def check_template(walk: Walk, node: Node, key: str, *, must_render: bool) -> bool:
    """Whether rlmgen can render the annotation template under `key` (to write a test's
    expectations); reported when it must be rendered and cannot be."""
    value = node.text(key)
    if value is None:
        return True
    if promtemplate.unbalanced(value):
        walk.error(
            node.at(key),
            "unbalanced '{{' and '}}' in the template",
            "Prometheus would refuse the rule",
            check="templates/invalid",
        )
        return False
    if outside := _OUTSIDE_ACTION.search(re.sub(r"\{\{.*?\}\}", _blanked, value, flags=re.S)):
        walk.warning_in_value(
            node.at(key),
            outside.group(),
            f"'{outside.group()}' is outside {{{{ }}}}: the notification shows it as written",
            f"write {{{{ {outside.group()} }}}}",
            check="templates/outside-action",
        )
    if (problem := gotemplate.check(value)) is not None:
        walk.error_in_value(
            node.at(key),
            problem.fragment,
            f"{problem.message}: Prometheus refuses the rule",
            problem.hint,
            check="templates/invalid",
        )
        return False
    try:
        promtemplate.check(value)
    except promtemplate.UnsupportedTemplate as exc:
        if must_render:
            walk.error_in_value(
                node.at(key),
                str(exc),
                f"rlmgen cannot predict '{{{{ {exc} }}}}' for this alert's promtool test",
                _PREDICTABLE_HINT,
                check="templates/unpredictable",
            )
        return False
    return True


def _example(
    walk: Walk, node: Node, evaluation: float, expr: promql.Query | None, hold: float
) -> m.AlertExample | None:
    series = compile_series(walk, node)
    at = example_time(walk, node, evaluation)
    valid_interval, interval = sample_interval(walk, node)
    if series is None or at is None or not valid_interval or labels_not_a_mapping(node):
        return None
    check_test_clock(walk, node, series, at, expr)
    check_sample_spacing(walk, node, series, interval, at, expr, evaluation, hold)
    fires = node.flag("fires", True)
    reads_absence = expr is not None and "absent" in expr.text
    if not reads_absence and not check_at_within_inputs(walk, node, series, at, interval, fires):
        return None
    return m.AlertExample(
        name=node.text("name"),
        interval=interval,
        series=series,
        at=at,
        fires=node.flag("fires", True),
        labels=node.labels("labels"),
        value=node.number("value"),
        pointer=node.pointer,
    )


def _quiet_duration(written: object) -> float:
    """Seconds of a duration, 0 when it is none (reported where it is read)."""
    try:
        return parse_duration(written) if isinstance(written, str) else 0.0
    except UnitError:
        return 0.0


def check_severity_routed(
    walk: Walk, pointer: str, severity: str, routing: m.Routing | None, other_fix: str = ""
) -> None:
    """An alert without a route reaches the receiver of its severity; when no receiver
    takes it and no default is named, Alertmanager's root route takes it (the first
    receiver): said, since it is rarely meant. Not for a misspelt severity, the alert's or
    a receiver's: the schema's error says what to fix, and this would be a second line
    about the same typo."""
    if routing is None or not routing.receivers or routing.default:
        return
    listed = {s for receiver in routing.receivers for s in receiver.severities}
    if severity not in SEVERITIES or not listed.issubset(SEVERITIES):
        return
    if any(severity in receiver.severities for receiver in routing.receivers):
        return
    walk.warning(
        pointer,
        f"no receiver takes severity '{severity}': these alerts reach the root route's "
        f"receiver, '{default_receiver(routing)}', the first one",
        "add the severity to a receiver's severities"
        + (f", set routing.default, or {other_fix}" if other_fix else ", or set routing.default"),
        check="routing/unrouted-severity",
    )
