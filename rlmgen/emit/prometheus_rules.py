"""Prometheus rule files: `prometheus/rules.yaml` in the standard format (Prometheus,
Thanos and Mimir rulers load it) and the same groups as a Prometheus Operator
`PrometheusRule` in `kubernetes/prometheusrule.yaml`."""

from __future__ import annotations

from typing import Any

from rlmgen.derive.rules import AlertRule, RecordingRule, RuleGroup, rule_groups
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.output.yamlout import dump

RULES_PATH = "prometheus/rules.yaml"
OPERATOR_PATH = "kubernetes/prometheusrule.yaml"


def generate(spec: m.Spec) -> dict[str, str]:
    groups = [_group(group) for group in rule_groups(spec)]
    if not groups:
        return {}
    rules = dump({"groups": groups})
    # The PrometheusRule's spec is the rules file itself: indent the text once rather
    # than serialising the same groups twice (the same bytes, half the work).
    header = dump({k: v for k, v in prometheus_rule(spec, []).items() if k != "spec"})
    indented = "".join(
        f"  {line}" if line.strip() else line for line in rules.splitlines(keepends=True)
    )
    return {RULES_PATH: rules, OPERATOR_PATH: f"{header}spec:\n{indented}"}


def _group(group: RuleGroup) -> dict[str, Any]:
    data: dict[str, Any] = {"name": group.name}
    if group.interval:
        data["interval"] = format_duration(group.interval)
    data["rules"] = [_rule(rule) for rule in group.rules]
    return data


def _rule(rule: RecordingRule | AlertRule) -> dict[str, Any]:
    if isinstance(rule, RecordingRule):
        data: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
        if rule.labels:
            data["labels"] = dict(rule.labels)
        return data
    data = {"alert": rule.name, "expr": rule.expr}
    if rule.for_seconds:
        data["for"] = format_duration(rule.for_seconds)
    data["labels"] = dict(rule.labels)
    data["annotations"] = dict(rule.annotations)
    return data


def prometheus_rule(spec: m.Spec, groups: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"{spec.service.name}-rules",
            "namespace": spec.service.namespace,
            "labels": {
                "app.kubernetes.io/name": spec.service.name,
                "app.kubernetes.io/managed-by": "rlmgen",
                "app.kubernetes.io/component": "monitoring-rules",
            },
        },
        "spec": {"groups": groups},
    }
