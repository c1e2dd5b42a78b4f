"""Generators: pure functions `Spec -> {relative path: text}`, one module per artifact
kind. They never touch the disk, read the clock or depend on dict/set order."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from rlmgen.derive.rules import rule_groups
from rlmgen.model.types import Spec

Generator = Callable[[Spec], dict[str, str]]

# module names under rlmgen.emit, imported only when a build needs them
GENERATOR_MODULES: tuple[str, ...] = (
    "prometheus_rules",
    "promtool_tests",
    "grafana",
    "hpa",
    "prometheus_adapter",
    "alertmanager",
    "runbook",
)


# The work split in two halves of about equal time on large specs (measured by
# benchmarks/run.py): the promtool tests and the dashboards in a forked child, the rest
# here. Below PARALLEL_MIN_METRICS a fork costs more than it saves.
FORKED_GENERATORS = ("promtool_tests", "grafana")
PARALLEL_MIN_METRICS = 300


def generate(spec: Spec) -> dict[str, str]:
    """Every artifact of `spec`, in GENERATOR_MODULES order whichever process made it."""
    from rlmgen.output import parallel as forked

    if len(spec.metrics) >= PARALLEL_MIN_METRICS and forked.available():
        rule_groups(spec)  # derived once, before the fork, for both processes
        child = forked.start(lambda: _run(FORKED_GENERATORS, spec))
        here = tuple(n for n in GENERATOR_MODULES if n not in FORKED_GENERATORS)
        try:
            produced = _run(here, spec)
        except BaseException:
            child.cancel()
            raise
        produced.update(child.result())
    else:
        produced = _run(GENERATOR_MODULES, spec)
    artifacts: dict[str, str] = {}
    for name in GENERATOR_MODULES:
        for path, text in produced[name].items():
            if path in artifacts:
                raise RuntimeError(f"generators {name!r} and another both write {path!r}")
            artifacts[path] = text
    return artifacts


def _run(names: tuple[str, ...], spec: Spec) -> dict[str, dict[str, str]]:
    return {name: importlib.import_module(f"rlmgen.emit.{name}").generate(spec) for name in names}
