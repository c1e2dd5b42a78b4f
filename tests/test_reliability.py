"""Builds that cannot lose files: kills and races (benchmarks/reliability.py, at a small
count here; the script runs 50 of each), and file-system faults on real mounts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import synth

RELIABILITY = REPO / "benchmarks" / "reliability.py"


def run_rounds(*args: str) -> tuple[int, dict]:
    result = subprocess.run(
        [sys.executable, str(RELIABILITY), *args], capture_output=True, text=True, timeout=300
    )
    return result.returncode, json.loads(result.stdout)


def test_kills_and_races_leave_each_service_old_or_new() -> None:
    code, report = run_rounds("--kills", "6", "--races", "4", "--metrics", "150")
    assert report["kills_failed"] == [] and report["races_failed"] == []
    assert code == 0


def test_the_kill_check_catches_a_writer_that_writes_in_place() -> None:
    code, report = run_rounds("--kills", "3", "--races", "0", "--metrics", "150", "--sabotage")
    assert code == 1
    assert len(report["kills_failed"]) >= 1  # killed as it writes: seen partial every time here
    assert all(k["after_kill"] not in ("old", "new") for k in report["kills_failed"])


def build(spec: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rlmgen", "build", str(spec), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def synthetic_spec(path: Path, metrics: int, seed: int = 0) -> Path:
    path.write_text(yaml.safe_dump(synth.spec(metrics, seed=seed), sort_keys=False))
    return path


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def small_mount(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, unmounted whatever the test does."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "mnt"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)])
    if mounted.returncode != 0:
        pytest.skip("this machine does not let root mount a tmpfs (a container without it)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_the_previous_tree_stays(
    tmp_path: Path, small_mount: Path
) -> None:
    out = small_mount / "out"
    assert build(synthetic_spec(tmp_path / "small.yaml", 10), out).returncode == 0
    before = tree(out)
    result = build(synthetic_spec(tmp_path / "big.yaml", 400), out)  # about 2.5 MB
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(f"rlmgen: cannot write {out}/synthetic/")
    assert result.stderr.splitlines()[-1].endswith(
        f": No space left on device ({out} is as it was)"
    )
    assert "Traceback" not in result.stderr
    assert tree(out) == before  # no staged leftovers either
    assert build(tmp_path / "small.yaml", out).returncode == 0


def test_a_read_only_file_system_is_one_line(tmp_path: Path, small_mount: Path) -> None:
    out = small_mount / "out"
    assert build(synthetic_spec(tmp_path / "a.yaml", 10), out).returncode == 0
    before = tree(out)
    subprocess.run(["mount", "-o", "remount,ro", str(small_mount)], check=True)
    result = build(synthetic_spec(tmp_path / "b.yaml", 10, seed=1), out)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"rlmgen: cannot write {out}/synthetic: Read-only file system ({out} is as it was)"
    ]
    assert tree(out) == before


def test_ctrl_c_is_one_line_exit_130_and_the_tree_stays_whole(tmp_path: Path) -> None:
    import signal
    import time

    out = tmp_path / "out"
    assert build(synthetic_spec(tmp_path / "a.yaml", 10), out).returncode == 0
    before = tree(out)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rlmgen",
            "build",
            str(synthetic_spec(tmp_path / "b.yaml", 1500, 1)),
            "-o",
            str(out),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.8)  # compiling: about 2 s for 1,500 metrics
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the build finished before the interrupt (a fast machine)")
    assert process.returncode == 130
    assert stderr.splitlines()[-1] == "rlmgen: interrupted"
    assert tree(out) == before
    assert not list(out.glob(".rlmgen-*"))
