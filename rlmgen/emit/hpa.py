"""`kubernetes/hpa-<workload>.yaml`: an autoscaling/v2 HorizontalPodAutoscaler per
autoscaled workload, in the service's namespace."""

from __future__ import annotations

from typing import Any

from rlmgen.derive.kubernetes import metadata, quantity
from rlmgen.model import types as m
from rlmgen.output.yamlout import dump


def generate(spec: m.Spec) -> dict[str, str]:
    return {f"kubernetes/hpa-{w.name}.yaml": dump(hpa(spec, w)) for w in spec.autoscaling}


def hpa(spec: m.Spec, workload: m.Workload) -> dict[str, Any]:
    body: dict[str, Any] = {
        "scaleTargetRef": {
            "apiVersion": workload.target.api_version or "apps/v1",
            "kind": workload.target.kind,
            "name": workload.target.name,
        },
        "minReplicas": workload.min_replicas,
        "maxReplicas": workload.max_replicas,
        "metrics": [_metric(metric) for metric in workload.metrics],
    }
    behavior = {
        key: _rules(rules)
        for key, rules in (("scaleUp", workload.scale_up), ("scaleDown", workload.scale_down))
        if rules
    }
    if behavior:
        body["behavior"] = behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(spec, f"{workload.name}-hpa", "autoscaling"),
        "spec": body,
    }


def exposed_name(metric: m.ScalingMetric) -> str:
    """The name the custom/external metrics API serves the metric under (the adapter's)."""
    return metric.name


def _target(target: m.ScalingTarget) -> dict[str, Any]:
    if target.kind == "Utilization":
        return {"type": "Utilization", "averageUtilization": round(target.value)}
    key = "averageValue" if target.kind == "AverageValue" else "value"
    return {"type": target.kind, key: quantity(target.value)}


def _identifier(metric: m.ScalingMetric) -> dict[str, Any]:
    identifier: dict[str, Any] = {"name": exposed_name(metric)}
    if metric.selector:
        identifier["selector"] = {"matchLabels": dict(metric.selector)}
    return identifier


def _metric(metric: m.ScalingMetric) -> dict[str, Any]:
    target = _target(metric.target)
    if metric.source == "resource":
        return {"type": "Resource", "resource": {"name": metric.name, "target": target}}
    if metric.source == "pods":
        return {"type": "Pods", "pods": {"metric": _identifier(metric), "target": target}}
    if metric.source == "external":
        return {"type": "External", "external": {"metric": _identifier(metric), "target": target}}
    described = metric.described_object
    assert described is not None
    reference = {"kind": described.kind, "name": described.name}
    if described.api_version:
        reference["apiVersion"] = described.api_version
    return {
        "type": "Object",
        "object": {"metric": _identifier(metric), "describedObject": reference, "target": target},
    }


def _rules(rules: m.ScalingRules) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if rules.stabilization_window_seconds is not None:
        data["stabilizationWindowSeconds"] = rules.stabilization_window_seconds
    if rules.select_policy:
        data["selectPolicy"] = rules.select_policy
    if rules.policies:
        data["policies"] = [
            {"type": p.type, "value": p.value, "periodSeconds": p.period_seconds}
            for p in rules.policies
        ]
    return data
