"""What the JSON Schema check and its compiled form (rlmgen.spec.schema_fast) must read
alike: patterns in ECMA-262's sense, and jsonschema's equality of JSON values (its
`_utils.equal` and `uniq`, for the types a YAML document holds)."""

from __future__ import annotations

import functools
import re
from typing import Any


@functools.cache
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """A JSON Schema pattern with ECMA-262's meaning: its `$` ends the text, where Python's
    `$` also matches before a final newline (`name\\n` would pass `^[a-z]+$`)."""
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


def json_equal(one: Any, two: Any) -> bool:
    """jsonschema's equality: true and 1 differ, 1 and 1.0 do not, lists and mappings
    compared item by item."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(map(json_equal, one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return len(one) == len(two) and all(
            key in two and json_equal(value, two[key]) for key, value in one.items()
        )
    if isinstance(one, bool) or isinstance(two, bool):
        return type(one) is type(two) and one == two
    return bool(one == two)


def unique(items: list[Any]) -> bool:
    """No two items equal (uniqueItems)."""
    if all(type(item) is str for item in items):
        return len(set(items)) == len(items)
    return not any(
        json_equal(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items))
    )
