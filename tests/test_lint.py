"""The code base stays ruff-clean, ruff-formatted and mypy-clean (both come with the
test extra)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize(
    "command", [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy", "rlmgen"]]
)
def test_linters(command: list[str]) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        pytest.skip(f"{command[0]} is not installed (pip install '.[test]')")
    result = subprocess.run([tool, *command[1:]], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
