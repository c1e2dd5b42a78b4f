"""Kubernetes objects derived from the model, as data: the HorizontalPodAutoscaler of each
autoscaled workload (written by the HPA emitter, shown by the runbook)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rlmgen.model import types as m
from rlmgen.model.conventions import hpa_name, kubernetes_metadata, served_metric_name

_SUFFIXES = (("", 1), ("m", 1000), ("u", 1_000_000), ("n", 1_000_000_000))


def quantity(value: float) -> str:
    """A Kubernetes quantity: `10`, `0.1` -> `100m`, `2.5e-05` -> `25u`."""
    exact = Decimal(repr(value))
    for suffix, scale in _SUFFIXES:
        scaled = exact * scale
        if scaled == scaled.to_integral_value():
            return f"{int(scaled)}{suffix}"
    return f"{round(value * 1_000_000_000)}n"


def metadata(spec: m.Spec, name: str, component: str) -> dict[str, Any]:
    return kubernetes_metadata(spec.service.name, spec.service.namespace, name, component)


def hpa(spec: m.Spec, workload: m.Workload) -> dict[str, Any]:
    body: dict[str, Any] = {
        "scaleTargetRef": {
            "apiVersion": workload.target.api_version,
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
        "metadata": metadata(spec, hpa_name(workload.name), "autoscaling"),
        "spec": body,
    }


def _target(target: m.ScalingTarget) -> dict[str, Any]:
    if target.kind == "Utilization":
        return {"type": "Utilization", "averageUtilization": round(target.value)}
    key = "averageValue" if target.kind == "AverageValue" else "value"
    return {"type": target.kind, key: quantity(target.value)}


def _identifier(metric: m.ScalingMetric) -> dict[str, Any]:
    identifier: dict[str, Any] = {"name": served_metric_name(metric.name)}
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
    body: dict[str, Any] = {"metric": _identifier(metric)}
    if (described := metric.described_object) is not None:
        reference = {"kind": described.kind, "name": described.name}
        if described.api_version:
            reference["apiVersion"] = described.api_version
        body["describedObject"] = reference
    body["target"] = target
    return {"type": "Object", "object": body}


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
