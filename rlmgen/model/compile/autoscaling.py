"""Autoscaling: replica bounds, metric references and units, scale-down below scale-up,
and the Kubernetes limits on behaviour windows. (The form of each scaling metric, one
source and one fitting target, is the schema's oneOf.)"""

from __future__ import annotations

import math
from typing import Literal, cast

from rlmgen.lang.units import (
    Quantity,
    SeriesUnit,
    UnitError,
    check_dimension,
    parse_kubernetes_quantity,
    parse_quantity,
)
from rlmgen.model import types as m
from rlmgen.model.compile import references
from rlmgen.model.compile.references import Declared
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.model.conventions import (
    DEFAULT_MIN_REPLICAS,
    DEFAULT_TARGET_API_VERSION,
    adapter_labels,
)

SOURCES = ("resource", "pods", "external", "object")
TARGETS = {"averageUtilization": "Utilization", "averageValue": "AverageValue", "value": "Value"}
_MAX_PERIOD = 1800.0  # Kubernetes: a policy period is at most 30 minutes
_MAX_QUANTITY = 2**63 - 1  # Kubernetes: a quantity is an int64 of its base unit
_MAX_WINDOW = 3600.0  # Kubernetes: a stabilization window is at most one hour
_BINARY_SUFFIXES = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")  # of bytes, not of cores


def compile_autoscaling(
    walk: Walk, root: Node, metrics: dict[str, m.Metric], declared: Declared
) -> tuple[m.Workload, ...]:
    nodes = root.items("autoscaling")
    references.unique(walk, nodes, "name", "autoscaled workload")
    workloads = (_workload(walk, node, metrics, declared) for node in nodes)
    return tuple(w for w in workloads if w is not None)


def _workload(
    walk: Walk, node: Node, metrics: dict[str, m.Metric], declared: Declared
) -> m.Workload | None:
    low = node.integer("minReplicas") if "minReplicas" in node else DEFAULT_MIN_REPLICAS
    high = node.integer("maxReplicas")
    if low is not None and high is not None and low > high:
        walk.error(
            node.at("minReplicas"),
            f"minReplicas ({low}) is above maxReplicas ({high})",
            check="autoscaling/replica-bounds",
        )
    scaling = [_scaling_metric(walk, item, metrics, declared) for item in node.items("metrics")]
    behavior = node.mapping("behavior")
    up, down = (_rules(walk, behavior.get(key)) for key in ("scaleUp", "scaleDown"))
    target = node.mapping("target")
    name, kind, target_name = node.text("name"), target.text("kind"), target.text("name")
    if (
        name is None
        or kind is None
        or target_name is None
        or low is None
        or high is None
        or not scaling
        or None in scaling
    ):
        return None
    return m.Workload(
        name=name,
        title=node.text("title") or name,
        target=m.ObjectReference(
            kind, target_name, target.text("apiVersion") or DEFAULT_TARGET_API_VERSION
        ),
        min_replicas=low,
        max_replicas=high,
        metrics=tuple(s for s in scaling if s is not None),
        scale_up=up,
        scale_down=down,
    )


def _scaling_metric(
    walk: Walk, node: Node, metrics: dict[str, m.Metric], declared: Declared
) -> m.ScalingMetric | None:
    sources = [s for s in SOURCES if s in node]
    targets = [t for t in TARGETS if t in node]
    if len(sources) != 1 or len(targets) != 1:
        for key in (*TARGETS, "scaleDownBelow"):  # their own problems, reported still
            if key in node:
                _quantity(walk, node, key)
        return None  # the schema's oneOf reports the form (source and target) as wrong
    source, target_key = sources[0], targets[0]
    described = None
    if source == "object":
        obj = node.mapping("object")
        name, name_pointer = obj.text("metric"), obj.at("metric")
        if obj.text("kind") and obj.text("name"):
            described = m.ObjectReference(
                obj.text("kind") or "", obj.text("name") or "", obj.text("apiVersion")
            )
    else:
        name, name_pointer = node.text(source), node.at(source)
    metric = None
    if (
        name
        and source != "resource"
        and references.check_metric(walk, declared, name_pointer, name)
    ):
        metric = metrics.get(name)
    if metric is not None and source != "resource":
        _check_served(walk, name_pointer, metric, source, described)
    unit = metric.unit if metric else None
    quantities = {
        key: _resource_quantity(walk, node, key, node.text("resource"))
        if source == "resource" and key in ("averageValue", "value")
        else _quantity(walk, node, key, unit, ambiguous_m=source != "resource")
        for key in (*TARGETS, "scaleDownBelow")
        if key in node
    }
    target = _target(walk, node, target_key, quantities, source, target_key, unit)
    scale_down = (
        _target(walk, node, "scaleDownBelow", quantities, source, target_key, unit)
        if "scaleDownBelow" in node
        else None
    )
    if target is not None and scale_down is not None and scale_down.value >= target.value:
        walk.error(
            node.at("scaleDownBelow"),
            f"scaleDownBelow must be below the scale-up target ({node.value[target_key]})",
            check="autoscaling/invalid-target",
        )
    if name is None or target is None or ("scaleDownBelow" in node and scale_down is None):
        return None
    if source == "object" and described is None:
        return None
    return m.ScalingMetric(
        source=cast(Literal["resource", "pods", "external", "object"], source),
        name=name,
        metric=metric,
        described_object=described,
        selector=node.labels("selector"),
        label=node.text("label") or name,
        target=target,
        scale_down_below=scale_down,
    )


