"""Checks with names: every diagnostic has a registered id, documented in docs/checks.md
with a bad and a good example, named by its own SARIF rule; warnings are suppressed by a
comment next to their line, and a suppression that silences nothing is reported."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlmgen.cli import cli
from rlmgen.pipeline import compile_specs
from rlmgen.spec.checks import CHECKS
from rlmgen.spec.suppressions import find
from tests.conftest import REPO

CASES = REPO / "tests" / "cases"
GAUGE_CASE = (CASES / "invalid" / "rate-of-a-gauge.yaml").read_text()
GAUGE_LINE = "        expr: rate(ingest_queue_depth[10m]) > 5"
GAUGE_CHECK = "promql/rate-of-gauge"


def _sections() -> dict[str, str]:
    text = (REPO / "docs" / "checks.md").read_text()
    parts = re.split(r"^## (\S+)\n", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_check_has_a_docs_entry_with_a_bad_and_a_good_example() -> None:
    sections = _sections()
    assert list(sections) == list(CHECKS)  # same ids, same order
    for check_id, body in sections.items():
        assert re.search(r"Bad:?\s*\n+```yaml\n", body), f"{check_id}: no bad example"
        assert re.search(r"Good:?\s*\n+```yaml\n", body), f"{check_id}: no good example"


def test_every_check_id_used_in_the_code_is_registered() -> None:
    used = set()
    for path in (REPO / "rlmgen").rglob("*.py"):
        used |= set(re.findall(r'check="([a-z0-9/-]+)"', path.read_text()))
        used |= set(re.findall(r'^\s+"([a-z]+/[a-z0-9-]+)",?$', path.read_text(), re.M)) & set(
            CHECKS
        )
    assert used, "no check ids found"
    assert sorted(used - set(CHECKS)) == []


def test_every_diagnostic_of_the_invalid_cases_has_a_registered_check(in_repo: Path) -> None:
    cases = sorted((CASES / "invalid").glob("*.yaml"))
    seen = set()
    for case in cases:
        for result in compile_specs([case.relative_to(REPO)], Path("out"), generate=False):
            for d in result.diagnostics:
                assert d.check in CHECKS, f"{d.format()}: check {d.check!r} is not registered"
                seen.add(d.check)
    assert len(seen) >= 40  # the cases exercise most checks


def test_sarif_has_one_rule_per_check_with_a_help_uri(in_repo: Path) -> None:
    result = CliRunner().invoke(
        cli, ["validate", "--format", "sarif", "tests/cases/invalid/many-mistakes.yaml"]
    )
    [run] = json.loads(result.stdout)["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(CHECKS)
    anchors = {c.anchor for c in CHECKS.values()}
    assert len(anchors) == len(CHECKS)  # no two entries share an anchor
    for rule in rules:
        assert rule["helpUri"].endswith("docs/checks.md#" + CHECKS[rule["id"]].anchor)
        assert rule["shortDescription"]["text"] == CHECKS[rule["id"]].summary
    results = run["results"]
    assert len({r["ruleId"] for r in results}) > 1  # not one rule for everything
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]


def test_the_docs_url_can_point_at_a_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLMGEN_DOCS_URL", "https://docs.internal/rlmgen/checks.html")
    check = CHECKS["promql/unknown-function"]
    assert check.help_uri == "https://docs.internal/rlmgen/checks.html#promqlunknown-function"


def test_text_output_names_the_check(in_repo: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "tests/cases/invalid/rate-of-a-gauge.yaml"])
    assert result.exit_code == 0
    assert result.stdout.rstrip().endswith(f"[{GAUGE_CHECK}]")


def _validate(tmp_path: Path, text: str, *options: str) -> tuple[int, list[str]]:
    spec = tmp_path / "specs" / "ingest.yaml"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(text)
    result = CliRunner().invoke(cli, ["validate", *options, str(spec)])
    lines = [line.replace(str(tmp_path) + "/", "") for line in result.stdout.splitlines()]
    return result.exit_code, lines


def test_a_trailing_comment_suppresses_exactly_its_lines_warning(tmp_path: Path) -> None:
    code, before = _validate(tmp_path, GAUGE_CASE)
    assert code == 0 and len(before) == 1 and f"[{GAUGE_CHECK}]" in before[0]
    suppressed = GAUGE_CASE.replace(GAUGE_LINE, f"{GAUGE_LINE}  # rlmgen: disable={GAUGE_CHECK}")
    assert _validate(tmp_path, suppressed) == (0, [])
    # the same warning from a second alert, on its own line, is still reported
    second = suppressed.replace(
        "        summary: The queue grows\n",
        "        summary: The queue grows\n"
        "      - name: IngestQueueGrowingFast\n"
        "        expr: rate(ingest_queue_depth[10m]) > 50\n"
        "        summary: The queue grows fast\n",
    )
    code, after = _validate(tmp_path, second)
    assert code == 0
    assert after == [
        "specs/ingest.yaml:21:15: /alertGroups/0/alerts/1/expr: warning: 'ingest_queue_depth' "
        "is a gauge, and rate() reads counters: each fall of a gauge counts as a counter reset "
        "(hint: for a gauge's change, use deriv(ingest_queue_depth[5m]) (per second) or "
        f"delta(ingest_queue_depth[5m])) [{GAUGE_CHECK}]"
    ]


def test_a_comment_line_above_suppresses_the_next_line_and_its_block(tmp_path: Path) -> None:
    block = GAUGE_CASE.replace(
        GAUGE_LINE,
        f"        # rlmgen: disable={GAUGE_CHECK}\n"
        "        expr: |\n"
        "          rate(ingest_queue_depth[10m])\n"
        "            > 5",
    )
    assert _validate(tmp_path, block) == (0, [])


def test_a_suppression_that_silences_nothing_is_reported(tmp_path: Path) -> None:
    text = GAUGE_CASE.replace(
        "    type: gauge\n", f"    type: gauge  # rlmgen: disable={GAUGE_CHECK}\n"
    ).replace(GAUGE_LINE, f"{GAUGE_LINE}  # rlmgen: disable={GAUGE_CHECK},promql/rate-of-gauges")
    code, lines = _validate(tmp_path, text)
    assert code == 0  # warnings only
    assert lines == [
        "specs/ingest.yaml:11:18: /metrics/0/type: warning: this suppression of "
        "promql/rate-of-gauge suppresses nothing (hint: remove it: the warning it was for "
        "is gone, or is reported on another line) [suppression/unused]",
        "specs/ingest.yaml:18:50: /alertGroups/0/alerts/0/expr: warning: "
        "'promql/rate-of-gauges' is not a check (hint: "
        "did you mean 'promql/rate-of-gauge'?) [suppression/unknown-check]",
    ]


def test_suppressions_are_not_called_unused_when_an_error_stopped_the_checks(
    tmp_path: Path,
) -> None:
    """A spec with an error is not checked to the end: its warnings may never have been
    looked for, so its suppressions are not reported as silencing nothing."""
    suppressed = GAUGE_CASE.replace(GAUGE_LINE, f"{GAUGE_LINE}  # rlmgen: disable={GAUGE_CHECK}")
    broken = suppressed.replace("  team: data\n", "  team: data\n  team: data\n")
    code, lines = _validate(tmp_path, broken)
    assert code == 1
    assert [line.rsplit(" [", 1)[1] for line in lines] == ["yaml/duplicate-key]"]


def test_errors_cannot_be_suppressed(tmp_path: Path) -> None:
    text = GAUGE_CASE.replace(
        GAUGE_LINE,
        "        expr: count_unique(ingest_queue_depth) > 5  "
        "# rlmgen: disable=promql/unknown-function",
    )
    code, lines = _validate(tmp_path, text)
    assert code == 1
    [line] = lines
    assert line.endswith(
        "errors cannot be suppressed (promql/unknown-function): fix it) [promql/unknown-function]"
    )


def test_strict_only_checks_are_not_unused_without_strict(tmp_path: Path) -> None:
    """An alert without examples is a warning only under --strict: its suppression is
    used there, and not reported as unused in a run that does not make the check."""
    text = GAUGE_CASE.replace(
        "      - name: IngestQueueGrowing\n",
        "      - name: IngestQueueGrowing  # rlmgen: disable=alerts/untested\n",
    ).replace(GAUGE_LINE, f"{GAUGE_LINE}  # rlmgen: disable={GAUGE_CHECK}")
    assert _validate(tmp_path, text) == (0, [])
    assert _validate(tmp_path, text, "--strict") == (0, [])


def test_hashes_inside_block_scalars_are_text() -> None:
    text = (
        "description: |\n"
        "  # rlmgen: disable=promql/rate-of-gauge\n"
        "  shown in the runbook\n"
        "name: x  # rlmgen: disable=a/b,c/d\n"
    )
    found = find("f.yaml", text)
    assert [(s.line, s.col, s.check, list(s.covers)) for s in found] == [
        (4, 10, "a/b", [4]),
        (4, 10, "c/d", [4]),
    ]
