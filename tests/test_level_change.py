"""One fact, one edit: changing a metric's warning level changes that alert, its promtool
scenarios and the text of its runbook section, and nothing else."""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml

from rlmgen.pipeline import compile_specs
from tests.conftest import SEED_TEXT

ALERT = "RLMApiLatencyP99High"


def _build(tmp_path: Path, name: str, text: str) -> dict[str, bytes]:
    spec = tmp_path / name / "specs" / "rlm-hypervisor.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text(text)
    [result] = compile_specs([spec], tmp_path / name / "out")
    assert not result.errors, result.diagnostics
    return result.files


def _rules_by_identity(data: bytes) -> dict[tuple[str, str], dict]:
    rules = [r for g in yaml.safe_load(data)["groups"] for r in g["rules"]]
    return {
        (r.get("alert") or r["record"], r.get("labels", {}).get("severity", "")): r for r in rules
    }


def _tests_by_alert(data: bytes) -> dict[str, list[dict]]:
    by_alert: dict[str, list[dict]] = {}
    for group in yaml.safe_load(data)["tests"]:
        names = {
            t.get("alertname") or t.get("expr")
            for t in group.get("alert_rule_test", []) + group.get("promql_expr_test", [])
        }
        for name in names:
            by_alert.setdefault(name, []).append(group)
    return by_alert


def test_changing_a_warning_level_changes_only_that_alert(tmp_path: Path) -> None:
    original = SEED_TEXT
    changed = original.replace('warning: "> 200ms"', 'warning: "> 250ms"', 1)
    assert changed != original
    before, after = _build(tmp_path, "a", original), _build(tmp_path, "b", changed)

    assert {p for p in before if before[p] != after[p]} == {
        "prometheus/rules.yaml",
        "prometheus/tests.yaml",
        "kubernetes/prometheusrule.yaml",
        "runbook/README.md",
    }
    # in the runbook, only the lines that state this level: its table row, its alert section
    old_lines = before["runbook/README.md"].decode().splitlines()
    new_lines = after["runbook/README.md"].decode().splitlines()
    changed = [line for line in difflib.ndiff(old_lines, new_lines) if line[:2] in ("- ", "+ ")]
    assert changed
    for line in changed:
        written, compared = ("200ms", "> 0.2") if line.startswith("-") else ("250ms", "> 0.25")
        assert written in line or line.rstrip().endswith(compared), line

    old_rules, new_rules = (
        _rules_by_identity(before["prometheus/rules.yaml"]),
        _rules_by_identity(after["prometheus/rules.yaml"]),
    )
    differing = {key for key in old_rules if old_rules[key] != new_rules[key]}
    assert differing == {(ALERT, "warning")}
    old, new = old_rules[(ALERT, "warning")], new_rules[(ALERT, "warning")]
    assert (old["expr"], new["expr"]) == (
        "service:rlm_api_latency:p99_rate5m > 0.2",
        "service:rlm_api_latency:p99_rate5m > 0.25",
    )
    assert new["annotations"]["summary"] == "P99 response time above 250ms"
    assert "warning level: > 250ms" in new["annotations"]["description"]
    # the link into the runbook stays where it was: the anchor is the alert's name
    assert new["annotations"]["runbook_url"] == old["annotations"]["runbook_url"]

    old_tests, new_tests = (
        _tests_by_alert(before["prometheus/tests.yaml"]),
        _tests_by_alert(after["prometheus/tests.yaml"]),
    )
    assert {n for n in old_tests if old_tests[n] != new_tests[n]} == {ALERT}
    warning_scenario = new_tests[ALERT][0]
    assert warning_scenario["input_series"][0]["values"].startswith("0.25+0x")
