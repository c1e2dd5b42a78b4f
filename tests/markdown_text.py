"""Reading generated markdown as a renderer does (markdown-it-py, GitHub's dialect)."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin

# The anchors come from mdit-py-plugins (GitHub's slugs, numbered as GitHub numbers
# repeats), not from rlmgen: links are checked against an independent renderer.
_PARSER = (
    MarkdownIt("commonmark")
    .enable(["table", "strikethrough"])
    .use(anchors_plugin, min_level=1, max_level=6)
)


def tokens(document: str) -> list[Token]:
    return _PARSER.parse(document)


def _inline_text(token: Token) -> str:
    return "".join(
        child.content for child in token.children or [] if child.type in ("text", "code_inline")
    )


def headings(document: str) -> list[str]:
    found, parsed = [], tokens(document)
    for index, token in enumerate(parsed):
        if token.type == "heading_open":
            found.append(_inline_text(parsed[index + 1]))
    return found


def anchors(document: str) -> list[str]:
    return [str(t.attrs["id"]) for t in tokens(document) if t.type == "heading_open"]


def outline(document: str) -> list[tuple[int, str, str]]:
    """(level, text, anchor) of every heading, in order."""
    parsed, found = tokens(document), []
    for index, token in enumerate(parsed):
        if token.type == "heading_open":
            text = _inline_text(parsed[index + 1])
            found.append((int(token.tag[1]), text, str(token.attrs["id"])))
    return found


def plain_text(document: str) -> str:
    """Everything a reader sees: inline text (unescaped), code spans and code blocks."""
    parts = []
    for token in tokens(document):
        if token.type == "inline":
            parts.append(_inline_text(token))
        elif token.type in ("fence", "code_block"):
            parts.append(token.content)
    return "\n".join(parts)


def links(document: str) -> list[str]:
    found = []
    for token in tokens(document):
        for child in token.children or []:
            if child.type == "link_open":
                found.append(str(child.attrs["href"]))
    return found


def tables(document: str) -> list[list[int]]:
    """For each table, the number of cells of each row (header included)."""
    result, current, cells = [], [], 0
    for token in tokens(document):
        if token.type == "table_open":
            current = []
        elif token.type == "tr_open":
            cells = 0
        elif token.type in ("th_open", "td_open"):
            cells += 1
        elif token.type == "tr_close":
            current.append(cells)
        elif token.type == "table_close":
            result.append(current)
    return result


def table_rows(document: str) -> list[list[str]]:
    """The rows of every table (header rows included), each as the text of its cells."""
    rows: list[list[str]] = []
    parsed = tokens(document)
    for index, token in enumerate(parsed):
        if token.type == "tr_open":
            rows.append([])
        elif token.type in ("th_open", "td_open"):
            rows[-1].append(_inline_text(parsed[index + 1]))
    return rows


def labelled_links(document: str) -> list[tuple[str, str]]:
    """(text, href) of every link."""
    found = []
    for token in tokens(document):
        children = token.children or []
        for index, child in enumerate(children):
            if child.type == "link_open":
                text = []
                for inner in children[index + 1 :]:
                    if inner.type == "link_close":
                        break
                    if inner.type in ("text", "code_inline"):
                        text.append(inner.content)
                found.append(("".join(text), str(child.attrs["href"])))
    return found
