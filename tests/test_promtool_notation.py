"""promtool's series notation as rlmgen reads it: where the last sample of an input falls
(checked against promtool itself: a series is seen up to its last sample plus the 5m
lookback, never after)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from rlmgen.lang.promtool import bad_values_token, last_sample
from tests.conftest import require_tool


@pytest.mark.parametrize(
    ("values", "last"),
    [
        ("1 2 3", 2),
        ("0+10x20", 20),
        ("5x3", 3),
        ("1 _ _", 0),
        ("_x5 1", 5),
        ("1 stale", 0),
        ("_ _", None),
        ("-1+1x2 Inf", 3),
        ("1e3x2", 2),
    ],
)
def test_the_last_sample_of_a_series(values: str, last: int | None) -> None:
    assert bad_values_token(values) is None
    assert last_sample(values) == last


@pytest.mark.parametrize(("at", "seen"), [("25m", True), ("26m", False)])
def test_promtool_sees_a_series_until_its_last_sample_and_the_lookback(
    tmp_path: Path, at: str, seen: bool
) -> None:
    """0+1x20 at 1m ends at 20m: promtool still selects it at 25m, not at 26m."""
    promtool = require_tool("promtool")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": []}))
    test = {
        "rule_files": ["rules.yaml"],
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": "x", "values": "0+1x20"}],
                "promql_expr_test": [
                    {
                        "expr": "x",
                        "eval_time": at,
                        "exp_samples": [{"labels": "x", "value": 20}] if seen else [],
                    }
                ],
            }
        ],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(test))
    run = subprocess.run(
        [promtool, "test", "rules", str(tmp_path / "tests.yaml")], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert last_sample("0+1x20") == 20  # 20m: 25m is within the lookback, 26m is not
