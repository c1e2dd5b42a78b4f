from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEED_SPEC = REPO / "specs" / "rlm-hypervisor.yaml"
MINIMAL_SPEC = REPO / "tests" / "cases" / "valid" / "minimal.yaml"


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the repository root, where diagnostics show paths like specs/x.yaml."""
    monkeypatch.chdir(REPO)
    return REPO


def require_tool(name: str) -> str:
    """The path of an external judge (promtool, amtool); skip when absent, except in CI."""
    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("RLMGEN_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{name} is required (RLMGEN_REQUIRE_TOOLS=1) but not on PATH")
    pytest.skip(f"{name} is not installed (apt-get install prometheus prometheus-alertmanager)")
