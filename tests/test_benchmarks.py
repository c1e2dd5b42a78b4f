"""The benchmark runs end to end on a small size, so it never rots (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO


def _report(tmp_path: Path, script: str, *arguments: str) -> dict[str, Any]:
    """The JSON a benchmark script writes with --output, run as anyone would."""
    output = tmp_path / "results.json"
    command = [sys.executable, str(REPO / "benchmarks" / script), *arguments]
    result = subprocess.run([*command, "--output", str(output)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(json.loads(output.read_text()))


def test_benchmark_smoke(tmp_path: Path) -> None:
    report = _report(tmp_path, "run.py", "--sizes", "10", "--repeat", "1")
    [size] = report["sizes"]
    assert size["size"] == 10 and size["output_bytes"] > 0
    assert {"load", "schema validation", "write"} <= set(size["stages"])
    assert "rlmgen --help" in report["startup"]


def test_synthetic_specs_are_deterministic() -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import synth

    assert synth.text(50) == synth.text(50)
    assert synth.text(50, seed=1) != synth.text(50)


def test_rss_report_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "rss.py"),
            str(REPO / "specs" / "rlm-hypervisor.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.splitlines()[-1].startswith("build process ")


def test_platform_benchmark_runs(tmp_path: Path) -> None:
    report = _report(tmp_path, "synth_platform.py", "measure", "2", "4")
    assert report["services"] == 2 and report["output_bytes"] > 0
    assert {"cold_1_job_seconds", "no_change_seconds", "one_changed_seconds"} <= set(report)
