"""Every spec under tests/cases/invalid/ fails with exactly the diagnostics of its golden
(message, hint and file:line:col); regenerate with `pytest --update-goldens`."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlmgen.pipeline import check_spec, compile_file
from tests.conftest import REPO

CASES = REPO / "tests" / "cases" / "invalid"
GOLDENS = REPO / "tests" / "goldens" / "invalid"


@pytest.mark.golden_test("goldens/invalid/*.yml")
def test_invalid_spec_reports_exact_diagnostics(golden, in_repo: Path) -> None:
    spec = Path(golden["spec"])
    # every unit's: a spec with environments reports what only one environment has too
    diagnostics = [d for unit in compile_file(spec) for d in unit.diagnostics]
    assert [d.format() for d in diagnostics] == golden.out["diagnostics"]
    assert any(d.severity == "error" for d in diagnostics) == golden.out["invalid"]


def test_every_case_has_a_golden_and_every_golden_a_case() -> None:
    cases = {p.stem for p in CASES.glob("*.yaml")}
    goldens = {p.stem for p in GOLDENS.glob("*.yml")}
    assert cases == goldens
    assert len(cases) >= 25


def test_seed_verbatim_reports_one_line_per_invalid_seed_query(in_repo: Path) -> None:
    diagnostics = check_spec(Path("tests/cases/invalid/seed-verbatim.yaml")).diagnostics
    reported = {(d.pointer, d.message.split(" (")[0]) for d in diagnostics}
    assert reported == {
        (
            "/alertGroups/2/alerts/0/expr",
            "'count' aggregates instant vectors, but it is given a range vector",
        ),
        ("/dashboards/0/panels/1/query", "unknown PromQL function 'count_unique'"),
        ("/dashboards/1/panels/0/query", "unknown PromQL function 'histogram'"),
        (
            "/dashboards/1/panels/1/query",
            "'by' must follow an aggregation such as sum, but here it follows the function 'rate'",
        ),
        ("/dashboards/2/panels/2/query", "unknown PromQL function 'forecast_linear'"),
    }
    hints = {d.pointer: d.hint for d in diagnostics}
    assert hints["/dashboards/0/panels/1/query"].startswith("did you mean 'count'?")
    assert hints["/dashboards/2/panels/2/query"].startswith("did you mean 'predict_linear'?")
