"""Located problems found in a spec, and how they are printed."""

from __future__ import annotations

import dataclasses
from typing import Literal

from rlmgen.compiled_dataclasses import dataclass

Severity = Literal["error", "warning"]

# Line breaks and other control characters from spec text must not break the
# one-diagnostic-per-line contract that editors and CI annotations rely on.
_UNPRINTABLE = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
}


def one_line(text: str) -> str:
    return text.translate(_UNPRINTABLE)


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem, located by file, 1-based line/column and JSON pointer."""

    file: str
    line: int
    col: int
    pointer: str
    message: str
    hint: str = ""
    severity: Severity = "error"
    # the pointer in the composed document (a spec with includes or environments), where
    # `pointer` is the one in `file`
    subject: str = dataclasses.field(default="", compare=False, repr=False)
    # the stable id of the check that found it (rlmgen.spec.checks)
    check: str = dataclasses.field(default="", compare=False)

    def format(self) -> str:
        where = self.pointer or "/"
        text = f"{self.file}:{self.line}:{self.col}: {where}: {self.message}"
        if self.severity == "warning":
            text = f"{self.file}:{self.line}:{self.col}: {where}: warning: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        if self.check:
            text += f" [{self.check}]"
        return one_line(text)

    def as_json(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        del data["subject"]
        return data


def sort_key(d: Diagnostic) -> tuple[str, int, int, str, str]:
    return (d.file, d.line, d.col, d.pointer, d.message)


def escape_pointer_token(token: str | int) -> str:
    text = str(token)
    if "~" in text or "/" in text:
        return text.replace("~", "~0").replace("/", "~1")
    return text


def join_pointer(base: str, token: str | int) -> str:
    return f"{base}/{escape_pointer_token(token)}"
