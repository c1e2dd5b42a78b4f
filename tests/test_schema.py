"""The validator's schema is the published one with its references inlined."""

from __future__ import annotations

import json
from typing import Any

from rlmgen.spec.schema import schema, validation_schema


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_validation_schema_has_no_references_left() -> None:
    assert len(_refs(schema())) > 100
    assert _refs(validation_schema()) == []


def test_inlined_definitions_keep_the_referring_keywords() -> None:
    published = schema()["properties"]
    inlined = validation_schema()["properties"]
    assert published.keys() == inlined.keys()
    for name, node in published.items():
        if "$ref" in node:
            target = schema()["$defs"][node["$ref"].removeprefix("#/$defs/")]
            expected = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            assert json.dumps(inlined[name], sort_keys=True) == json.dumps(
                _inline_all(expected), sort_keys=True
            )


def _inline_all(node: Any) -> Any:
    if isinstance(node, list):
        return [_inline_all(v) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = schema()["$defs"][node["$ref"].removeprefix("#/$defs/")]
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return _inline_all({**target, **rest})
    return {k: _inline_all(v) for k, v in node.items()}
