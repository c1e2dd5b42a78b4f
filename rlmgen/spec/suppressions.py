"""Suppression comments: `# rlmgen: disable=<check>[,<check>...]` silences a warning of
those checks reported on the comment's own line (a trailing comment) or, for a comment
alone on its line, on the next line; when that line opens a block scalar (`expr: |`), the
scalar's lines too. Errors cannot be suppressed: the output would be wrong. A suppression
that silences nothing, or names no check, is itself reported."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection, Iterable, Sequence

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.spec.checks import CHECKS
from rlmgen.spec.diagnostics import Diagnostic
from rlmgen.spec.suggest import did_you_mean

_COMMENT = re.compile(r"(?:^|\s)#\s*rlmgen:\s*disable\s*=\s*([^\s#]*)")
_BLOCK_SCALAR = re.compile(r"(?:^|[\s:-])[|>][-+0-9]*\s*(?:#.*)?$")


@dataclass(frozen=True)
class Suppression:
    file: str
    line: int  # where the comment is
    col: int  # of its '#'
    check: str
    covers: range  # the lines whose warnings it silences


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: Sequence[str], start: int) -> int:
    """The line after the block scalar opened on `start` (0-based), or start + 1."""
    line = lines[start]
    if line.lstrip().startswith("#") or not _BLOCK_SCALAR.search(line):
        return start + 1
    indent = _indent(line)
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
        end += 1
    return end


def find(file: str, text: str) -> list[Suppression]:
    """The suppression comments of one file (none inside block scalars, where a `#` is
    text)."""
    if "rlmgen:" not in text:  # nearly every file: skip the line walk
        return []
    lines = text.splitlines()
    found = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if match := _COMMENT.search(line):
            target = index
            if not line[: match.start()].strip():  # a comment alone: for the next line
                target += 1
                while target < len(lines) and lines[target].lstrip().startswith("#"):
                    target += 1
            covers = (
                range(target + 1, _block_end(lines, target) + 1)
                if target < len(lines)
                else range(0)
            )
            col = line.index("#", match.start()) + 1
            for check in filter(None, match[1].split(",")):
                found.append(Suppression(file, index + 1, col, check, covers))
        index = _block_end(lines, index)
    return found


class Suppressor:
    """The suppressions of a run's files: `filter` each unit's diagnostics, then
    `leftovers` reports the suppressions that silenced nothing or name no check."""

    def __init__(self, texts: Callable[[str], str | None], files: Collection[str]) -> None:
        self.suppressions = [s for file in sorted(files) for s in find(file, texts(file) or "")]
        self.by_place: dict[tuple[str, int, str], list[Suppression]] = {}
        for s in self.suppressions:
            for line in s.covers:
                self.by_place.setdefault((s.file, line, s.check), []).append(s)
        self.used: set[Suppression] = set()

    def filter(self, diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
        if not self.suppressions:
            return list(diagnostics)
        kept = []
        for d in diagnostics:
            silencing = self.by_place.get((d.file, d.line, d.check), [])
            self.used.update(silencing)
            if silencing and d.severity == "warning":
                continue
            if silencing:
                d = dataclasses.replace(
                    d, hint=_joined(d.hint, f"errors cannot be suppressed ({d.check}): fix it")
                )
            kept.append(d)
        return kept

    def leftovers(
        self,
        *,
        quiet_checks: Collection[str] = (),
        unfinished: Collection[str] = (),
        pointer_at: Callable[[str, int], str] = lambda _file, _line: "",
    ) -> list[Diagnostic]:
        """A warning for each suppression naming no check, and for each that silenced
        nothing, except of `quiet_checks` (the checks this run did not make) and in the
        `unfinished` files (an error there may have stopped the checks before the warning
        was due). `pointer_at(file, line)` names what a line holds."""
        found = []
        for s in self.suppressions:
            where = pointer_at(s.file, s.covers.start if s.covers else s.line)
            if s.check not in CHECKS:
                hint = did_you_mean(s.check, list(CHECKS)) or "docs/checks.md lists the ids"
                found.append(_about(s, where, f"'{s.check}' is not a check", hint, UNKNOWN))
            elif s not in self.used and s.check not in quiet_checks and s.file not in unfinished:
                found.append(
                    _about(
                        s,
                        where,
                        f"this suppression of {s.check} suppresses nothing",
                        "remove it: the warning it was for is gone, or is reported on another line",
                        UNUSED,
                    )
                )
        return found


UNUSED = "suppression/unused"
UNKNOWN = "suppression/unknown-check"


def _joined(hint: str, more: str) -> str:
    return f"{hint}; {more}" if hint else more


def _about(s: Suppression, pointer: str, message: str, hint: str, check: str) -> Diagnostic:
    return Diagnostic(s.file, s.line, s.col, pointer, message, hint, "warning", check=check)
