"""The document against the JSON Schema (its shape: keys, types, enums, patterns), each
error made into a located, actionable diagnostic (unknown keys get "did you mean", enums
get the closest value). What values mean is the compile walk's (rlmgen.model.compile)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rlmgen.spec.diagnostics import Diagnostic, join_pointer
from rlmgen.spec.loader import LoadedSpec
from rlmgen.spec.patterns import ecma_pattern
from rlmgen.spec.schema import API_VERSION, validation_schema
from rlmgen.spec.suggest import did_you_mean

if TYPE_CHECKING:  # jsonschema is imported only for a document the compiled check rejects
    from jsonschema.exceptions import ValidationError

_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}
_DEPENDENCY_MESSAGES = {
    ("expr", "record"): "a metric computed by 'expr' needs 'record', the recording rule's "
    "name (level:metric:operations)",
    ("record", "expr"): "'record' names a recording rule: give its 'expr' too",
    ("levels", "unit"): "a metric with levels needs 'unit' so the levels can be converted",
}


@functools.cache
def _validator() -> Any:
    """Built once per process: compiling the schema is the expensive part."""
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError

    def pattern(
        validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
    ) -> Iterator[ValidationError]:
        if isinstance(instance, str) and not ecma_pattern(pattern).search(instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")

    checker = validators.extend(Draft202012Validator, {"pattern": pattern})
    return checker(validation_schema())


def schema_diagnostics(spec: LoadedSpec) -> list[Diagnostic]:
    """The schema's errors in `spec`: none when its compiled form (rlmgen.spec.schema_fast,
    ten times faster) finds the document valid, else jsonschema's, made diagnostics."""
    from rlmgen.spec import schema_fast

    if schema_fast.valid(spec.data):
        return []
    found: list[Diagnostic] = []
    for error in _validator().iter_errors(spec.data):
        found.extend(_convert(spec, error))
    return found


def _pointer(path: Any) -> str:
    pointer = ""
    for token in path:
        pointer = join_pointer(pointer, token)
    return pointer


def _quote_hint(spec: LoadedSpec, pointer: str, value: Any) -> str:
    """For a number or boolean where text belongs: what YAML made of the text written
    (0x20 is hex 32, `yes` is true), and the quotes that keep it text."""
    written = spec.written(pointer)
    if written is None or not isinstance(value, int | float | bool):
        return ""
    if "\n" in written or '"' in written:
        return ""
    shown = str(value).lower() if isinstance(value, bool) else str(value)
    read = f"YAML reads {written} as {shown}: " if written != shown else ""
    return f'{read}quote it to keep it as written: "{written}"'


def _type_hint(
    spec: LoadedSpec, pointer: str, value: Any, expected: Any, rule: dict[str, Any]
) -> str:
    """How to write a value of the wrong type as the type the key takes."""
    kinds = expected if isinstance(expected, list) else [expected]
    if "string" in kinds and "%" in str(rule.get("pattern", "")) and _is_number(value):
        # a percentage written as a number: 99.9 or the ratio 0.999
        percent = value * 100 if 0 < value <= 1 else value
        return f'write it as a percentage: "{percent:.10g}%"'
    if "string" in kinds:
        return _quote_hint(spec, pointer, value)
    written_percent = (
        re.fullmatch(r"\s*(-?[0-9]+(?:\.[0-9]+)?)\s*%\s*", value)
        if isinstance(value, str)
        else None
    )
    if "number" in kinds and written_percent:
        return f"write the ratio: {float(written_percent[1]) / 100:.10g}"
    if "array" in kinds and isinstance(value, str | int | float) and not isinstance(value, bool):
        items = [item for item in re.split(r"[,\s]+", str(value)) if item]
        return f"write a list: [{', '.join(items)}]" if items else ""
    if "object" in kinds and isinstance(value, list) and value:
        pairs = [item.split("=", 1) for item in value if isinstance(item, str) and "=" in item]
        if len(pairs) == len(value):
            return (
                "write a mapping: {"
                + ", ".join(f"{k.strip()}: {v.strip()}" for k, v in pairs)
                + "}"
            )
        return ""
    if "array" in kinds and isinstance(value, dict):
        return "start each item of the list with '- '"
    return ""


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    text = str(value)
    return f"the string {text[:60]!r}" if len(text) <= 60 else f"a string ({len(text)} characters)"


