"""Spec files compiled by several processes give what one process gives: the same bytes
in out/, the same diagnostics in the same order."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlmgen.cli import cli
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import synth_platform


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("platform")
    synth_platform.write(root, services=6, metrics=10)
    return root


def _build(root: Path, out: Path, jobs: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root)
    result = CliRunner().invoke(cli, ["-q", "build", "-j", jobs, "-o", str(out)])
    assert result.exit_code == 0, result.output


def test_parallel_and_serial_builds_are_byte_identical(
    platform: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _build(platform, tmp_path / "serial", "1", monkeypatch)
    _build(platform, tmp_path / "parallel", "3", monkeypatch)
    serial, parallel = _tree(tmp_path / "serial"), _tree(tmp_path / "parallel")
    assert len(serial) > 100 and any(name.startswith("staging/_cluster/") for name in serial)
    assert parallel == serial


def test_parallel_and_serial_diagnostics_are_the_same(
    platform: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "specs"
    broken.mkdir()
    for spec in sorted((platform / "specs").glob("*.yaml")):
        text = spec.read_text()
        if spec.name.endswith(("001.yaml", "004.yaml")):  # an error and a clash
            text = text.replace("rate(", "rat(", 1).replace("name: svc-004", "name: svc-003", 1)
        (broken / spec.name).write_text(text)
    monkeypatch.chdir(tmp_path)
    outputs = []
    for jobs in ("1", "2"):
        result = CliRunner().invoke(cli, ["validate", "-j", jobs])
        assert result.exit_code == 1
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert "[promql/unknown-function]" in outputs[0] and "[service/duplicate]" in outputs[0]


def test_jobs_come_from_the_environment_too(
    platform: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RLMGEN_JOBS", "2")
    _build(platform, tmp_path / "from-env", "2", monkeypatch)
    result = CliRunner().invoke(cli, ["check", "-o", str(tmp_path / "from-env")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["build", "-j", "0"])
    assert result.exit_code == 2 and "0 is not in the range x>=1" in result.stderr