def _check_served(
    walk: Walk,
    pointer: str,
    metric: m.Metric,
    source: str,
    described: m.ObjectReference | None,
) -> None:
    """The metrics adapter finds a metric's series by the labels that name their
    Kubernetes objects: series without them never reach the HPA."""
    labels = metric.series_labels
    needed = adapter_labels(source, described.kind if described else None)
    missing = [label for label in needed if label not in labels.names]
    if not labels.exact or not missing:
        return
    walk.error(
        pointer,
        f"the metrics adapter serves '{metric.name}' by its {', '.join(needed)} labels, and "
        f"its series carry no {', '.join(missing)} (they carry {labels.shown()}): the HPA "
        "would never get a value",
        "a Kubernetes scrape adds namespace and pod: list them in service.scrapeLabels"
        + (", and keep them in the metric's expr" if metric.record else ""),
        check="autoscaling/unserved-metric",
    )


def _quantity(
    walk: Walk,
    node: Node,
    key: str,
    unit: SeriesUnit | None = None,
    *,
    ambiguous_m: bool = False,
) -> Quantity | None:
    """A target in rlmgen's units. For a custom metric's value (`ambiguous_m`): Kubernetes
    writes milli as `m`, which rlmgen reads as minutes; where both readings fit the metric
    (a duration, or no unit), the text is refused with both."""
    raw = node.value.get(key)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None  # the schema pass reported the type
    text = str(raw)
    try:
        quantity = parse_quantity(text)
    except UnitError as exc:
        walk.error(node.at(key), exc.message, exc.hint, check=exc.check)
        return None
    ends_in_m = ambiguous_m and key != "averageUtilization" and text.strip().endswith("m")
    milli = parse_kubernetes_quantity(text) if ends_in_m else None
    if milli is None or quantity.dimension != "time":
        return quantity
    if unit is not None and unit.dimension != "time":  # only Kubernetes' reading fits
        return Quantity(milli, None)
    minutes = text.strip()[:-1].strip()
    thousandths = f"{milli:g} (a plain number, in the metric's unit)"
    walk.error(
        node.at(key),
        f"{text!r} reads two ways: {minutes} minutes (rlmgen's m) or {milli:g} "
        "(Kubernetes' m, thousandths)",
        f"write {_clean_number(quantity.base)}s for {minutes} minutes, or {thousandths}",
        check="autoscaling/ambiguous-quantity",
    )
    return None


def _clean_number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _resource_quantity(walk: Walk, node: Node, key: str, resource: str | None) -> Quantity | None:
    """A CPU or memory target as Kubernetes reads it: cores (`500m` is half a CPU, `2`
    two) and bytes (`512Mi`, `1G`; rlmgen's `512MiB` too)."""
    raw = node.value.get(key)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None  # the schema pass reported the type
    text = str(raw)
    value = parse_kubernetes_quantity(text)
    if resource == "memory" and value is None:
        try:
            own = parse_quantity(text)
        except UnitError:
            own = None
        value = own.base if own is not None and own.dimension == "data" else None
    if value is None:
        example = "500m (half a CPU), 2 or 1.5" if resource == "cpu" else "512Mi, 1Gi or 512MiB"
        walk.error(
            node.at(key),
            f"{text!r} is not a Kubernetes {resource or 'resource'} quantity",
            f"write it like {example}",
            check="autoscaling/invalid-target",
        )
        return None
    if not math.isfinite(value):
        walk.error(
            node.at(key),
            f"{text!r} is too large to be a Kubernetes quantity",
            "write a smaller target",
            check="autoscaling/invalid-target",
        )
        return None
    if resource == "cpu" and any(text.strip().endswith(b) for b in _BINARY_SUFFIXES):
        walk.error(
            node.at(key),
            f"{text!r} is an amount of bytes; a CPU target is cores",
            "write it like 500m (half a CPU), 2 or 1.5",
            check="autoscaling/invalid-target",
        )
        return None
    if resource == "cpu" and round(value * 1000, 6) != round(value * 1000):
        walk.error(
            node.at(key),
            f"{text!r} is finer than Kubernetes counts CPU (in thousandths: 1m)",
            f"write {max(1, round(value * 1000))}m",
            check="autoscaling/invalid-target",
        )
        return None
    if resource == "memory" and value != int(value):
        walk.error(
            node.at(key),
            f"{text!r} is {value:g} bytes: memory is whole bytes",
            "Kubernetes' m is thousandths: for mebibytes write Mi (512Mi), for megabytes M",
            check="autoscaling/invalid-target",
        )
        return None
    return Quantity(value, "data" if resource == "memory" else None)