def _quote(value: Any) -> str:
    """A value as the author wrote it: strings quoted, anything else described."""
    return repr(value) if isinstance(value, str) and len(value) <= 60 else _describe(value)


def _convert(spec: LoadedSpec, error: ValidationError) -> list[Diagnostic]:
    pointer = _pointer(error.absolute_path)
    kind = error.validator
    rule = error.schema if isinstance(error.schema, dict) else {}
    custom = rule.get("x-error", {}).get(kind) if isinstance(rule.get("x-error"), dict) else None

    if kind in ("oneOf", "anyOf"):
        return _convert_alternatives(spec, error, pointer, custom)
    if kind == "additionalProperties":
        allowed = sorted(rule.get("properties", {}))
        extras = [k for k in error.instance if k not in rule.get("properties", {})]
        out = []
        for key in extras:
            hint = did_you_mean(key, allowed) or f"allowed keys: {', '.join(allowed)}"
            out.append(
                spec.diagnostic(
                    join_pointer(pointer, key),
                    f"unknown key '{key}'",
                    hint,
                    at_key=True,
                    check="schema/unknown-key",
                )
            )
        return out
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [
            spec.diagnostic(
                pointer,
                f"missing required key '{missing}'",
                f"begin the spec with apiVersion: {API_VERSION}"
                if (pointer, missing) == ("", "apiVersion")
                else "",
                at_key=True,
                check="schema/required",
            )
        ]
    if kind == "dependentRequired":
        for (have, need), message in _DEPENDENCY_MESSAGES.items():
            if have in error.instance and need not in error.instance:
                return [
                    spec.diagnostic(
                        join_pointer(pointer, have), message, at_key=True, check="schema/required"
                    )
                ]
        return [spec.diagnostic(pointer, error.message, check="schema/required")]
    if kind == "type" and rule.get("format") == "duration" and _is_number(error.instance):
        number = error.instance
        return [
            spec.diagnostic(
                pointer,
                f"{number} is not a duration: a duration has a unit",
                f"write {number}s or {number}m"
                if isinstance(number, int) or float(number).is_integer()
                else "write whole numbers with units, such as 90s or 1m30s",
                check="schema/type",
            )
        ]
    if kind == "type":
        expected = error.validator_value
        names = [
            _TYPE_NAMES.get(str(t), str(t))
            for t in (expected if isinstance(expected, list) else [expected])
        ]
        return [
            spec.diagnostic(
                pointer,
                f"expected {' or '.join(names)}, got {_describe(error.instance)}",
                _type_hint(spec, pointer, error.instance, expected, rule),
                check="schema/type",
            )
        ]
    if kind == "const" and pointer == "/apiVersion":
        return [
            spec.diagnostic(
                pointer,
                f"unsupported apiVersion {error.instance!r}",
                f"this rlmgen reads apiVersion: {API_VERSION}",
                check="schema/api-version",
            )
        ]
    if kind == "enum":
        choices = [str(c) for c in error.validator_value]
        hint = ""
        aliases = rule.get("x-aliases", {})
        if isinstance(error.instance, str):
            if error.instance in aliases:
                hint = f"use '{aliases[error.instance]}'"
            else:
                hint = did_you_mean(error.instance, choices) or ""
        return [
            spec.diagnostic(
                pointer,
                f"{_quote(error.instance)} is not one of: {', '.join(choices)}",
                hint,
                check="schema/enum",
            )
        ]
    if error.validator == "pattern" and error.schema_path and "propertyNames" in error.schema_path:
        key = str(error.instance)
        return [
            spec.diagnostic(
                join_pointer(pointer, key),
                f"'{key}': {custom or error.message}",
                at_key=True,
                check="schema/pattern",
            )
        ]
    hint = _pattern_fix(error.instance, rule.get("pattern")) if kind == "pattern" else ""
    if custom:
        return [
            spec.diagnostic(
                pointer, f"{_quote(error.instance)}: {custom}", hint, check=_check_of(kind)
            )
        ]
    if kind == "minLength" and pointer.endswith("/values"):  # an example series' samples
        hint = "write samples in promtool's notation, such as 0+60x10 or 1 2 3 _ 5"
    return [spec.diagnostic(pointer, _generic_message(error), hint, check=_check_of(kind))]


