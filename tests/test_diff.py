"""`rlmgen diff`: the semantic change report, its risk flags, and --git."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlmgen.cli import cli
from rlmgen.review.changes import diff
from tests.conftest import MINIMAL_SPEC, SEED_TEXT, model_of

SEED = SEED_TEXT


def _changes(new_text: str) -> list:
    old = model_of(SEED, "a")
    new = model_of(new_text, "b")
    return diff(old, new)


def _without(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[:begin] + text[text.index(end, begin + 1) :]


def test_a_loosened_threshold_and_a_removed_paging_alert_are_exactly_two_risky_changes() -> None:
    changed = SEED.replace("rate(rlm_requests[5m]) > 0.05", "rate(rlm_requests[5m]) > 0.1")
    changed = _without(changed, "      - name: RLMDatabaseConnectionFail", "  - name: warnings")
    changes = _changes(changed)
    assert [(c.subject, c.kind, c.risks) for c in changes] == [
        ("RLMHighErrorRate (critical)", "changed", ["threshold loosened: > 0.05 → > 0.1"]),
        ("RLMDatabaseConnectionFail (critical)", "removed", ["a paging alert is removed"]),
    ]


@pytest.mark.parametrize(
    ("old", "new", "subject", "risk"),
    [
        (
            'warning: "> 200ms"',
            'warning: "> 300ms"',
            "RLMApiLatencyP99High (warning)",
            "threshold loosened: > 200ms → > 300ms",
        ),
        (
            "warning: < 99.9%",
            "warning: < 99.5%",
            "RLMApiAvailabilityLow (warning)",
            "threshold loosened: < 99.9% → < 99.5%",
        ),
        (
            "        for: 2m\n        summary: High error rate detected",
            "        for: 10m\n        summary: High error rate detected",
            "RLMHighErrorRate (critical)",
            "for lengthened",
        ),
        (
            "        for: 1m\n        summary: Database connection pool exhausted",
            "        for: 1m\n        severity: warning\n"
            "        summary: Database connection pool exhausted",
            "RLMDatabaseConnectionFail (warning)",
            "demoted from critical to warning",
        ),
        (
            "        for: 3m\n        summary: P99 latency exceeds 1 second",
            "        for: 3m\n        route: slack-warnings\n"
            "        summary: P99 latency exceeds 1 second",
            "RLMHighLatency (critical)",
            "route moved away from PagerDuty",
        ),
        ("    maxReplicas: 50\n", "    maxReplicas: 40\n", "rlm-api", "max replicas lowered"),
    ],
)
def test_each_risky_rule(old: str, new: str, subject: str, risk: str) -> None:
    assert old in SEED
    changes = {c.subject: c for c in _changes(SEED.replace(old, new, 1))}
    assert risk in changes[subject].risks


def test_safe_changes_are_not_risky() -> None:
    tightened = SEED.replace('warning: "> 200ms"', 'warning: "> 150ms"', 1)
    raised = SEED.replace("    maxReplicas: 50\n", "    maxReplicas: 60\n")
    for text in (tightened, raised):
        changes = _changes(text)
        assert changes and not any(c.risks for c in changes)


def test_dashboards_panels_metrics_and_runbook_changes() -> None:
    text = (
        SEED.replace("refresh: 10s", "refresh: 30s")
        .replace("      - title: Daily Tasks Executed", "      - title: Tasks Executed Today")
        .replace("target: < 100ms", "target: < 80ms")
        .replace("- Check current alerts", "- Check alerts")
    )
    found = {(c.category, c.subject, c.kind) for c in _changes(text)}
    assert {
        ("dashboard", "rlm-operations", "changed"),
        ("panel", "rlm-executive: Daily Tasks Executed", "removed"),
        ("panel", "rlm-executive: Tasks Executed Today", "added"),
        ("metric", "rlm_api_latency_p99", "changed"),
        ("runbook", "checklists", "changed"),
    } <= found


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
            "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
            "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        },
    )


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with two commits of the spec: a loosened threshold, a removed alert."""
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "rlm-hypervisor.yaml"
    spec.write_text(SEED)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "first")
    changed = SEED.replace("rate(rlm_requests[5m]) > 0.05", "rate(rlm_requests[5m]) > 0.1")
    spec.write_text(
        _without(changed, "      - name: RLMDatabaseConnectionFail", "  - name: warnings")
    )
    _git(tmp_path, "commit", "-q", "-am", "second")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.golden_test("goldens/diff/*.yml")
def test_git_reports(golden, repository: Path) -> None:
    result = CliRunner().invoke(cli, ["diff", "--git", "HEAD~1", "--format", golden["format"]])
    assert result.exit_code == 0, result.output
    assert result.stdout == golden.out["report"]


def test_fail_on_risky(repository: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["diff", "--git", "HEAD~1", "--fail-on", "risky"]).exit_code == 1
    assert runner.invoke(cli, ["diff", "--git", "HEAD", "--fail-on", "risky"]).exit_code == 0
    report = json.loads(runner.invoke(cli, ["diff", "--git", "HEAD", "--format", "json"]).stdout)
    assert report == {"risky": 0, "services": {"rlm-hypervisor": []}}


