"""Hand-written alerts: series, receivers and playbooks resolve; severities route;
no two alerts share a name and labels; `for` is not shorter than evaluation."""

from __future__ import annotations

from typing import Any

from rlmgen.diagnostics import join_pointer
from rlmgen.units import format_duration
from rlmgen.validate.semantic.context import Context, items, text


def check(ctx: Context) -> None:
    groups = list(items(ctx.doc.get("alertGroups"), "/alertGroups"))
    ctx.unique(iter(groups), "name", "alert group")
    raw_service = ctx.doc.get("service")
    service: dict[str, Any] = raw_service if isinstance(raw_service, dict) else {}
    evaluation = ctx.duration(service, "evaluationInterval") or 60.0
    identities: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
    for group_pointer, group in groups:
        group_interval = ctx.duration(group, "interval") or evaluation
        if route := text(group, "route"):
            ctx.check_receiver(join_pointer(group_pointer, "route"), route)
        for pointer, alert in items(group.get("alerts"), join_pointer(group_pointer, "alerts")):
            _check_alert(ctx, pointer, group, alert, group_interval, identities)


def _labels(value: Any) -> dict[str, str]:
    return {k: v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


def _check_alert(
    ctx: Context,
    pointer: str,
    group: dict[str, Any],
    alert: dict[str, Any],
    interval: float,
    identities: dict[Any, str],
) -> None:
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
    hold = ctx.duration(alert, "for")
    if hold is not None and 0 < hold < interval:
        ctx.warning(
            join_pointer(pointer, "for"),
            f"'for: {alert['for']}' is shorter than the evaluation interval "
            f"({format_duration(interval)}), so it cannot hold the alert back",
            f"use at least {format_duration(interval)}, or 0s to fire at once",
        )
    name = text(alert, "name")
    if name:
        labels = {**_labels(group.get("labels")), **_labels(alert.get("labels"))}
        identity = (name, tuple(sorted({**labels, "severity": severity or ""}.items())))
        if identity in identities:
            first = ctx.spec.source_map.value(identities[identity])
            ctx.error(
                join_pointer(pointer, "name"),
                f"alert '{name}' is defined twice with the same labels",
                f"first at line {first[0]}; give them different severities or labels",
            )
        else:
            identities[identity] = join_pointer(pointer, "name")


def _check_severity_routed(ctx: Context, pointer: str, severity: str) -> None:
    routing = ctx.doc.get("routing")
    if not isinstance(routing, dict):
        return
    if text(routing, "default"):
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
