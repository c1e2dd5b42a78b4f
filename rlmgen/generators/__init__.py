"""Generators: pure functions `Spec -> {relative path: text}`, one module per artifact
kind. They never touch the disk, read the clock or depend on dict/set order."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from rlmgen.model import Spec

Generator = Callable[[Spec], dict[str, str]]

# module names under rlmgen.generators, imported only when a build needs them
GENERATOR_MODULES: tuple[str, ...] = (
    "prometheus_rules",
    "promtool_tests",
    "grafana",
    "autoscaling",
    "prometheus_adapter",
    "alertmanager",
    "runbook",
)


def generate(spec: Spec) -> dict[str, str]:
    artifacts: dict[str, str] = {}
    for name in GENERATOR_MODULES:
        module = importlib.import_module(f"rlmgen.generators.{name}")
        for path, text in module.generate(spec).items():
            if path in artifacts:
                raise RuntimeError(f"generators {name!r} and another both write {path!r}")
            artifacts[path] = text
    return artifacts
