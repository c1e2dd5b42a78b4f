"""`prometheus/tests.yaml`: promtool unit tests for the rules file. Every level of every
metric gets a generated scenario (on the threshold, pending, firing); hand-written
alerts and recording rules are tested with the examples the spec gives."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from rlmgen.derive.rules import AlertRule, Rules
from rlmgen.derive.scenarios import Scenario, edges, scenario, selector
from rlmgen.lang import promtool
from rlmgen.lang.promtemplate import render
from rlmgen.lang.promtool import TestGroup, uniquely_named
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.conventions import RULES_PATH, TESTS_PATH
from rlmgen.output.yamlout import dump_listing


def test_groups(spec: m.Spec, rules: Rules) -> list[TestGroup]:
    """The groups of `prometheus/tests.yaml`, named uniquely."""
    return list(_groups(spec, rules))


def _groups(spec: m.Spec, rules: Rules) -> Iterator[TestGroup]:
    return uniquely_named(
        itertools.chain(
            _level_tests(spec, rules), _alert_example_tests(rules), _recording_tests(rules)
        )
    )


def emit(spec: m.Spec, rules: Rules) -> dict[str, str]:
    # each group is written as it is made: a large spec's groups as data would be
    # several times the size of the text
    text = dump_listing(
        {
            "rule_files": [RULES_PATH.rsplit("/", 1)[1]],
            "evaluation_interval": format_duration(spec.service.evaluation_interval),
        },
        "tests",
        (group.body for group in _groups(spec, rules)),
    )
    return {} if text is None else {TESTS_PATH: text}


def _expected_alert(
    rule: AlertRule, value: float, series_labels: Mapping[str, str]
) -> dict[str, Any]:
    annotations = {k: render(v, value, series_labels) for k, v in rule.annotations.items()}
    labels = dict(sorted({**series_labels, **rule.labels}.items()))
    return {"exp_labels": labels, "exp_annotations": annotations}


def _level_tests(spec: m.Spec, rules: Rules) -> Iterator[TestGroup]:
    alerts = [r for r in rules.alerts if r.origin == "levels"]
    by_metric: dict[int, list[AlertRule]] = {}
    for rule in alerts:  # one pass: looking siblings up per alert would be quadratic
        by_metric.setdefault(id(rule.metric), []).append(rule)
    for rule in alerts:
        siblings = tuple(by_metric[id(rule.metric)])
        for edge in edges(rule):
            case = scenario(
                rule, siblings, spec.service.evaluation_interval, edge, spec.service.labels
            )
            level = rule.level.text if rule.level else ""
            name = f"{rule.name} {rule.severity}: {level}" + (f" ({edge} edge)" if edge else "")
            yield TestGroup(name, rule.pointer, _scenario_test(case), "level")


def _scenario_test(case: Scenario) -> dict[str, Any]:
    return {
        "interval": format_duration(case.interval),
        "input_series": [{"series": s, "values": v} for s, v in case.series],
        "alert_rule_test": [
            {
                "eval_time": format_duration(point.at),
                "alertname": case.alert.name,
                "exp_alerts": [_expected_alert(r, point.value, case.labels) for r in point.firing],
            }
            for point in case.checkpoints
        ],
    }


def _alert_example_tests(rules: Rules) -> list[TestGroup]:
    tests = []
    for rule in rules.alerts:
        for number, example in enumerate(rule.alert.examples if rule.alert else (), 1):
            expected = (
                [_expected_alert(rule, example.value or 0.0, example.labels)]
                if example.fires
                else []
            )
            body = {
                **_inputs(example.interval, example.series),
                "alert_rule_test": [
                    {
                        "eval_time": format_duration(example.at),
                        "alertname": rule.name,
                        "exp_alerts": expected,
                    }
                ],
            }
            name = f"{rule.name}: {example.name or f'example {number}'}"
            tests.append(TestGroup(name, example.pointer, body, "alert example"))
    return tests


def _recording_tests(rules: Rules) -> list[TestGroup]:
    tests = []
    for rule in rules.recording:
        for number, example in enumerate(rule.metric.examples if rule.metric else (), 1):
            name = f"{rule.record}: {example.name or f'example {number}'}"
            body = {
                **_inputs(example.interval, example.series),
                "promql_expr_test": [
                    {
                        "expr": rule.record,
                        "eval_time": format_duration(example.at),
                        "exp_samples": [
                            {
                                "labels": selector(rule.record, {**example.labels, **rule.labels}),
                                "value": example.value,
                            }
                        ],
                    }
                ],
            }
            tests.append(TestGroup(name, example.pointer, body, "recording example"))
    return tests


def _inputs(interval: float | None, series: tuple[m.ExampleSeries, ...]) -> dict[str, Any]:
    return {
        "interval": format_duration(interval or promtool.DEFAULT_INPUT_INTERVAL),
        "input_series": [{"series": s.series, "values": s.values} for s in series],
    }
