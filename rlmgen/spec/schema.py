"""The spec language's JSON Schema, shipped inside the package.

`spec-v1.schema.json` is the published schema: standard JSON Schema 2020-12 only, for
editors (yaml-language-server), ajv and check-jsonschema, with a description on every
property and patterns that flag bad durations, levels and quantities as they are typed.
`spec-v1.validation.json` holds what rlmgen adds for its own validation, as JSON Merge
Patches (RFC 7386) keyed by the JSON pointer of the node they change: the messages of its
diagnostics (`x-error`), enum aliases (`x-aliases`), the language a value is read in
(`format`), and the removal of what is for editors only."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

SCHEMA_FILE = "spec-v1.schema.json"
VALIDATION_FILE = "spec-v1.validation.json"
API_VERSION = "rlmgen/v1"


def _read(name: str) -> str:
    from importlib import resources  # here: a valid spec's check never reads the schema

    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def schema_text() -> str:
    """The published schema, as shipped (what `rlmgen schema` prints)."""
    return _read(SCHEMA_FILE)


@functools.cache
def published_schema() -> dict[str, Any]:
    return json.loads(schema_text())


@functools.cache
def schema() -> dict[str, Any]:
    """rlmgen's reading of the schema, references kept: the published schema with the
    patches of spec-v1.validation.json applied."""
    document = copy.deepcopy(published_schema())
    for pointer, patch in json.loads(_read(VALIDATION_FILE))["patches"].items():
        _merge(_resolve(document, pointer), patch, pointer)
    return document


def _resolve(document: Any, pointer: str) -> dict[str, Any]:
    node = document
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise ValueError(f"{VALIDATION_FILE}: {pointer} names nothing in {SCHEMA_FILE}")
    if not isinstance(node, dict):
        raise ValueError(f"{VALIDATION_FILE}: {pointer} is not a schema object")
    return node


def _merge(node: dict[str, Any], patch: dict[str, Any], pointer: str) -> None:
    """RFC 7386, strict: removing a key the node lacks means the patch is stale."""
    for key, value in patch.items():
        if value is None:
            if key not in node:
                raise ValueError(f"{VALIDATION_FILE}: {pointer} has no {key!r} to remove")
            del node[key]
        elif isinstance(value, dict) and isinstance(node.get(key), dict):
            _merge(node[key], value, f"{pointer}/{key}")
        else:
            node[key] = copy.deepcopy(value)


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
