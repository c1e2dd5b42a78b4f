""" "Validated" means "builds": any spec the compile walk accepts produces its artifacts
without an exception, for specs generated from the JSON Schema (this file) and for
mutations of the shipped spec (test_fuzz.py)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, find, given, settings

from rlmgen.pipeline import Compiled, artifacts, compile_texts
from tests.spec_strategy import specs


def _compile(document: dict[str, Any]) -> Compiled:
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    [result] = compile_texts({"spec.yaml": text})
    return result


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(specs())
def test_a_generated_spec_that_validates_builds(document: dict[str, Any]) -> None:
    result = _compile(document)
    for diagnostic in result.diagnostics:
        line = diagnostic.format()
        assert "\n" not in line and line.startswith("spec.yaml:")
    assert (result.model is None) == bool(result.errors)
    if result.model is not None:
        files = artifacts(result.model)
        assert ".rlmgen-manifest" in files


REACHED = {
    "level alerts": lambda model: any(metric.alert for metric in model.metrics),
    "relative levels": lambda model: any(
        metric.levels and metric.levels.baseline for metric in model.metrics
    ),
    "hand-written alerts": lambda model: bool(model.alerts),
    "dashboards": lambda model: any(board.panels for board in model.dashboards),
    "autoscaling": lambda model: bool(model.autoscaling),
    "routing": lambda model: model.routing is not None,
}


@pytest.mark.parametrize("part", REACHED)
def test_the_generator_reaches_valid_specs_with(part: str) -> None:
    """The property above is not vacuous: specs that pass every check and have each part
    are among those generated."""

    def compiles_with_part(document: dict[str, Any]) -> bool:
        model = _compile(document).model
        return model is not None and REACHED[part](model)

    found = find(
        specs(),
        compiles_with_part,
        settings=settings(max_examples=500, database=None, deadline=None, phases=[Phase.generate]),
    )
    assert compiles_with_part(found)
