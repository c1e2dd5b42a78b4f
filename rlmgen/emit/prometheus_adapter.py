"""`kubernetes/prometheus-adapter.yaml`: the prometheus-adapter rules (`rules:` for the
custom metrics API, `externalRules:` for the external one) that serve every custom or
external metric the HPAs read, as a ConfigMap holding the adapter's config file."""

from __future__ import annotations

from typing import Any

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.derive.kubernetes import metadata
from rlmgen.derive.rules import Rules
from rlmgen.model import types as m
from rlmgen.model.conventions import (
    ADAPTER_HELM_VALUES_PATH,
    ADAPTER_PATH,
    adapter_labels,
    served_metric_name,
)
from rlmgen.output.yamlout import dump

RATE_WINDOW = "2m"


def emit(spec: m.Spec, rules: Rules) -> dict[str, str]:
    config = adapter_config(spec)
    if not config:
        return {}
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(spec, f"{spec.service.name}-prometheus-adapter", "metrics-adapter"),
        "data": {"config.yaml": dump(config)},
    }
    return {ADAPTER_PATH: dump(configmap)}


@dataclass(frozen=True)
class ClusterPart:
    """What one service adds to its environment's prometheus-adapter."""

    config: dict[str, Any]
    config_map: str  # the platform's, of the first service: the environment's
    namespace: str


def cluster_part(spec: m.Spec) -> ClusterPart:
    platform = spec.platform
    return ClusterPart(
        adapter_config(spec), platform.adapter_config_map, platform.adapter_namespace
    )


def emit_cluster(parts: list[ClusterPart]) -> dict[str, str]:
    """An environment's one prometheus-adapter configuration: the rules of every service
    (their parts, in service order), as the ConfigMap the adapter reads (in its own
    namespace) and as values for its Helm chart (`rules.custom`, `rules.external`)."""
    rules: list[dict[str, Any]] = []
    external: list[dict[str, Any]] = []
    for part in parts:
        rules += [r for r in part.config.get("rules", []) if r not in rules]
        external += [r for r in part.config.get("externalRules", []) if r not in external]
    if not rules and not external:
        return {}
    platform = parts[0]
    combined: dict[str, Any] = {}
    if rules:
        combined["rules"] = rules
    if external:
        combined["externalRules"] = external
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": platform.config_map,
            "namespace": platform.namespace,
            "labels": {
                "app.kubernetes.io/name": "prometheus-adapter",
                "app.kubernetes.io/managed-by": "rlmgen",
            },
        },
        "data": {"config.yaml": dump(combined)},
    }
    values: dict[str, Any] = {"rules": {}}
    if rules:
        values["rules"]["custom"] = rules
    if external:
        values["rules"]["external"] = external
    return {ADAPTER_PATH: dump(configmap), ADAPTER_HELM_VALUES_PATH: dump(values)}


def adapter_config(spec: m.Spec) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    external: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for workload in spec.autoscaling:
        for metric in workload.metrics:
            if metric.source == "resource" or (metric.source, metric.name) in seen:
                continue
            seen.add((metric.source, metric.name))
            if metric.source == "external":
                external.append(_rule(metric))
            else:
                rules.append(_rule(metric))
    config: dict[str, Any] = {}
    if rules:
        config["rules"] = rules
    if external:
        config["externalRules"] = external
    return config


def _rule(metric: m.ScalingMetric) -> dict[str, Any]:
    series = metric.metric.series if metric.metric else metric.name
    labels = adapter_labels(
        metric.source, metric.described_object.kind if metric.described_object else None
    )
    required = ",".join(f'{label}!=""' for label in labels)
    counter = metric.metric is not None and metric.metric.type == "counter"
    value = (
        f"rate(<<.Series>>{{<<.LabelMatchers>>}}[{RATE_WINDOW}])"
        if counter
        else "<<.Series>>{<<.LabelMatchers>>}"
    )
    # counts add up across a pod's series; latencies and ratios take the worst
    aggregate = "sum" if counter or _additive(metric.metric) else "max"
    return {
        "seriesQuery": f"{series}{{{required}}}",
        "resources": {"overrides": {label: {"resource": label} for label in labels}},
        "name": {"matches": f"^{series}$", "as": served_metric_name(metric.name)},
        "metricsQuery": f"{aggregate}({value}) by (<<.GroupBy>>)",
    }


def _additive(metric: m.Metric | None) -> bool:
    return metric is None or metric.unit is None or metric.unit.dimension in ("count", "rate")
