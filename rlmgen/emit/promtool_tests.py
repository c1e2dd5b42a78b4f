"""`prometheus/tests.yaml`: promtool unit tests for the rules file. Every level of every
metric gets a generated scenario (on the threshold, pending, firing); hand-written
alerts and recording rules are tested with the examples the spec gives."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from rlmgen.derive import alert_examples
from rlmgen.derive.rules import AlertRule, Rules
from rlmgen.derive.scenarios import Scenario, edges, scenario, selector
from rlmgen.lang import promql, promtool
from rlmgen.lang.promtemplate import render
from rlmgen.lang.promtool import TestGroup, unique_namer, uniquely_named
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.conventions import RULES_PATH, TESTS_PATH
from rlmgen.output.yamlout import Scalars, Unsupported, Written, dump_listing


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
    scalars = Scalars()
    unique = unique_namer()
    levels = (
        _level_text(scalars, unique(name), case) for name, _, case in _level_cases(spec, rules)
    )
    examples = (
        {"name": unique(group.name), **group.body}
        for group in itertools.chain(_alert_example_tests(rules), _recording_tests(rules))
    )
    text = dump_listing(
        {
            "rule_files": [RULES_PATH.rsplit("/", 1)[1]],
            "evaluation_interval": format_duration(spec.service.evaluation_interval),
        },
        "tests",
        itertools.chain(levels, examples),
    )
    return {} if text is None else {TESTS_PATH: text}


def _expected_alert(
    rule: AlertRule, value: float, series_labels: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "exp_labels": _expected_labels(rule, series_labels),
        "exp_annotations": _expected_annotations(rule, value, series_labels),
    }


def _expected_labels(rule: AlertRule, series_labels: Mapping[str, str]) -> dict[str, str]:
    return dict(sorted({**series_labels, **rule.labels}.items()))


def _expected_annotations(
    rule: AlertRule, value: float, series_labels: Mapping[str, str]
) -> dict[str, str]:
    return {k: render(v, value, series_labels) for k, v in rule.annotations.items()}


def _level_cases(spec: m.Spec, rules: Rules) -> Iterator[tuple[str, str, Scenario]]:
    """(name, pointer, scenario) of every level's test, in the file's order."""
    alerts = [r for r in rules.alerts if r.origin == "levels" and _testable(spec, r.metric)]
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
            yield name, rule.pointer, case


def _testable(spec: m.Spec, metric: m.Metric | None) -> bool:
    """Whether a level's test can feed the metric's series: not when its recording rule
    writes that series itself with no input (`or vector(0)`; levels/untestable)."""
    if metric is None or not metric.record or metric.expr is None:
        return True
    query = promql.analyse(metric.expr, spec.targets.prometheus)
    return not (isinstance(query, promql.Query) and promql.yields_without_inputs(query.ast))


def _level_tests(spec: m.Spec, rules: Rules) -> Iterator[TestGroup]:
    for name, pointer, case in _level_cases(spec, rules):
        yield TestGroup(name, pointer, _scenario_test(case), "level")


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


def _level_text(scalars: Scalars, name: str, case: Scenario) -> Written | dict[str, Any]:
    """A level's test group written straight to text, laid out as the emitter writes
    `{"name": name, **_scenario_test(case)}` (tests/test_yamlout.py holds the two to the
    same bytes); that data when some text needs the emitter's slower paths. Tens of
    thousands of these groups are most of a large spec's promtool tests."""
    try:
        return Written("".join(_level_lines(scalars, name, case)))
    except Unsupported:
        return {"name": name, **_scenario_test(case)}


def _level_lines(scalars: Scalars, name: str, case: Scenario) -> Iterator[str]:
    value = scalars.value
    yield f"- name: {value(name, 4)}\n  interval: {value(format_duration(case.interval), 4)}\n"
    yield "  input_series:\n" if case.series else "  input_series: []\n"
    for series, values in case.series:
        yield f"  - series: {value(series, 6)}\n    values: {value(values, 6)}\n"
    yield "  alert_rule_test:\n" if case.checkpoints else "  alert_rule_test: []\n"
    alertname = value(case.alert.name, 6)
    # an alert's labels are the same at every checkpoint of the case: written once
    labels_written: dict[int, str] = {}
    for point in case.checkpoints:
        yield f"  - eval_time: {value(format_duration(point.at), 6)}\n"
        yield f"    alertname: {alertname}\n"
        if not point.firing:
            yield "    exp_alerts: []\n"
            continue
        yield "    exp_alerts:\n"
        for rule in point.firing:
            written = labels_written.get(id(rule))
            if written is None:
                labels = _expected_labels(rule, case.labels)
                written = labels_written[id(rule)] = _block(scalars, "    - exp_labels", labels)
            yield written
            annotations = _expected_annotations(rule, point.value, case.labels)
            yield _block(scalars, "      exp_annotations", annotations)


def _block(scalars: Scalars, heading: str, mapping: Mapping[str, str]) -> str:
    """`heading:` and the mapping's lines under it, as the emitter writes them."""
    if not mapping:
        return f"{heading}: {{}}\n"
    key, value = scalars.key, scalars.value
    return f"{heading}:\n" + "".join(
        f"        {key(k)}: {value(v, 10)}\n" for k, v in mapping.items()
    )


def _alert_example_tests(rules: Rules) -> list[TestGroup]:
    tests = []
    # hand-written rules by name: promtool tests the rules of a name together
    named: dict[str, list[AlertRule]] = {}
    for rule in rules.alerts:
        if rule.alert is not None:
            named.setdefault(rule.name, []).append(rule)
    for rule in rules.alerts:
        for number, example in enumerate(rule.alert.examples if rule.alert else (), 1):
            expected = [
                _expected_alert(fired, example.value or 0.0, example.labels)
                for fired in alert_examples.firing(rule, named[rule.name], example)
            ]
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
