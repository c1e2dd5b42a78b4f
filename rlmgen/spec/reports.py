"""Diagnostics in the formats CI systems read: GitHub Actions workflow commands and
SARIF 2.1.0 (code scanning)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote

from rlmgen import __version__
from rlmgen.spec.checks import CHECKS, docs_url
from rlmgen.spec.diagnostics import Diagnostic

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"error": "error", "warning": "warning"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github(diagnostics: Sequence[Diagnostic]) -> str:
    """One `::error file=...,line=...,col=...,title=...::message` line per diagnostic."""
    lines = []
    for d in diagnostics:
        message = f"{d.pointer or '/'}: {d.message}" + (f" (hint: {d.hint})" if d.hint else "")
        properties = (
            f"file={_escape_property(d.file)},line={d.line},col={d.col},"
            f"title={_escape_property(_title(d))}"
        )
        lines.append(f"::{d.severity} {properties}::{_escape_data(message)}")
    return "".join(line + "\n" for line in lines)


def _title(d: Diagnostic) -> str:
    return f"rlmgen {d.severity}" + (f" [{d.check}]" if d.check else "")


def sarif(diagnostics: Sequence[Diagnostic]) -> str:
    """SARIF 2.1.0 with one rule per check id (every check rlmgen has, so rule indices are
    stable across runs), each linking its docs/checks.md entry."""
    rule_ids = list(CHECKS)
    index = {check_id: i for i, check_id in enumerate(rule_ids)}
    results = []
    for d in diagnostics:
        text = d.message + (f" (hint: {d.hint})" if d.hint else "")
        results.append(
            {
                "ruleId": d.check,
                "ruleIndex": index[d.check],
                "level": _LEVELS[d.severity],
                "message": {"text": text},
                "locations": [
                    {
                        "physicalLocation": {
                            # a URI reference: a space or % in a file's name is escaped
                            "artifactLocation": {"uri": quote(d.file)},
                            "region": {"startLine": d.line, "startColumn": d.col},
                        },
                        "logicalLocations": [{"fullyQualifiedName": d.pointer or "/"}],
                    }
                ],
            }
        )
    rules = [
        {
            "id": check.id,
            "name": _rule_name(check.id),
            "shortDescription": {"text": check.summary},
            # GitHub code scanning wants a full description of every rule
            "fullDescription": {"text": f"{check.summary} See {check.help_uri}"},
            "helpUri": check.help_uri,
            "help": {"text": f"{check.summary} See {check.help_uri}"},
        }
        for check in (CHECKS[i] for i in rule_ids)
    ]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "rlmgen",
                        "version": __version__,
                        "informationUri": docs_url(),
                        "rules": rules,
                    }
                },
                "results": results,
                # columns count characters (code points), not SARIF's default UTF-16 units
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _rule_name(check_id: str) -> str:
    """SARIF's `name` is an identifier: promql/unknown-function -> PromqlUnknownFunction."""
    return "".join(part.capitalize() for part in check_id.replace("/", "-").split("-"))
