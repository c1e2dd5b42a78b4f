"""Autoscaling: replica bounds, metric references and units, scale-down below scale-up,
and the Kubernetes limits on behaviour windows. (The form of each scaling metric,
one source and one fitting target, is the schema's oneOf.)"""

from __future__ import annotations

from typing import Any

from rlmgen.lang.units import UnitError, check_dimension, parse_quantity
from rlmgen.model.validate.semantic.context import Context, items, text
from rlmgen.spec.diagnostics import join_pointer

SOURCES = ("resource", "pods", "external", "object")
_MAX_PERIOD = 1800.0  # Kubernetes: a policy period is at most 30 minutes
_MAX_WINDOW = 3600.0  # Kubernetes: a stabilization window is at most one hour


def check(ctx: Context) -> None:
    workloads = list(items(ctx.doc.get("autoscaling"), "/autoscaling"))
    ctx.unique(iter(workloads), "name", "autoscaled workload")
    for pointer, workload in workloads:
        low, high = workload.get("minReplicas", 1), workload.get("maxReplicas")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            ctx.error(
                join_pointer(pointer, "minReplicas"),
                f"minReplicas ({low}) is above maxReplicas ({high})",
            )
        for metric_pointer, metric in items(
            workload.get("metrics"), join_pointer(pointer, "metrics")
        ):
            _check_metric(ctx, metric_pointer, metric)
        behavior = workload.get("behavior")
        if isinstance(behavior, dict):
            for direction in ("scaleUp", "scaleDown"):
                rules = behavior.get(direction)
                if isinstance(rules, dict):
                    _check_rules(
                        ctx, join_pointer(join_pointer(pointer, "behavior"), direction), rules
                    )


def _check_metric(ctx: Context, pointer: str, metric: dict[str, Any]) -> None:
    sources = [s for s in SOURCES if s in metric]
    targets = [t for t in ("averageUtilization", "averageValue", "value") if t in metric]
    if len(sources) != 1 or len(targets) != 1:
        return  # the schema's oneOf reports the form (source and target) as wrong
    source = sources[0]
    declared: dict[str, Any] | None = None
    name = text(metric, source) if source in ("pods", "external") else None
    if source == "object" and isinstance(metric.get("object"), dict):
        name = text(metric["object"], "metric")
    if name:
        ref = (
            join_pointer(pointer, source)
            if source != "object"
            else join_pointer(join_pointer(pointer, "object"), "metric")
        )
        declared = ctx.check_metric_ref(ref, name)
    for key in ("averageUtilization", "averageValue", "value", "scaleDownBelow"):
        if key in metric:
            _check_quantity(ctx, join_pointer(pointer, key), metric[key], source, key, declared)
    up = _value(metric, targets[0]) if targets else None
    down = _value(metric, "scaleDownBelow")
    if up is not None and down is not None and down >= up:
        ctx.error(
            join_pointer(pointer, "scaleDownBelow"),
            f"scaleDownBelow must be below the scale-up target ({metric[targets[0]]})",
        )


def _value(metric: dict[str, Any], key: str) -> float | None:
    raw = metric.get(key)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None
    try:
        return parse_quantity(str(raw)).base
    except UnitError:
        return None


def _check_quantity(
    ctx: Context, pointer: str, raw: Any, source: str, key: str, declared: dict[str, Any] | None
) -> None:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return
    try:
        quantity = parse_quantity(str(raw))
    except UnitError:
        return  # reported by the schema pass
    utilization = key == "averageUtilization" or (source == "resource" and key == "scaleDownBelow")
    if utilization:
        percent = quantity.base * 100 if quantity.dimension == "fraction" else quantity.base
        if quantity.dimension not in ("fraction", None) or not 0 < percent <= 100:
            ctx.error(
                pointer,
                f"utilization {raw!r} must be a percentage in (0, 100]",
                "write it like 70%",
            )
        return
    if quantity.base <= 0 and key != "scaleDownBelow":
        ctx.error(pointer, f"{key} must be above zero, got {raw!r}")
    if declared is not None:
        try:
            check_dimension(quantity, ctx.unit_of(declared), str(raw))
        except UnitError as exc:
            ctx.error(pointer, exc.message, exc.hint)


def _check_rules(ctx: Context, pointer: str, rules: dict[str, Any]) -> None:
    window = ctx.duration(rules, "stabilizationWindow")
    if window is not None and window > _MAX_WINDOW:
        ctx.error(
            join_pointer(pointer, "stabilizationWindow"),
            "Kubernetes allows a stabilization window of at most 1h",
        )
    for policy_pointer, policy in items(rules.get("policies"), join_pointer(pointer, "policies")):
        period = ctx.duration(policy, "period")
        if period is None:
            continue
        if period < 1:
            ctx.error(
                join_pointer(policy_pointer, "period"),
                "a scaling policy's period must be at least 1s",
            )
        elif period > _MAX_PERIOD:
            ctx.error(
                join_pointer(policy_pointer, "period"),
                "Kubernetes allows a scaling policy period of at most 30m",
            )
        elif period != int(period):
            ctx.error(join_pointer(policy_pointer, "period"), "a period is whole seconds")
