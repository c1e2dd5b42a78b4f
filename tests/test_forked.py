"""Large builds run the promtool tests generator in a forked process: same artifacts,
and a failure there is the same failure as in one process."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from rlmgen import emit as generators
from rlmgen.derive.rules import Rules, derive_rules
from rlmgen.model.types import Spec
from rlmgen.output import parallel as forked
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

    monkeypatch.setattr(generators, "PARALLEL_MIN_METRICS", 0)
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
