"""Two warnings about examples' timing say what promtool does. examples/unix-time: an
example of a rule that reads time() written with today's Unix timestamps fails (promtool's
clock starts at 0), and written in the test's time, as the hint says, it passes.
examples/sparse-samples: samples further apart than the 5m lookback break an instant read
off (a range read is fine), and sampled as the hint says, it passes."""

from __future__ import annotations

import re
from pathlib import Path

from rlmgen.pipeline import compile_specs
from tests.conftest import REPO, promtool_generated_tests

CASES = REPO / "tests" / "cases" / "invalid"


def _promtool_failures(tmp_path: Path, text: str) -> tuple[list[str], str]:
    """The spec's warnings' checks, and promtool's report of its generated tests ("" when
    they pass)."""
    tmp_path.mkdir()
    spec = tmp_path / "backup.yaml"
    spec.write_text(text)
    [result] = compile_specs([spec], tmp_path / "out")
    assert not result.errors, [d.format() for d in result.errors]
    return [d.check for d in result.diagnostics], promtool_generated_tests(tmp_path, result.files)


def test_the_flagged_examples_fail_in_promtool_and_pass_in_the_test_s_time(
    tmp_path: Path,
) -> None:
    text = (CASES / "example-unix-time.yaml").read_text(encoding="utf-8")
    checks, failures = _promtool_failures(tmp_path / "unix", text)
    assert checks == ["examples/unix-time"] * 4
    assert "backup:age_seconds:max" in failures, failures
    fired = set(re.findall(r"alertname: (\w+)", failures))
    assert fired == {"BackupStale", "BackupStaleMs", "BackupOld"}
    fixed = (
        text.replace('"1764000000+60x10"', '"600x10"')
        .replace('"_ 1699900000x1700"', '"_ 0x1700"')
        .replace('"1699900000000x1700"', '"0x1700"')
        .replace('"1700000000x1500"', '"0x1500"')
    )
    assert _promtool_failures(tmp_path / "test-time", fixed) == ([], "")


def test_sparse_samples_break_an_instant_read_off_not_a_range_read(tmp_path: Path) -> None:
    """What the warnings flag fails in promtool (an instant read with `for`; a 5m rate of
    samples 10m apart), what they leave alone passes (a long range; no `for`, checked at
    a sample), and sampled as the hints say, everything passes."""
    text = (CASES / "example-sparse-samples.yaml").read_text(encoding="utf-8")
    checks, failures = _promtool_failures(tmp_path / "sparse", text)
    assert checks == ["examples/sparse-samples", "examples/sparse-samples"]
    failed = set(re.findall(r"alertname: (\w+)", failures))
    assert failed == {"BatchQueueHigh", "BatchSlow"}, failures
    first = (
        'values: "500x10"}\n            interval: 10m\n            at: 30m\n      - name: BatchS'
    )
    fixed = text.replace(first, first.replace("500x10", "500x20").replace("10m", "5m")).replace(
        'values: "0+1x20"}\n            interval: 10m',
        'values: "0+1x20"}\n            interval: 5m',
    )
    assert fixed.count("interval: 5m\n") == 3  # BatchStalled and the quiet ones keep theirs
    assert _promtool_failures(tmp_path / "dense", fixed) == ([], "")
