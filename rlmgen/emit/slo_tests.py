"""`prometheus/slo-<name>.tests.yaml`: promtool unit tests of each SLO's rules file, from
the scenarios rlmgen computes for it (rlmgen.derive.slo_scenarios)."""

from __future__ import annotations

from typing import Any

from rlmgen.derive.rules import AlertRule, Rules
from rlmgen.derive.slo_scenarios import SloScenario, scenarios
from rlmgen.derive.slos import identity
from rlmgen.lang.promtemplate import render
from rlmgen.lang.promtool import TestGroup, unique_names
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.conventions import slo_rules_path, slo_tests_path
from rlmgen.output.yamlout import dump


def test_groups(spec: m.Spec, rules: Rules, target: m.SLO) -> list[TestGroup]:
    """The groups of one SLO's test file, named by the scenario they play."""
    return unique_names(
        [
            TestGroup(
                f"SLO {target.name}: {case.title}", target.pointer, _test(spec, rules, case), "slo"
            )
            for case in scenarios(target, spec.service.evaluation_interval)
        ]
    )


def emit(spec: m.Spec, rules: Rules) -> dict[str, str]:
    files = {}
    for target in spec.slos:
        tests = [group.body for group in test_groups(spec, rules, target)]
        if tests:
            files[slo_tests_path(target.name)] = dump(
                {
                    "rule_files": [slo_rules_path(target.name).rsplit("/", 1)[1]],
                    "evaluation_interval": format_duration(spec.service.evaluation_interval),
                    "tests": tests,
                }
            )
    return files


def _test(spec: m.Spec, rules: Rules, case: SloScenario) -> dict[str, Any]:
    by_kind = {
        r.burn.kind: r
        for r in rules.alerts
        if r.origin == "slo" and r.slo is case.slo and r.burn is not None
    }
    series_labels = {**spec.service.labels, **identity(spec, case.slo)}
    return {
        "interval": format_duration(case.interval),
        "input_series": [{"series": s, "values": v} for s, v in case.inputs],
        "alert_rule_test": [
            {
                "eval_time": format_duration(point.at),
                "alertname": case.slo.alert_name,
                "exp_alerts": [
                    _expected(by_kind[kind], value, series_labels) for kind, value in point.firing
                ],
            }
            for point in case.checkpoints
        ],
    }


def _expected(rule: AlertRule, value: float, series_labels: dict[str, str]) -> dict[str, Any]:
    labels = dict(sorted({**series_labels, **rule.labels}.items()))
    annotations = {k: render(v, value, labels) for k, v in rule.annotations.items()}
    return {"exp_labels": labels, "exp_annotations": annotations}
