"""Validation in two passes, every problem of a document reported in one run:
the JSON Schema (shape and value formats), then the semantic checks (references,
uniqueness, ordering, units) that need the whole document."""

from __future__ import annotations

from rlmgen.model.validate.semantic import semantic_diagnostics
from rlmgen.spec.diagnostics import Diagnostic, sort_key
from rlmgen.spec.loader import LoadedSpec
from rlmgen.spec.schema_pass import schema_diagnostics


def validate(spec: LoadedSpec, *, strict: bool = False) -> list[Diagnostic]:
    """Every problem of `spec`; `strict` adds warnings for what no test proves."""
    found = schema_diagnostics(spec)
    if isinstance(spec.data, dict):
        found.extend(semantic_diagnostics(spec, strict=strict))
    else:
        found = [
            spec.diagnostic(
                "",
                f"a spec is a mapping of keys, got {type(spec.data).__name__}"
                if spec.data is not None
                else "the spec is empty",
            )
        ]
    unique = sorted(set(found), key=sort_key)
    return unique
