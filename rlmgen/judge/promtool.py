"""`promtool test rules` on the generated test files, and what it says about a failing
test group, read from its output: the alerts it expected and got, or the samples."""

from __future__ import annotations

import math
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.output.yamlout import dump

TIMEOUT = 300.0  # seconds for one test file; a generated test takes well under one

_LABELS = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')
_EXPR = re.compile(r'^\s*expr: "(?P<expr>(?:[^"\\]|\\.)*)", time: (?P<time>[^,]+),')
_ALERT = re.compile(r"^\s*alertname: (?P<name>[^,]+), time: (?P<time>[^,]+),")
_SAMPLE = re.compile(r"^\s*(?P<which>exp|got): (?P<labels>\{.*\}) (?P<value>\S+)\s*$")


@dataclass(frozen=True)
class Alert:
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class Failure:
    """One failed check of a test group: of an alert at `time`, or of an expression."""

    time: str
    alertname: str | None = None
    expected_alerts: tuple[Alert, ...] = ()
    got_alerts: tuple[Alert, ...] = ()
    expr: str | None = None
    expected_samples: tuple[tuple[dict[str, str], float], ...] = ()
    got_samples: tuple[tuple[dict[str, str], float], ...] = ()
    text: str = ""  # promtool's own words, for what this reader does not know


def run(promtool: str, test_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, "test", "rules", test_file.name],
        cwd=test_file.parent,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def run_group(promtool: str, test_file: Path, document: dict[str, Any], index: int) -> str:
    """promtool's output for one test group of a test file, alone: what it says is then
    about that group only."""
    alone = {**document, "tests": [document["tests"][index]]}
    alone["rule_files"] = [str((test_file.parent / f).resolve()) for f in document["rule_files"]]
    with tempfile.TemporaryDirectory(prefix="rlmgen-test-") as directory:
        path = Path(directory) / "group.yaml"
        path.write_text(dump(alone), encoding="utf-8")
        result = run(promtool, path)
    return "" if result.returncode == 0 else result.stdout + result.stderr


def failures(output: str) -> list[Failure]:
    """The failures promtool reports for one test group."""
    found: list[Failure] = []
    lines = output.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if match := _ALERT.match(line):
            block, index = _block(lines, index + 1)
            expected, got = _alert_lists(block)
            found.append(
                Failure(
                    match["time"].strip(),
                    alertname=match["name"].strip(),
                    expected_alerts=expected,
                    got_alerts=got,
                    text="\n".join([line, *block]),
                )
            )
            continue
        if match := _EXPR.match(line):
            block, index = _block(lines, index + 1)
            samples: dict[str, list[tuple[dict[str, str], float]]] = {"exp": [], "got": []}
            for row in block:
                if sample := _SAMPLE.match(row):
                    samples[sample["which"]].append(
                        (_labels(sample["labels"]), _go_float(sample["value"]))
                    )
            found.append(
                Failure(
                    match["time"].strip(),
                    expr=_unquote(match["expr"]),
                    expected_samples=tuple(samples["exp"]),
                    got_samples=tuple(samples["got"]),
                    text="\n".join([line, *block]),
                )
            )
            continue
        index += 1
    return found


def _block(lines: list[str], index: int) -> tuple[list[str], int]:
    """The lines of one failure: up to the next failure or a blank line after `got`."""
    block = []
    while index < len(lines):
        line = lines[index]
        if _ALERT.match(line) or _EXPR.match(line) or line.strip().startswith("name: "):
            break
        block.append(line)
        index += 1
    return block, index


def _alert_lists(block: list[str]) -> tuple[tuple[Alert, ...], tuple[Alert, ...]]:
    lists: dict[str, list[Alert]] = {"exp": [], "got": []}
    current = "exp"
    labels: dict[str, str] | None = None
    for line in block:
        stripped = line.strip()
        if stripped.startswith("exp:"):
            current = "exp"
        elif stripped.startswith("got:"):
            current = "got"
        elif stripped.startswith("Labels:"):
            labels = _labels(stripped[len("Labels:") :])
        elif stripped.startswith("Annotations:") and labels is not None:
            lists[current].append(Alert(labels, _labels(stripped[len("Annotations:") :])))
            labels = None
    return tuple(lists["exp"]), tuple(lists["got"])


_ESCAPE = re.compile(r"\\(.)")
_ESCAPED = {"n": "\n", "t": "\t"}


def _unquote(text: str) -> str:
    """A string as Go quotes it, unquoted (`\"` -> `"`, `\n` -> newline)."""
    return _ESCAPE.sub(lambda match: _ESCAPED.get(match[1], match[1]), text)


def _labels(text: str) -> dict[str, str]:
    return {name: _unquote(value) for name, value in _LABELS.findall(text)}


def _go_float(text: str) -> float:
    """A value as Go prints it (`8.999999999999999E-01`, `+Inf`, `NaN`)."""
    try:
        return float(text)
    except ValueError:
        return math.nan
