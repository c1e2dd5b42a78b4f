"""Hand-written alerts: series, receivers and playbooks resolve; severities route; no
two alerts share a name and labels; `for` can hold an alert back; annotations are
templates rlmgen can render for the promtool tests its examples become."""

from __future__ import annotations

import re
from typing import Any

from rlmgen.lang import promql, promtemplate
from rlmgen.model.validate.semantic.context import Context, items, text
from rlmgen.spec.diagnostics import join_pointer

ANNOTATIONS = ("summary", "description")
_VALUES_TOKEN = re.compile(
    r"^(?:_|stale|_x\d+|[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:[-+](?:\d+(?:\.\d*)?|\.\d+)"
    r"(?:[eE][-+]?\d+)?x\d+|x\d+)?|[-+]?(?:Inf|NaN))$"
)


def check(ctx: Context) -> None:
    groups = list(items(ctx.doc.get("alertGroups"), "/alertGroups"))
    ctx.unique(iter(groups), "name", "alert group")
    minimum, which = ctx.min_hold()
    for group_pointer, group in groups:
        if route := text(group, "route"):
            ctx.check_receiver(join_pointer(group_pointer, "route"), route)
        for pointer, alert in items(group.get("alerts"), join_pointer(group_pointer, "alerts")):
            _check_alert(ctx, pointer, group, alert)
            ctx.check_hold(join_pointer(pointer, "for"), alert.get("for"), minimum, which)


def labels_of(value: Any) -> dict[str, str]:
    return {k: v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


def _check_alert(ctx: Context, pointer: str, group: dict[str, Any], alert: dict[str, Any]) -> None:
    if expr := text(alert, "expr"):
        ctx.check_series(join_pointer(pointer, "expr"), expr)
    severity = text(alert, "severity") or text(group, "severity")
    if severity is None:
        ctx.error(
            pointer,
            "alert has no severity",
            "set severity on the alert or on its group",
            at_key=True,
        )
    route = text(alert, "route")
    if route:
        ctx.check_receiver(join_pointer(pointer, "route"), route)
    elif severity and not text(group, "route"):
        _check_severity_routed(ctx, pointer, severity)
    if playbook := text(alert, "playbook"):
        ctx.check_playbook(join_pointer(pointer, "playbook"), playbook)
    if name := text(alert, "name"):
        labels = {**labels_of(group.get("labels")), **labels_of(alert.get("labels"))}
        ctx.register_alert(
            join_pointer(pointer, "name"), name, {**labels, "severity": severity or ""}
        )
    predictable = _check_templates(ctx, pointer, alert)
    examples = list(items(alert.get("examples"), join_pointer(pointer, "examples")))
    for example_pointer, example in examples:
        _check_example(ctx, example_pointer, example, alert, predictable)
    if ctx.strict and not examples and name:
        ctx.warning(
            pointer,
            f"alert '{name}' has no example, so no promtool test proves it fires",
            "add examples: input series, the time 'at', and whether it fires",
        )


def _check_templates(ctx: Context, pointer: str, alert: dict[str, Any]) -> bool:
    """Whether rlmgen can render every annotation (to write the tests' expectations)."""
    predictable = True
    for key in ANNOTATIONS:
        value = text(alert, key)
        if value is None:
            continue
        if value.count("{{") != value.count("}}"):
            ctx.error(
                join_pointer(pointer, key),
                "unbalanced '{{' and '}}' in the template",
                "Prometheus would refuse the rule",
            )
            predictable = False
            continue
        try:
            promtemplate.check(value)
        except promtemplate.UnsupportedTemplate as exc:
            predictable = False
            if any(e.get("fires", True) for _, e in items(alert.get("examples"), "")):
                ctx.error_at(
                    join_pointer(pointer, key),
                    str(exc),
                    f"rlmgen cannot predict '{{{{ {exc} }}}}' for this alert's promtool test",
                    "use $value (piped to humanize, humanizePercentage, humanizeDuration or "
                    "humanize1024) and $labels.<name>",
                )
    return predictable


def _check_example(
    ctx: Context, pointer: str, example: dict[str, Any], alert: dict[str, Any], predictable: bool
) -> None:
    for series_pointer, series in items(example.get("series"), join_pointer(pointer, "series")):
        selector = text(series, "series")
        if selector and promql.check(selector) is None and not _is_plain_selector(selector):
            ctx.error(
                join_pointer(series_pointer, "series"),
                'an input series is a plain selector such as name{label="value"}',
            )
        values = series.get("values")
        if isinstance(values, str):
            bad = next((t for t in values.split() if not _VALUES_TOKEN.match(t)), None)
            if bad is not None:
                ctx.error_at(
                    join_pointer(series_pointer, "values"),
                    bad,
                    f"'{bad}' is not promtool series notation",
                    "write values like 1 2 3, 0+60x20 (start+step x count), _ or stale",
                )
    fires = example.get("fires", True)
    prints_value = any(promtemplate.uses_value(v) for k in ANNOTATIONS if (v := text(alert, k)))
    if fires is True and predictable and prints_value and "value" not in example:
        ctx.error(
            pointer,
            "this example fires and the alert's annotations print $value: give "
            "the value the expression has at 'at'",
            "add value: <number>",
            at_key=True,
        )


def _is_plain_selector(selector: str) -> bool:
    import promql_parser

    node = promql.parse(selector)
    return (
        isinstance(node, promql_parser.VectorSelector) and node.offset is None and node.at is None
    )


def _check_severity_routed(ctx: Context, pointer: str, severity: str) -> None:
    routing = ctx.doc.get("routing")
    if not isinstance(routing, dict) or text(routing, "default"):
        return
    for receiver in ctx.receivers.values():
        severities = receiver.get("severities")
        if isinstance(severities, list) and severity in severities:
            return
    ctx.error(
        pointer,
        f"no receiver takes severity '{severity}', so this alert would reach no one",
        "add the severity to a receiver's severities, set routing.default, or give the "
        "alert a route",
        at_key=True,
    )
