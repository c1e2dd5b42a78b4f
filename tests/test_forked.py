"""Builds with enough test work run the test generators (promtool's and the SLOs') in a
forked process, once for all of a spec file's environments: same artifacts, and a
failure there is the same failure as in one process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rlmgen import emit as generators
from rlmgen import pipeline
from rlmgen.derive.rules import Rules, derive_rules
from rlmgen.model.types import Spec
from rlmgen.output import parallel as forked
from tests.conftest import MINIMAL_SPEC, REPO
from tests.conftest import seed_model as compile_seed

pytestmark = pytest.mark.skipif(
    not forked.available(), reason="no fork here (Linux only, with no other thread running)"
)


@pytest.fixture
def seed_model() -> Spec:
    return compile_seed()


def generate(spec: Spec) -> dict[str, str]:
    return generators.emit_all(spec, derive_rules(spec))


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every spec forks; the list counts the forks."""
    started: list[int] = []
    start = forked.start

    def counting(function: Callable[[], Any]) -> forked.Child:
        started.append(1)
        return start(function)

    monkeypatch.setattr(generators, "FORK_MIN_WORK", 0)
    monkeypatch.setattr(forked, "start", counting)
    return started


def test_parallel_build_writes_the_same_artifacts_in_the_same_order(
    seed_model: Spec, forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    parallel = generate(seed_model)
    assert forks == [1]
    monkeypatch.setenv(forked.PARALLEL_ENV, "0")
    sequential = generate(seed_model)
    assert forks == [1]
    assert list(parallel.items()) == list(sequential.items())
    assert "prometheus/tests.yaml" in parallel


def test_an_exception_in_the_child_is_raised_again_with_its_traceback(
    seed_model: Spec, forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(spec: Spec, rules: Rules) -> dict[str, str]:
        raise ValueError("no scenario for this level")

    monkeypatch.setattr(generators, "EMITTERS", _replaced("promtool_tests", failing))
    with pytest.raises(ValueError, match="no scenario for this level") as raised:
        generate(seed_model)
    assert forks == [1]
    [note] = raised.value.__notes__
    assert note.startswith("in the generator process:\nTraceback")
    assert "in failing" in note


def test_an_exception_that_does_not_pickle_arrives_as_its_text() -> None:
    class Local(Exception):  # a local class cannot be pickled
        pass

    def failing() -> None:
        raise Local("local trouble")

    with pytest.raises(RuntimeError) as raised:
        forked.start(failing).result()
    assert raised.value.args == ("Local: local trouble",)


def test_a_child_that_dies_is_reported() -> None:
    def dying() -> None:
        os._exit(3)

    with pytest.raises(RuntimeError, match=r"a generator process died \(wait status 768\)"):
        forked.start(dying).result()


def test_results_come_back_whole() -> None:
    big = "x" * 5_000_000  # far beyond a pipe's buffer
    assert forked.start(lambda: {"text": big}).result() == {"text": big}


def test_a_failure_in_the_parent_stops_the_child(
    seed_model: Spec, forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    children: list[forked.Child] = []
    start = forked.start

    def keeping(function: Callable[[], Any]) -> forked.Child:
        children.append(start(function))
        return children[-1]

    def failing(spec: Spec, rules: Rules) -> dict[str, str]:
        raise KeyError("runbook section")

    monkeypatch.setattr(forked, "start", keeping)
    monkeypatch.setattr(generators, "EMITTERS", _replaced("runbook", failing))
    with pytest.raises(KeyError, match="runbook section"):
        generate(seed_model)
    [child] = children
    with pytest.raises(ChildProcessError):  # already reaped: no zombie left behind
        os.waitpid(child._pid, os.WNOHANG)


def _replaced(name: str, emitter: generators.Emitter) -> tuple[tuple[str, generators.Emitter], ...]:
    return tuple((n, emitter if n == name else e) for n, e in generators.EMITTERS)


def test_a_spec_files_environments_fork_once_and_build_as_in_one_process(
    forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    units = pipeline.compile_file(REPO / "specs" / "rlm-hypervisor.yaml", strict=False)
    models = [unit.model for unit in units if unit.model is not None]
    assert len(models) == 2  # production and staging
    parallel = pipeline.artifacts_of(models)
    assert forks == [1]
    monkeypatch.setenv(forked.PARALLEL_ENV, "0")
    sequential = [pipeline.artifacts(model) for model in models]
    assert forks == [1]
    assert [list(files.items()) for files in parallel] == [
        list(files.items()) for files in sequential
    ]


def test_the_seed_is_worth_a_fork_and_a_spec_with_a_few_levels_is_not(seed_model: Spec) -> None:
    """Forked work is counted in level alerts and alerting SLOs (about a millisecond and
    fifty each): the seed's is far above the threshold, one level alert's far below."""
    assert generators.forked_work([(seed_model, derive_rules(seed_model))]) >= (
        generators.FORK_MIN_WORK * 3
    )
    small = pipeline.compile_texts({"small.yaml": MINIMAL_SPEC.read_text()})[0].model
    assert small is not None
    assert generators.forked_work([(small, derive_rules(small))]) < generators.FORK_MIN_WORK


def test_importing_the_emitters_registry_imports_no_emitter() -> None:
    """Each process imports the emitters it runs, when it runs them (the child not Jinja
    nor the Grafana SDK)."""
    code = (
        "import sys, rlmgen.emit; "
        "print(sorted(m for m in sys.modules if m.startswith(('rlmgen.emit.', 'jinja2', "
        "'grafana_foundation_sdk'))))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_a_build_of_one_spec_file_forks_and_a_build_of_many_small_ones_does_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """In a build of many spec files one after the other each fork would cost more (the
    process holds every file made so far) than the seed's tests save."""
    started: list[int] = []
    start = forked.start
    monkeypatch.setattr(forked, "start", lambda function: started.append(1) or start(function))
    monkeypatch.setenv("RLMGEN_CACHE", "0")
    seed, other = REPO / "specs" / "rlm-hypervisor.yaml", REPO / "specs" / "checkout-api.yaml"
    pipeline.compile_specs([seed], tmp_path / "out", jobs=1)
    assert started == [1]
    pipeline.compile_specs([seed, other], tmp_path / "out", jobs=1)
    assert started == [1]
