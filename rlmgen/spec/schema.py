"""The spec language's JSON Schema, shipped inside the package."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

SCHEMA_FILE = "spec-v1.schema.json"
API_VERSION = "rlmgen/v1"


def schema_text() -> str:
    return resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(schema_text())


@functools.cache
def validation_schema() -> dict[str, Any]:
    """The schema with every local `$ref` replaced by the definition it names, which the
    validator uses: resolving 100,000 references in a large spec cost more than half of
    schema validation. Diagnostics are unchanged; definitions are shared, not copied."""
    document = schema()
    definitions = document["$defs"]
    resolved: dict[str, Any] = {}

    def inline(node: Any, enclosing: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, enclosing) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" not in node:
            return {k: inline(v, enclosing) for k, v in node.items() if k != "$defs"}
        name = node["$ref"].removeprefix("#/$defs/")
        if name in enclosing:  # a recursive definition cannot be inlined
            raise ValueError(f"schema definition {name!r} refers to itself")
        if name not in resolved:
            resolved[name] = inline(definitions[name], (*enclosing, name))
        siblings = {k: inline(v, enclosing) for k, v in node.items() if k != "$ref"}
        return {**resolved[name], **siblings} if siblings else resolved[name]

    return inline(document, ())
