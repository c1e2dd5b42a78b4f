"""Validation of dashboard JSON against Grafana 11.6's published schemas (shared/schemas).

The schemas are third-party data read in place, never copied. The only tolerated
deviation is Grafana's null base threshold step (-Infinity), first step only."""

from __future__ import annotations

import copy
import functools
import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from tests.conftest import REPO

SCHEMAS = REPO.parent / "shared" / "schemas" / "grafana-dashboard-11.6"
PANEL_TYPES = ("stat", "timeseries", "heatmap", "bargauge", "gauge", "table", "text")


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    path = SCHEMAS / f"{name}.jsonschema.json"
    if not path.is_file():
        reason = f"Grafana schemas not found at {SCHEMAS} (shared/ beside the checkout)"
        if os.environ.get("RLMGEN_REQUIRE_TOOLS") == "1":
            pytest.fail(reason)  # a judge of the output is never skipped in CI
        pytest.skip(reason)
    return json.loads(path.read_text())


def _validator(name: str, definition: str | None) -> Draft7Validator:
    schema = _schema(name)
    if definition is not None:
        schema = {**schema, "$ref": f"#/definitions/{definition}"}
    return Draft7Validator(schema)


def _messages(validator: Draft7Validator, instance: Any, where: str) -> list[str]:
    problems = []
    for error in validator.iter_errors(instance):
        causes = error.context or [error]
        best = max(causes, key=lambda e: len(e.absolute_path))
        path = "/".join(map(str, best.absolute_path))
        problems.append(f"{where}/{path}: {best.message}")
    return problems


def _with_base_thresholds_as_minus_infinity(document: dict[str, Any]) -> dict[str, Any]:
    patched = copy.deepcopy(document)
    for panel in _panels(patched):
        steps = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps")
        if steps and steps[0].get("value") is None:
            steps[0]["value"] = -math.inf  # only the first step may be null
    return patched


def _panels(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in document.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))  # a collapsed row's
    return found


def units() -> set[str]:
    return {d["const"] for d in _schema("units")["definitions"].values()}


def problems(document: dict[str, Any]) -> list[str]:
    """Every schema violation of a dashboard and of its panels' options, targets and unit."""
    document = _with_base_thresholds_as_minus_infinity(document)
    found = _messages(_validator("dashboard", None), document, "dashboard")
    known_units = units()
    for panel in _panels(document):
        where = f"panel {panel.get('id')} ({panel.get('title')!r})"
        kind = panel["type"]
        if kind == "row":
            continue
        assert kind in PANEL_TYPES, kind
        found += _messages(
            _validator(kind, "Options"), panel.get("options", {}), f"{where}/options"
        )
        if "FieldConfig" in _schema(kind)["definitions"]:
            custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {})
            found += _messages(_validator(kind, "FieldConfig"), custom, f"{where}/custom")
        for target in panel.get("targets", []):
            found += _messages(_validator("prometheus", None), target, f"{where}/target")
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if unit is not None and unit not in known_units:
            found.append(f"{where}: unknown unit {unit!r}")
    return found


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