def test_invalid_side_is_reported_not_compared(tmp_path: Path) -> None:
    """The report is written whichever side is invalid (the review step never fails, as
    docs/ci.md says); a spec invalid in HEAD is a risky change, so the gate fails."""
    base, broken = tmp_path / "base.yaml", tmp_path / "broken.yaml"
    base.write_text(SEED)
    broken.write_text(SEED.replace("for: 2m", "for: 2 minutes"))
    result = CliRunner().invoke(cli, ["diff", str(base), str(broken), "--format", "json"])
    assert result.exit_code == 0
    assert "is not a duration" in result.stderr
    report = json.loads(result.stdout)
    assert report["risky"] == 1
    [change] = report["services"]["rlm-hypervisor"]
    assert change["risks"] == ["the spec does not compile: nothing of it would be built"]
    gate = CliRunner().invoke(cli, ["diff", str(base), str(broken), "--fail-on", "risky"])
    assert gate.exit_code == 1
    # invalid in the base (a pull request that fixes main): compared with nothing, no risk
    fixed = CliRunner().invoke(
        cli, ["diff", str(broken), str(base), "--format", "json", "--fail-on", "risky"]
    )
    assert fixed.exit_code == 0
    assert json.loads(fixed.stdout)["services"]["rlm-hypervisor"][0]["kind"] == "added"


def test_a_revision_git_cannot_read_is_a_usage_error(repository: Path) -> None:
    result = CliRunner().invoke(cli, ["diff", "--git", "no-such-revision"])
    assert result.exit_code == 2  # not 1, which says "risky" under --fail-on risky
    assert result.stderr.startswith("rlmgen: git ls-tree")


def test_an_alert_that_reaches_no_receiver_says_so() -> None:
    text = MINIMAL_SPEC.read_text()
    routing = text[text.index("routing:\n") : text.index("dashboards:\n")]
    minimal = text.replace(routing, "")  # no routing: no alert reaches anyone
    more = minimal.replace(
        "  - name: shop_requests\n",
        '  - name: shop_queue\n    unit: count\n    levels: {warning: "> 100"}\n'
        "  - name: shop_requests\n",
    )
    added = next(c for c in diff(model_of(minimal, "a"), model_of(more, "b")) if c.kind == "added")
    assert added.details == ["shop_queue > 100 for 5m, to no receiver"]


def test_an_objective_loosened_or_an_slo_alert_disabled_is_risky() -> None:
    loosened = SEED.replace("    objective: 99.99%\n", "    objective: 99.9%\n", 1)
    [change] = [c for c in _changes(loosened) if c.category == "slo"]
    assert change.subject == "api-availability" and change.kind == "changed"
    assert change.risks == ["the objective is loosened: 99.99% → 99.9%"]
    assert change.details[-1] == "objective: 99.99% → 99.9%"
    quiet = SEED.replace(
        "      name: RLMApiErrorBudgetBurn\n",
        "      name: RLMApiErrorBudgetBurn\n      ticket: {disabled: true}\n",
        1,
    )
    [change] = [c for c in _changes(quiet) if c.category == "slo"]
    assert change.risks == ["the ticket alert is disabled"]
    tightened = SEED.replace("    objective: 99.99%\n", "    objective: 99.995%\n", 1)
    assert not any(c.risks for c in _changes(tightened) if c.category == "slo")


def test_an_slo_alert_that_pages_less_is_risky() -> None:
    longer = SEED.replace("    period: 30d\n", "    period: 90d\n", 1)
    [change] = [c for c in _changes(longer) if c.category == "slo"]
    assert change.risks == [
        "the page alert fires only at higher error ratios (period 30d → 90d)",
        "the ticket alert fires only at higher error ratios (period 30d → 90d)",
    ]
    demoted = SEED.replace(
        "      name: RLMApiErrorBudgetBurn\n",
        "      name: RLMApiErrorBudgetBurn\n      page: {severity: warning}\n",
        1,
    )
    [change] = [c for c in _changes(demoted) if c.category == "slo"]
    assert change.risks == [
        "the page alert is demoted from critical to warning",
        "the page alert is routed away from PagerDuty",
    ]
    shorter = SEED.replace("    period: 30d\n", "    period: 7d\n", 1)
    assert not any(c.risks for c in _changes(shorter) if c.category == "slo")


def test_a_long_report_keeps_the_risky_changes_within_max_length() -> None:
    from rlmgen.review.changes import Change
    from rlmgen.review.report import markdown

    changes = [
        Change("metric", f"orders_metric_{i}", "added", ["a new metric"]) for i in range(400)
    ]
    changes.insert(7, Change("alert", "OrdersDown", "removed", risks=["a paging alert is removed"]))
    report = {"orders": changes}
    full = markdown(report)
    assert len(full) > 20_000
    assert markdown(report, max_length=len(full)) == full
    short = markdown(report, max_length=5_000)
    assert len(short) <= 5_000
    assert "**OrdersDown**: a paging alert is removed" in short
    assert "| alert: OrdersDown | removed ⚠️ |" in short
    assert "orders_metric_" not in short
    assert "400 more changes not shown: the whole report is longer than `--max-length`." in short
    tiny = markdown(report, max_length=300)  # not even the risky ones fit: cut, and said
    assert len(tiny) <= 300 and tiny.endswith("it is longer than `--max-length`.\n")
