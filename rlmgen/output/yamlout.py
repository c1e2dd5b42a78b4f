"""The one YAML serialiser of generated files: key order as built, block scalars for
multi-line text, no aliases, no line folding. Same data, same bytes.

The bytes are defined as what libyaml's emitter writes (PyYAML's CSafeDumper with the
options in `_libyaml_dump`). Large generated files (tens of MB of promtool tests) spent
most of their time in PyYAML's Python representers, so plain data (dicts, lists,
strings, numbers) is written by `_Emitter`, which mirrors libyaml's choices for block
style and renders each distinct scalar once. Whatever it does not mirror exactly (exotic
multi-line text, very long keys, other types) makes it give up, and the document goes
through libyaml instead: the fast path can only be faster, never different.
tests/test_yamlout.py holds both paths to the same bytes."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from typing import Any

import yaml
from yaml.resolver import Resolver

try:
    _Base: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeDumper

_STR_TAG = "tag:yaml.org,2002:str"
# libyaml writes a key longer than this (in UTF-8 bytes) as a complex `? key` entry.
_MAX_SIMPLE_KEY_BYTES = 128
# Far below the emitter's line width (10**6): no line the fast path writes can fold.
_MAX_SCALAR_CHARS = 100_000


class _Dumper(_Base):  # type: ignore[misc,valid-type]
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _block_text(text: str) -> str | None:
    """The text to write as a `|` block, or None when it stays a flow scalar. Trailing
    spaces on a line would make libyaml fall back to quoting, so such text is not asked
    for a block at all."""
    if "\n" not in text.strip("\n"):
        return None
    block = text if text.endswith("\n") else text + "\n"
    if any(line != line.rstrip() for line in block.splitlines()):
        return None
    return block


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    block = _block_text(text)
    if block is not None:
        return dumper.represent_scalar(_STR_TAG, block, style="|")
    return dumper.represent_scalar(_STR_TAG, text)


_Dumper.add_representer(str, _represent_str)


def _libyaml_dump(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=10**6,
        default_flow_style=False,
    )


def dump(data: Any) -> str:
    try:
        return _Emitter().document(data)
    except _Unsupported:
        return _libyaml_dump(data)


def dump_listing(head: dict[str, Any], key: str, items: Iterable[Any]) -> str | None:
    """`dump({**head, key: list(items)})`, byte for byte, without holding the items: each
    is written as it comes and can be freed (a large spec's promtool tests are hundreds
    of MB as Python data). None when there are no items."""
    try:
        _Emitter()._key(key)
    except _Unsupported:  # a complex `? key`: its items are not flush with it
        listed = list(items)
        return dump({**head, key: listed}) if listed else None
    chunks = _listing_chunks(head, key, iter(items))
    first = next(chunks, None)
    if first is None:
        return None
    return first + "".join(chunks)


def listing_parts(key: str, items: Iterable[Any]) -> tuple[str, list[str]]:
    """`dump({key: items})` in pieces: its first line (`key:`) and each item's text, for
    documents that list some of the same items (the pieces of any subset that is not
    empty, joined after the first line, are that subset's document). `key` is a plain
    one, as `groups`; `items` are not empty."""
    chunks = list(_listing_chunks({}, key, iter(items)))
    if not chunks:
        raise ValueError("listing_parts needs at least one item")
    return chunks[0], chunks[1:]


def _listing_chunks(head: dict[str, Any], key: str, items: Iterator[Any]) -> Iterator[str]:
    first = next(items, _NOTHING)
    if first is _NOTHING:
        return
    emitter = _Emitter()
    try:
        yield emitter.document({**head, key: []})[: -len(" []\n")] + "\n"
    except _Unsupported:
        yield _libyaml_dump({**head, key: []})[: -len(" []\n")] + "\n"
    heading = len(_libyaml_dump({key: []})) - len(" []\n") + 1  # `key:\n`
    for one in itertools.chain((first,), items):
        if type(one) is Written:
            yield one
            continue
        # an item is written the same whatever its neighbours (block style, no aliases):
        # libyaml writes only the one the fast path gives up on
        try:
            yield emitter.item(one)
        except _Unsupported:
            yield _libyaml_dump({key: [one]})[heading:]


_NOTHING = object()


class _Unsupported(Exception):
    """Input the fast path does not mirror byte for byte; libyaml writes it."""


Unsupported = _Unsupported


class Written(str):
    """An item of `dump_listing` already written as `_Emitter.item` would write it (by a
    caller with a fixed layout, using `Scalars` for every key and value), taken as is."""


class Scalars:
    """Keys and values as the emitter writes them, for text laid out by hand; raises
    Unsupported where the emitter would hand the document to libyaml (the caller then
    passes the data instead)."""

    def __init__(self) -> None:
        self._emitter = _Emitter()

    def key(self, key: str) -> str:
        return self._emitter._keys.get(key) or self._emitter._key(key)

    def value(self, text: str, block_indent: int) -> str:
        """A string value; `block_indent` is its key's indent plus two (where a block
        scalar's lines go)."""
        return self._emitter._scalars.get(text) or self._emitter._string(text, block_indent)


# Printable ASCII: the characters whose plain/quoted choice is decided below without
# libyaml. Anything else in a one-line string is rendered once by libyaml and cached.
_ASCII_LINE = re.compile(r"[\x20-\x7e]+")
# One-line characters in libyaml's sense: printable (\x20-\x7e, \xa0-\ud7ff, \ue000-\ufffd
# but the BOM), no line break of any kind (\r, \x85, U+2028 and U+2029 all count as
# breaks there). Written as what they exclude: `re` compiles a class of wide ranges one
# character at a time (9 ms of every start for these two), its complement at once.
_NOT_PRINTABLE = r"\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe-\U0010ffff"
_LIBYAML_LINE = re.compile(rf"[^\n{_NOT_PRINTABLE}]*")
# Text a `|` block writes verbatim: printable characters and \n as the only break.
_BLOCK_TEXT = re.compile(rf"[^{_NOT_PRINTABLE}]*")
# Indicators that forbid a plain scalar in block context (libyaml's analyze_scalar).
_FIRST_CHAR_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")


def _plain_allowed(text: str) -> bool:
    """libyaml's `block_plain_allowed` for non-empty printable ASCII on one line."""
    first = text[0]
    if first == " " or text[-1] == " " or text.startswith(("---", "...")):
        return False
    if first in _FIRST_CHAR_INDICATORS:
        return False
    if first in "?:-" and (len(text) == 1 or text[1] == " "):
        return False
    rest = text[1:]
    return not (": " in rest or rest.endswith(":") or " #" in text)


def _resolves_to_str(text: str) -> bool:
    """Whether a plain scalar reads back as a string (PyYAML's implicit resolvers)."""
    resolvers = Resolver.yaml_implicit_resolvers
    for tag, pattern in [*resolvers.get(text[:1], ()), *resolvers.get(None, ())]:
        if pattern.match(text):
            return tag == _STR_TAG
    return True


# Plain for sure: no indicator first, no `:` or `#` anywhere (so no `: `, ` #` or trailing
# `:`), no space last. Plain as written when no implicit resolver starts with its first
# character (most label values, names and summaries).
_SURELY_PLAIN = re.compile(
    r"[A-Za-z_/(](?:[\x20-\x22\x24-\x39\x3b-\x7e]*[\x21-\x22\x24-\x39\x3b-\x7e])?"
)


def _one_line_scalar(text: str) -> str:
    resolvers = Resolver.yaml_implicit_resolvers
    if _SURELY_PLAIN.fullmatch(text) and text[0] not in resolvers and None not in resolvers:
        return text
    if _ASCII_LINE.fullmatch(text):
        if _plain_allowed(text) and _resolves_to_str(text):
            return text
        return "'" + text.replace("'", "''") + "'"
    if not _LIBYAML_LINE.fullmatch(text):
        raise _Unsupported
    # Empty or non-ASCII: as libyaml writes it as a mapping value ("k: <scalar>\n").
    return _libyaml_dump({"k": text})[3:-1]


class _Emitter:
    """libyaml's block style: keys at their mapping's indent, sequences in a mapping
    flush with their key, `- ` items whose mappings continue on the dash's line, empty
    collections as `{}`/`[]`, and block scalars indented two past their parent."""

    def __init__(self) -> None:
        self._out: list[str] = []
        self._scalars: dict[str, str] = {}  # one-line strings, as values
        self._keys: dict[str, str] = {}  # the same, checked to be simple keys

    def document(self, data: Any) -> str:
        kind = type(data)
        if kind is dict and data:
            self._mapping(data, 0, "")
        elif kind is list and data:
            self._sequence(data, 0, "")
        elif kind is dict:
            return "{}\n"
        elif kind is list:
            return "[]\n"
        else:
            raise _Unsupported
        return "".join(self._out)

    def item(self, data: Any) -> str:
        """One item of a top-level mapping's list (written flush with its key)."""
        self._out = []
        self._sequence([data], 0, "")
        return "".join(self._out)

    def _mapping(self, mapping: dict[Any, Any], indent: int, first_prefix: str) -> None:
        append = self._out.append
        keys, scalars = self._keys, self._scalars
        pad = " " * indent
        prefix = first_prefix
        for key, value in mapping.items():
            key_text = keys.get(key) or self._key(key)
            if type(value) is str:  # the bulk of generated files: one line per entry
                text = scalars.get(value) or self._string(value, indent + 2)
                append(f"{prefix}{key_text}: {text}\n")
            else:
                append(f"{prefix}{key_text}:")
                self._value(value, indent)
            prefix = pad

    def _sequence(self, items: list[Any], indent: int, first_prefix: str) -> None:
        append = self._out.append
        pad = " " * indent
        prefix = first_prefix
        for item in items:
            append(prefix)
            prefix = pad
            append("-")
            self._item(item, indent)

    def _value(self, value: Any, key_indent: int) -> None:
        """A mapping value, after `key:`."""
        kind = type(value)
        if kind is dict and value:
            self._out.append("\n")
            self._mapping(value, key_indent + 2, " " * (key_indent + 2))
        elif kind is list and value:  # flush with its key
            self._out.append("\n")
            self._sequence(value, key_indent, " " * key_indent)
        else:
            self._scalar(value, key_indent + 2)

    def _item(self, item: Any, dash_indent: int) -> None:
        """A sequence item, after `-`: a collection starts on the dash's line."""
        kind = type(item)
        if kind is dict and item:
            self._mapping(item, dash_indent + 2, " ")
        elif kind is list and item:
            self._sequence(item, dash_indent + 2, " ")
        else:
            self._scalar(item, dash_indent + 2)

    def _scalar(self, value: Any, block_indent: int) -> None:
        kind = type(value)
        out = self._out
        if kind is str:
            out.append(" ")
            out.append(self._string(value, block_indent))
            out.append("\n")
        elif kind is dict:
            out.append(" {}\n")
        elif kind is list:
            out.append(" []\n")
        else:
            out.append(" ")
            out.append(_other_scalar(value))
            out.append("\n")

    def _key(self, key: Any) -> str:
        """A key as written (and cached): a one-line string short enough to be simple."""
        if type(key) is not str or "\n" in key:
            raise _Unsupported
        if len(key) * 4 > _MAX_SIMPLE_KEY_BYTES and len(key.encode()) > _MAX_SIMPLE_KEY_BYTES:
            raise _Unsupported
        rendered = self._keys[key] = self._scalars.get(key) or _one_line_scalar(key)
        return rendered

    def _string(self, text: str, block_indent: int) -> str:
        rendered = self._scalars.get(text)
        if rendered is not None:
            return rendered
        if len(text) > _MAX_SCALAR_CHARS:
            raise _Unsupported
        if "\n" not in text:
            rendered = self._scalars[text] = _one_line_scalar(text)
            return rendered
        # Block scalars depend on their indent: rendered every time, not cached.
        return _literal_block(text, block_indent)


def _literal_block(text: str, indent: int) -> str:
    block = _block_text(text)
    # libyaml adds an indentation hint for a leading space or break and a `+` chomping
    # hint (and a document end marker) for several trailing breaks: left to it.
    if (
        block is None
        or block[0] in " \n"
        or block.endswith("\n\n")
        or not _BLOCK_TEXT.fullmatch(block)
    ):
        raise _Unsupported
    pad = " " * indent
    lines = block[:-1].split("\n")
    return "|\n" + "\n".join(pad + line if line else "" for line in lines)


def _other_scalar(value: Any) -> str:
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    if kind is float:
        return _libyaml_dump({"k": value})[3:-1]
    raise _Unsupported