def _target(
    walk: Walk,
    node: Node,
    key: str,
    quantities: dict[str, Quantity | None],
    source: str,
    target_key: str,
    unit: SeriesUnit | None,
) -> m.ScalingTarget | None:
    """A scale-up target (or the scale-down threshold, read like it) in the form the HPA
    takes: utilisation in percent, values in the metric's sample unit."""
    quantity = quantities.get(key)
    if quantity is None:
        return None
    raw = node.value[key]
    kind = TARGETS[target_key]
    pointer = node.at(key)
    percent = quantity.base * 100 if quantity.dimension == "fraction" else quantity.base
    if key == "averageUtilization" or (source == "resource" and key == "scaleDownBelow"):
        if quantity.dimension not in ("fraction", None) or not 0 < percent <= 100:
            walk.error(
                pointer,
                f"utilization {raw!r} must be a percentage in (0, 100]",
                "write it like 70%",
                check="autoscaling/invalid-target",
            )
            return None
        if key == "averageUtilization" and abs(percent - round(percent)) > 1e-9:
            if quantity.dimension is None and 0 < percent < 1:  # a ratio, such as 0.7
                hint = f"write {percent * 100:g}% (a bare {raw!r} is {raw!r} percent)"
            else:
                hint = f"write {math.floor(percent)}% or {math.ceil(percent)}%"
            walk.error(
                pointer,
                f"Kubernetes takes a utilization in whole percent, not {raw!r}",
                hint,
                check="autoscaling/invalid-target",
            )
            return None
    else:
        if quantity.base > _MAX_QUANTITY:
            walk.error(
                pointer,
                f"{raw!r} is larger than a Kubernetes quantity can be (2^63-1)",
                check="autoscaling/invalid-target",
            )
            return None
        if quantity.base <= 0 and key != "scaleDownBelow":
            walk.error(
                pointer,
                f"{key} must be above zero, got {raw!r}",
                check="autoscaling/invalid-target",
            )
            return None
        if unit is not None:
            try:
                check_dimension(quantity, unit, str(raw))
            except UnitError as exc:
                walk.error(pointer, exc.message, exc.hint, check=exc.check)
                return None
    value = percent if kind == "Utilization" else quantity.in_unit(unit)
    if not math.isfinite(value):
        walk.error(
            pointer,
            f"{raw!r} is too large in the metric's unit",
            "write a smaller target",
            check="autoscaling/invalid-target",
        )
        return None
    return m.ScalingTarget(kind, value, str(raw))  # type: ignore[arg-type]


def _rules(walk: Walk, node: Node) -> m.ScalingRules | None:
    if not isinstance(node.value, dict):
        return None
    window = node.duration("stabilizationWindow")
    if window is not None and window > _MAX_WINDOW:
        walk.error(
            node.at("stabilizationWindow"),
            "Kubernetes allows a stabilization window of at most 1h",
            check="autoscaling/invalid-behavior",
        )
    elif window is not None and window != int(window):
        walk.error(
            node.at("stabilizationWindow"),
            "a stabilization window is whole seconds",
            check="autoscaling/invalid-behavior",
        )
    policies = []
    for policy in node.items("policies"):
        period = policy.duration("period")
        if period is None:
            continue
        if period < 1:
            walk.error(
                policy.at("period"),
                "a scaling policy's period must be at least 1s",
                check="autoscaling/invalid-behavior",
            )
        elif period > _MAX_PERIOD:
            walk.error(
                policy.at("period"),
                "Kubernetes allows a scaling policy period of at most 30m",
                check="autoscaling/invalid-behavior",
            )
        elif period != int(period):
            walk.error(
                policy.at("period"),
                "a period is whole seconds",
                check="autoscaling/invalid-behavior",
            )
        kind, value = policy.text("type"), policy.integer("value")
        if kind in ("Percent", "Pods") and value is not None:
            policies.append(m.ScalingPolicy(kind, value, int(period)))  # type: ignore[arg-type]
    return m.ScalingRules(
        stabilization_window_seconds=int(window) if window is not None else None,
        select_policy=node.text("selectPolicy"),
        policies=tuple(policies),
    )
