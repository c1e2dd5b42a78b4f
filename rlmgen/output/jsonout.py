"""Indented JSON of generated files (Grafana dashboards): exactly
`json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)`, written faster.

With an indent, the standard library encodes in Python generators (its C encoder only
writes compact JSON); the dashboards of a large spec spent half their time there. This
writer builds the same text in one recursive pass, strings escaped by the standard
library's own C function. Anything outside plain JSON data (keys that are not strings,
other types) goes to json.dumps itself. tests/test_jsonout.py holds both to the same text.
"""

from __future__ import annotations

import json
from typing import Any

_escape = json.encoder.encode_basestring  # type: ignore[attr-defined]  # C when built


class _Unsupported(Exception):
    """Data json.dumps converts or refuses in ways not mirrored here."""


def dumps(document: Any) -> str:
    try:
        out: list[str] = []
        _write(document, out, "\n")
        return "".join(out)
    except _Unsupported:
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def _write(value: Any, out: list[str], newline: str) -> None:
    """`value` at the indent `newline` ends with (its items go two spaces further)."""
    kind = type(value)
    if kind is str:
        out.append(_escape(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        try:
            pairs = sorted(value.items())
        except TypeError:  # keys of several types: json.dumps's own error
            raise _Unsupported from None
        for key, item in pairs:
            if type(key) is not str:
                raise _Unsupported
            out.append(separator)
            out.append(_escape(key))
            out.append(": ")
            _write(item, out, inner)
            separator = "," + inner
        out.append(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _write(item, out, inner)
            separator = "," + inner
        out.append(newline + "]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        out.append(_float(value))
    else:  # subclasses (enums), and whatever json.dumps refuses
        raise _Unsupported


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == float("-inf"):
        return "-Infinity"
    return float.__repr__(value)
