"""`prometheus/tests.yaml`: promtool unit tests for the rules file. Every level of every
metric gets a generated scenario (on the threshold, pending, firing); hand-written
alerts and recording rules are tested with the examples the spec gives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rlmgen.derive.rules import AlertRule, RecordingRule, rule_groups
from rlmgen.derive.scenarios import Scenario, edges, scenario
from rlmgen.emit.prometheus_rules import RULES_PATH
from rlmgen.lang.promtemplate import render
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.output.yamlout import dump

TESTS_PATH = "prometheus/tests.yaml"
DEFAULT_EXAMPLE_INTERVAL = 60.0


def generate(spec: m.Spec) -> dict[str, str]:
    tests = [*_level_tests(spec), *_alert_example_tests(spec), *_recording_tests(spec)]
    if not tests:
        return {}
    return {
        TESTS_PATH: dump(
            {
                "rule_files": [RULES_PATH.rsplit("/", 1)[1]],
                "evaluation_interval": format_duration(spec.service.evaluation_interval),
                "tests": tests,
            }
        )
    }


def series_selector(name: str, labels: Mapping[str, str]) -> str:
    if not labels:
        return name
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _expected_alert(
    rule: AlertRule, value: float, series_labels: Mapping[str, str]
) -> dict[str, Any]:
    annotations = {k: render(v, value, series_labels) for k, v in rule.annotations.items()}
    return {"exp_labels": {**series_labels, **rule.labels}, "exp_annotations": annotations}


def _level_tests(spec: m.Spec) -> list[dict[str, Any]]:
    alerts = [
        r
        for g in rule_groups(spec)
        for r in g.rules
        if isinstance(r, AlertRule) and r.origin == "levels"
    ]
    by_metric: dict[int, list[AlertRule]] = {}
    for rule in alerts:  # one pass: looking siblings up per alert would be quadratic
        by_metric.setdefault(id(rule.metric), []).append(rule)
    tests = []
    for rule in alerts:
        siblings = tuple(by_metric[id(rule.metric)])
        for edge in edges(rule):
            case = scenario(rule, siblings, spec.service.evaluation_interval, edge)
            tests.append(_scenario_test(case))
    return tests


def _scenario_test(case: Scenario) -> dict[str, Any]:
    return {
        "interval": format_duration(case.interval),
        "input_series": [{"series": s, "values": v} for s, v in case.series],
        "alert_rule_test": [
            {
                "eval_time": format_duration(point.at),
                "alertname": case.alert.name,
                "exp_alerts": [_expected_alert(r, point.value, {}) for r in point.firing],
            }
            for point in case.checkpoints
        ],
    }


def _alert_example_tests(spec: m.Spec) -> list[dict[str, Any]]:
    tests = []
    for group in rule_groups(spec):
        for rule in group.rules:
            if not isinstance(rule, AlertRule) or rule.alert is None:
                continue
            for example in rule.alert.examples:
                expected = (
                    [_expected_alert(rule, example.value or 0.0, example.labels)]
                    if example.fires
                    else []
                )
                tests.append(
                    {
                        "interval": format_duration(example.interval or DEFAULT_EXAMPLE_INTERVAL),
                        "input_series": [
                            {"series": s.series, "values": s.values} for s in example.series
                        ],
                        "alert_rule_test": [
                            {
                                "eval_time": format_duration(example.at),
                                "alertname": rule.name,
                                "exp_alerts": expected,
                            }
                        ],
                    }
                )
    return tests


def _recording_tests(spec: m.Spec) -> list[dict[str, Any]]:
    tests = []
    for group in rule_groups(spec):
        for rule in group.rules:
            if not isinstance(rule, RecordingRule):
                continue
            for example in rule.metric.examples:
                tests.append(
                    {
                        "interval": format_duration(example.interval or DEFAULT_EXAMPLE_INTERVAL),
                        "input_series": [
                            {"series": s.series, "values": s.values} for s in example.series
                        ],
                        "promql_expr_test": [
                            {
                                "expr": rule.record,
                                "eval_time": format_duration(example.at),
                                "exp_samples": [
                                    {
                                        "labels": series_selector(
                                            rule.record, {**example.labels, **rule.labels}
                                        ),
                                        "value": example.value,
                                    }
                                ],
                            }
                        ],
                    }
                )
    return tests