# Small rewrites of a value a pattern refuses, tried in turn: the first that the pattern
# takes is the hint (so a hint is never itself refused).
_REWRITES: tuple[Callable[[str], str], ...] = (
    str.strip,
    str.lower,
    lambda text: text.strip().replace(" ", "%20") if "://" in text else "",
    lambda text: "https://" + text.strip() if "://" not in text else "",
    lambda text: "#" + text.strip(),
    # CamelCase names (alerts) lose their separators; snake_case ones (metrics) get _
    lambda text: (
        re.sub(r"[-_\s]+", "", text.strip())
        if re.search("[A-Z]", text) and "://" not in text
        else ""
    ),
    lambda text: re.sub(r"[-\s]+", "_", text.strip()) if "://" not in text else "",
    lambda text: re.sub(r"[^a-z0-9-]+", "-", text.strip().lower()).strip("-"),
    lambda text: _recording_rule_name(text.strip()),
)


def _pattern_fix(value: Any, pattern: Any) -> str:
    if not isinstance(value, str) or not isinstance(pattern, str) or not value.strip():
        return ""
    compiled = ecma_pattern(pattern)
    for rewrite in _REWRITES:
        candidate = rewrite(value)
        if candidate and candidate != value and compiled.search(candidate):
            return f"did you mean '{candidate}'?"
    return ""


def _recording_rule_name(text: str) -> str:
    """`checkout_hit_ratio_rate5m` as level:metric:operations (`:checkout_hit_ratio:rate5m`
    is not a name): the trailing operation split off after the metric, at the service level."""
    match = re.fullmatch(r"([a-zA-Z_][a-zA-Z0-9_]*?)_((?:rate|increase|sum|avg|max|min)\w*)", text)
    return f"service:{match[1]}:{match[2]}" if match else ""


def _convert_alternatives(
    spec: LoadedSpec, error: ValidationError, pointer: str, custom: str | None
) -> list[Diagnostic]:
    """Report the errors of the form the author most likely meant.

    A form whose own required key is missing was not meant; of the rest, the one
    with the fewest errors is the best match. When no form is meant, or several
    match, say which forms exist and which of their keys are present.
    """
    branches: dict[object, list[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(sub.schema_path[0], []).append(sub)
    meant = [
        errors
        for errors in branches.values()
        if not any(e.validator == "required" and not e.path for e in errors)
    ]
    if meant and error.context:
        best = min(meant, key=len)
        return [d for sub in best for d in _convert(spec, sub)]
    keys = [k for form in error.validator_value for k in form.get("required", [])]
    present = [k for k in keys if isinstance(error.instance, dict) and k in error.instance]
    hint = f"found {', '.join(present)}" if present else "found none"
    message = custom or f"must match exactly one form: {', '.join(keys)}"
    return [spec.diagnostic(pointer, message, hint, at_key=True, check="schema/one-of")]


def _check_of(keyword: str) -> str:
    """The check id of a schema keyword's failure."""
    if keyword in ("pattern", "format"):
        return "schema/pattern"
    if keyword in ("enum", "const"):
        return "schema/enum"
    if keyword in ("oneOf", "anyOf", "not"):
        return "schema/one-of"
    if keyword in ("required", "dependentRequired"):
        return "schema/required"
    if keyword == "type":
        return "schema/type"
    return "schema/range"  # minimum, maximum, minItems, minLength, uniqueItems...


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _generic_message(error: ValidationError) -> str:
    value = error.validator_value
    match error.validator:
        case "minItems":
            return f"needs at least {value} item{'s' if value != 1 else ''}"
        case "minLength":
            return "must not be empty"
        case "minProperties":
            return "must not be empty"
        case "minimum":
            return f"must be at least {value}, got {error.instance}"
        case "maximum":
            return f"must be at most {value}, got {error.instance}"
        case "uniqueItems":
            return "lists the same item twice"
        case "const":
            return f"must be {value!r}"
    return error.message
