"""Markdown that spec text cannot break: escaped inline text, table cells that keep their
column count, code spans and fences longer than any backtick run inside them, and
headings whose GitHub anchors are known in advance."""

from __future__ import annotations

import re

_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")  # `&`: no entity is decoded
_BACKSLASHED = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|~&"})  # the same, escaped
# What turns a line of a paragraph into a heading (`# `, `## `), a list item (`- `, `+ `,
# `1. `, `1) `) or a setext underline (`===`, `---`). `*`, `_`, `>`, `<`, backticks and `~`
# are escaped wherever they are.
_BLOCK_START = re.compile(
    r"^([ \t]*)(?:"
    r"(#{1,6}(?=[ \t]|$)|[-+](?=[ \t]|$)|(?:=+|-+)(?=[ \t]*$))"
    r"|(\d{1,9})(?=[.)](?:[ \t]|$))"
    r")",
    re.M,
)
_BACKTICKS = re.compile(r"`+")
_PUNCTUATION = re.compile(r"[^\w\- ]", re.UNICODE)


def github_slug(heading: str) -> str:
    """GitHub's heading anchor: lowercase, punctuation dropped, spaces to '-' (`SEV-1:
    Outage` -> `sev-1-outage`). Repeats are numbered by `Headings`, not here."""
    return _PUNCTUATION.sub("", heading.strip().lower()).replace(" ", "-")


def inline(value: object) -> str:
    """Spec text as literal markdown inside a line (a heading, a table cell, after a
    label): a line break would start a new block there, so line breaks become spaces."""
    text = str(value)
    if "\n" in text or "\r" in text:
        text = " ".join(part.strip() for part in text.splitlines() if part.strip())
    return _escape_specials(text)


# C0 controls (a terminal's bell and escape sequences) other than tab and line breaks
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _escape_specials(text: str) -> str:
    if _CONTROL.search(text) is not None:
        text = _CONTROL.sub("\ufffd", text)
    if _INLINE_SPECIAL.search(text) is None:  # most text: nothing to escape, no copy
        return text
    return text.translate(_BACKSLASHED)


def destination(url: object) -> str:
    """A URL as a link destination: the schema refuses spaces and `<>`; parentheses are
    escaped so they cannot close the link."""
    return str(url).replace("(", "\\(").replace(")", "\\)")


def heading_text(value: object) -> str:
    """A heading is one line: runs of white space (line breaks too) become one space."""
    return " ".join(str(value).split())


def heading(value: object) -> str:
    """Spec text as a heading's literal markdown."""
    return inline(heading_text(value))


def text(value: object) -> str:
    """Spec text as a literal paragraph: no line of it starts a heading or a list."""
    return _BLOCK_START.sub(_escape_block_start, _escape_specials(str(value)))


# Text that already ends a sentence: its mark, then closing quotes, brackets or emphasis.
_SENTENCE_END = re.compile(r"[.?!…][\"'”’)\]*_`\\]*$")


def sentence(value: object) -> str:
    """Spec text as a paragraph that ends a sentence: a full stop is added, unless the
    text ends with one already (`Where is the queue?` stays a question)."""
    rendered = text(value).rstrip()
    return rendered if _SENTENCE_END.search(rendered) else f"{rendered}."


def _escape_block_start(match: re.Match[str]) -> str:
    indent, marker, number = match.groups()
    if number is not None:  # `1. ` starts a list: escape the dot that follows the digits
        return f"{indent}{number}\\"
    return f"{indent}\\{marker}"


def as_written(template: object) -> str:
    """An annotation as the author wrote it: rlmgen's escape of `{{` (the action that
    prints "{{") shown as the `{{` it prints."""
    return str(template).replace('{{ "{{" }}', "{{")


def cell(value: object) -> str:
    """Inline text for a table cell: one line, pipes escaped."""
    return inline(" ".join(str(value).split())) or "—"


def _longest_backticks(value: str) -> int:
    if "`" not in value:
        return 0
    return max((len(run) for run in _BACKTICKS.findall(value)), default=0)


def code(value: object, *, in_table: bool = False) -> str:
    """A code span that stays closed whatever backticks the value holds."""
    content = " ".join(str(value).split())
    fence = "`" * (_longest_backticks(content) + 1)
    if content.startswith("`") or content.endswith("`"):
        content = f" {content} "
    if in_table:
        content = content.replace("|", "\\|")
    return f"{fence}{content}{fence}"


def fence(value: str, language: str = "") -> str:
    """A fenced code block that no line of the value can close early."""
    ticks = "`" * max(3, _longest_backticks(value) + 1)
    body = value if value.endswith("\n") else value + "\n"
    return f"{ticks}{language}\n{body}{ticks}"


class Headings:
    """Anchors of a document's headings in order, numbered as GitHub numbers repeats."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def add(self, heading: str) -> str:
        slug = github_slug(heading)
        count = self._seen.get(slug, 0)
        self._seen[slug] = count + 1
        return slug if count == 0 else f"{slug}-{count}"
