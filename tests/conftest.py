from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _leave_unrewritten(package: str) -> None:
    """pytest rewrites the asserts of every plugin's distribution, hypothesis' included,
    and with the assertion-pass hook that pytest-golden asks for, each passing assert
    inside hypothesis formats an explanation: property tests ran ten times slower.
    Hypothesis' own asserts need no explanation (its modules are not imported yet)."""
    for finder in sys.meta_path:
        marked = getattr(finder, "_must_rewrite", None)
        if isinstance(marked, set):
            marked.discard(package)


_leave_unrewritten("hypothesis")

# Tests replace functions of rlmgen (a failing emitter, a sabotaged writer): a build must
# run them, not take its result from the cache or from a worker process that does not see
# the replacement. The cache and parallel tests turn both on themselves.
os.environ["RLMGEN_CACHE"] = "0"
os.environ["RLMGEN_JOBS"] = "1"

REPO = Path(__file__).resolve().parent.parent
SEED_SPEC = REPO / "specs" / "rlm-hypervisor.yaml"
MINIMAL_SPEC = REPO / "tests" / "cases" / "valid" / "minimal.yaml"
SEED_ENVIRONMENT = "production"


def standalone(text: str) -> str:
    """A shipped spec as one file: its base, without the shared platform fragment it
    includes and without its environments (what tests that edit and compile a rich spec
    on its own start from; production is this plus the platform's PrometheusRule labels)."""
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith("include:")]
    text = "".join(lines)
    return text[: text.index("\nenvironments:\n") + 1] if "\nenvironments:\n" in text else text


SEED_TEXT = standalone(SEED_SPEC.read_text())


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


SEED_RUNBOOK = REPO.parent / "shared" / "seed" / "000_ded32a8254555b95.txt"


@pytest.fixture(scope="session")
def seed_runbook() -> str:
    """The RLM Hypervisor team's hand-written runbook: the facts the spec must carry."""
    if not SEED_RUNBOOK.is_file():
        reason = f"the seed runbook is not at {SEED_RUNBOOK} (shared/ beside the checkout)"
        if os.environ.get("RLMGEN_REQUIRE_TOOLS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return SEED_RUNBOOK.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def compiled_seed() -> dict[str, bytes]:
    """The files the RLM Hypervisor spec compiles to (compiled once per test session)."""
    from rlmgen.pipeline import compile_specs

    old = os.getcwd()
    os.chdir(REPO)
    try:
        results = compile_specs([Path("specs/rlm-hypervisor.yaml")], Path("out"))
    finally:
        os.chdir(old)
    [result] = [r for r in results if r.environment == SEED_ENVIRONMENT]
    assert not [d for r in results for d in r.errors]
    return result.files


def model_of(text: str, source: str = "specs/spec.yaml"):  # type: ignore[no-untyped-def]
    """The model a valid spec's text compiles to (the test fails on any error)."""
    from rlmgen.pipeline import compile_texts

    [result] = compile_texts({source: text})
    assert not result.errors, [d.format() for d in result.errors]
    return result.model


def seed_model():  # type: ignore[no-untyped-def]
    return model_of(SEED_TEXT, "specs/rlm-hypervisor.yaml")


def promtool_generated_tests(tmp_path: Path, files: dict[str, bytes]) -> str:
    """promtool's report of a compiled spec's generated tests run on its rules, written
    under `tmp_path` ("" when they pass)."""
    promtool = require_tool("promtool")
    for path in ("prometheus/rules.yaml", "prometheus/tests.yaml"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(files[path])
    tests = str(tmp_path / "prometheus" / "tests.yaml")
    run = subprocess.run([promtool, "test", "rules", tests], capture_output=True, text=True)
    return "" if run.returncode == 0 else run.stdout + run.stderr


def assert_promtool_proves(tmp_path: Path, text: str, before: str, after: str) -> None:
    """The spec's generated tests pass on its generated rules (which hold `before`), and
    fail once `before` is made `after` in the rules: they test what production runs."""
    from rlmgen.pipeline import compile_specs

    promtool = require_tool("promtool")
    spec = tmp_path / "levels.yaml"
    spec.write_text(text)
    [result] = compile_specs([spec], tmp_path / "out")
    assert not result.errors, [d.format() for d in result.errors]
    assert promtool_generated_tests(tmp_path, result.files) == ""
    tests = str(tmp_path / "prometheus" / "tests.yaml")
    rules = tmp_path / "prometheus" / "rules.yaml"
    assert before in rules.read_text()
    rules.write_text(rules.read_text().replace(before, after))
    run = subprocess.run([promtool, "test", "rules", tests], capture_output=True, text=True)
    assert run.returncode != 0, after
