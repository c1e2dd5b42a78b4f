"""Safe YAML loading with a source map from JSON pointer to line and column.

The document is composed into YAML nodes (by libyaml when available) and turned
into plain Python data here, so that every value keeps where it came from.
Duplicate keys and non-standard tags are errors: YAML would silently keep the
last duplicate, which hides mistakes in a hand-written spec.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.spec.diagnostics import Diagnostic, Severity, join_pointer

try:  # libyaml is an order of magnitude faster; fall back to pure Python.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_CORE_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TEXT_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"}
# The deepest nesting a spec can plausibly need; deeper input is refused, not recursed into.
MAX_DEPTH = 64
# The largest spec file read (a 30,000-metric spec is about 9 MB).
MAX_BYTES = 64 * 1024 * 1024
# Aliases share one node that is expanded at every use, so 500 bytes of nested aliases can
# expand to billions of values. A document without aliases has at most two values per
# byte; aliases may add this many more before the document is refused.
ALIAS_ALLOWANCE = 100_000

Position = tuple[int, int]


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a document starts, 1-based."""

    values: dict[str, Position] = dataclasses.field(default_factory=dict)
    keys: dict[str, Position] = dataclasses.field(default_factory=dict)
    # Scalar spans (start index, end index) into the text, for positions inside values.
    spans: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)

    def value(self, pointer: str) -> Position:
        """The position of the value at `pointer`, or of its nearest located ancestor."""
        while True:
            if pointer in self.values:
                return self.values[pointer]
            if not pointer:
                return (1, 1)
            pointer = pointer.rsplit("/", 1)[0]

    def key(self, pointer: str) -> Position:
        """The position of the key that holds `pointer` (falls back to the value)."""
        return self.keys.get(pointer) or self.value(pointer)


@dataclass
class LoadedSpec:
    path: str  # as displayed in diagnostics
    text: str
    data: Any
    source_map: SourceMap
    # A composed spec (includes, an environment's overlay) has values from several files:
    # for each of its pointers, the file and pointer the value came from. None: all its own.
    origins: dict[str, tuple[LoadedSpec, str]] | None = None

    def origin(self, pointer: str) -> tuple[LoadedSpec, str]:
        """The file that holds the value at `pointer`, and its pointer there (a pointer to
        a value that is absent continues from its nearest present ancestor)."""
        if self.origins is None:
            return self, pointer
        ancestor, suffix = pointer, ""
        while ancestor not in self.origins:
            if not ancestor:
                return self, pointer
            ancestor, last = ancestor.rsplit("/", 1)
            suffix = f"/{last}{suffix}"
        doc, there = self.origins[ancestor]
        return doc.origin(there + suffix)

    def has(self, pointer: str) -> bool:
        """Whether the document holds a value at `pointer`."""
        if self.origins is not None:
            return pointer in self.origins
        return pointer in self.source_map.values

    def diagnostic(
        self,
        pointer: str,
        message: str,
        hint: str = "",
        *,
        check: str,
        at_key: bool = False,
        severity: Severity = "error",
    ) -> Diagnostic:
        doc, there = self.origin(pointer)
        line, col = doc.source_map.key(there) if at_key else doc.source_map.value(there)
        return Diagnostic(
            doc.path, line, col, there, message, hint, severity, subject=pointer, check=check
        )

    def diagnostic_in_value(
        self,
        pointer: str,
        fragment: str,
        message: str,
        hint: str = "",
        occurrence: int = 0,
        *,
        check: str,
        severity: Severity = "error",
    ) -> Diagnostic:
        """A diagnostic located at `fragment` inside the scalar at `pointer`."""
        doc, there = self.origin(pointer)
        line, col = doc.position_in_value(there, fragment, occurrence)
        return Diagnostic(
            doc.path, line, col, there, message, hint, severity, subject=pointer, check=check
        )

    def written(self, pointer: str) -> str | None:
        """The scalar at `pointer` as its file spells it."""
        doc, there = self.origin(pointer)
        span = doc.source_map.spans.get(there)
        return None if span is None else doc.text[span[0] : span[1]]

    def line_of(self, pointer: str) -> int:
        doc, there = self.origin(pointer)
        return doc.source_map.value(there)[0]

    def position_in_value(self, pointer: str, fragment: str, occurrence: int = 0) -> Position:
        """Line and column of `fragment` inside the raw text of the scalar at `pointer`
        (of this file's own text).

        Works for every scalar style because it searches the source text itself;
        falls back to the start of the value when the fragment is not found verbatim
        (an escape sequence or a line fold in the middle of it).
        """
        span = self.source_map.spans.get(pointer)
        if span is None:
            return self.source_map.value(pointer)
        raw = self.text[span[0] : span[1]]
        index = -1
        for _ in range(occurrence + 1):
            index = raw.find(fragment, index + 1)
            if index < 0:
                return self.source_map.value(pointer)
        absolute = span[0] + index
        line = self.text.count("\n", 0, absolute) + 1
        col = absolute - (self.text.rfind("\n", 0, absolute) + 1) + 1
        return (line, col)


class SpecLoadError(Exception):
    """The file is not loadable YAML; carries located diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("\n".join(d.format() for d in diagnostics))
        self.diagnostics = diagnostics


class _Builder:
    def __init__(self, display_path: str, text_length: int):
        self.path = display_path
        self.source_map = SourceMap()
        self.errors: list[Diagnostic] = []
        self._constructor = yaml.constructor.SafeConstructor()
        self._budget = 2 * text_length + ALIAS_ALLOWANCE  # values left to build
        self._overspent = False
        # merge keys resolved per mapping node (the document holds the nodes alive)
        self._merged: dict[int, list[tuple[yaml.Node, yaml.Node]]] = {}
        self._texts: dict[str, str] = {}

    def text(self, composed: str) -> str:
        """The document's copy of a string the composer made: one object per distinct
        text, allocated apart from the nodes. Kept as the composer made it, each string
        would pin the memory of the nodes and marks around it after they are freed (a
        30,000-metric spec: 350 MB)."""
        found = self._texts.get(composed)
        if found is None:
            found = self._texts[composed] = (" " + composed)[1:]
        return found

    def over_budget(self, node: yaml.Node, pointer: str) -> bool:
        """Whether the budget, already counted down for this value, is spent."""
        if self._budget >= 0:
            return False
        if not self._overspent:  # report once, at the value that crossed the line
            self._overspent = True
            self.error(
                node.start_mark,
                pointer,
                f"YAML aliases expand this document past {ALIAS_ALLOWANCE:,} more values "
                "than its text holds (an alias bomb?)",
                "write the repeated parts out, or alias them less deeply",
            )
        return True

    def error(
        self,
        mark: yaml.Mark,
        pointer: str,
        message: str,
        hint: str = "",
        *,
        check: str = "yaml/unsupported",
    ) -> None:
        self.errors.append(
            Diagnostic(
                self.path, mark.line + 1, mark.column + 1, pointer, message, hint, check=check
            )
        )

    def build(self, node: yaml.Node, pointer: str, depth: int = 0) -> Any:
        # The hot loop of a load (a value per call): the budget is counted inline, and an
        # item's pointer joined here (an index needs no escaping).
        self._budget -= 1
        if self._budget < 0 and self.over_budget(node, pointer):
            return None
        mark = node.start_mark
        self.source_map.values[pointer] = (mark.line + 1, mark.column + 1)
        if depth > MAX_DEPTH:
            self.error(mark, pointer, f"nesting deeper than {MAX_DEPTH} levels")
            return None
        tag = node.tag
        if tag not in _CORE_TAGS:
            self.error(
                mark,
                pointer,
                f"unsupported YAML tag {tag!r}",
                "specs use plain YAML: remove the tag",
            )
            return None
        kind = type(node)
        if kind is yaml.ScalarNode:
            self.source_map.spans[pointer] = (mark.index, node.end_mark.index)
            if tag in _TEXT_TAGS:  # most scalars: no constructor needed
                return self.text(node.value)  # and a date is text to us, not a datetime
            try:
                return self._constructor.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, OverflowError) as exc:
                self.error(mark, pointer, f"invalid scalar: {exc}", check="yaml/syntax")
                return None
        if kind is yaml.SequenceNode:
            return [
                self.build(item, f"{pointer}/{index}", depth + 1)
                for index, item in enumerate(node.value)
            ]
        assert isinstance(node, yaml.MappingNode)  # the three node kinds of YAML
        return self._build_mapping(node, pointer, depth)

    def _build_mapping(self, node: yaml.MappingNode, pointer: str, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        keys = self.source_map.keys
        for key_node, value_node in self._pairs(node, pointer):
            if type(key_node) is not yaml.ScalarNode or key_node.tag == _MERGE_TAG:
                self.error(key_node.start_mark, pointer, "mapping keys must be plain strings")
                continue
            key = self.text(str(key_node.value))  # `on: true`: the text as written
            child = join_pointer(pointer, key)
            if key in result:
                first_line, first_col = keys[child]
                self.error(
                    key_node.start_mark,
                    child,
                    f"duplicate key {key!r} (first defined at line {first_line}, "
                    f"column {first_col})",
                    "YAML would silently keep only the last value: remove one of them",
                    check="yaml/duplicate-key",
                )
                continue
            mark = key_node.start_mark
            keys[child] = (mark.line + 1, mark.column + 1)
            result[key] = self.build(value_node, child, depth + 1)
        return result

    def _pairs(self, node: yaml.MappingNode, pointer: str) -> list[tuple[yaml.Node, yaml.Node]]:
        """Key/value nodes with YAML merge keys (`<<: *anchor`) applied, explicit keys winning.
        Each mapping is resolved once (an aliased merge source is met again and again) and
        every pair counts against the alias budget."""
        cached = self._merged.get(id(node))
        if cached is not None:
            return cached
        pairs = self._resolve_pairs(node, pointer)
        self._merged[id(node)] = pairs
        self._budget -= len(pairs)
        if self._budget < 0 and self.over_budget(node, pointer):
            return []
        return pairs

    def _resolve_pairs(
        self, node: yaml.MappingNode, pointer: str
    ) -> list[tuple[yaml.Node, yaml.Node]]:
        if not any(key_node.tag == _MERGE_TAG for key_node, _ in node.value):
            return node.value  # no `<<`: the pairs as written
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        own: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                own.append((key_node, value_node))
                continue
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    self.error(source.start_mark, pointer, "'<<' merges only mappings")
                    continue
                merged.extend(self._pairs(source, pointer))
        own_keys = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        inherited: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in merged:
            if key_node.value not in own_keys:
                inherited[key_node.value] = (key_node, value_node)
        return list(inherited.values()) + own


_BLOCK_INDICATOR_AFTER_KEY = re.compile(r":\s+[>|]\s*[^\s#+\-0-9]|:\s+>\s*[0-9]")


# What PyYAML's words for the common slips of a hand-written spec mean for its author.
_SYNTAX_HINTS = (
    ("found a tab character", "indent with spaces: YAML does not allow tabs in indentation"),
    (
        "did not find expected '-' indicator",
        "this line is indented like an item of the list above, but does not start with '- ': "
        "line an item's keys up under its first key, after the '- '",
    ),
    (
        "while parsing a block mapping: did not find expected key",
        "this line's indentation matches no key above it: keys of one mapping line up, and "
        "a list item's keys line up after its '- '",
    ),
    ("mapping values are not allowed here", "a value with ': ' in it must be quoted"),
    (
        "found character '@' that cannot start any token",
        "a value that starts with @ or ` must be quoted",
    ),
)


_OPENING_QUOTE = re.compile(r"""^\s*(?:-\s+)?[^\s#'"][^:#]*:\s+(["'])""")


def _unclosed_quote(
    lines: list[str], context: yaml.Mark | None, problem: yaml.Mark
) -> tuple[tuple[int, int], str] | None:
    """((line, column), quote) of the first value between the block YAML was reading and
    the problem's line that opens a quote its line does not close, if any."""
    start = context.line if context is not None else max(0, problem.line - 10)
    for index in range(start, min(problem.line, len(lines))):
        match = _OPENING_QUOTE.match(lines[index])
        if match is None:
            continue
        quote, rest = match[1], lines[index][match.end() :]
        closed = rest.replace('\\"', "").count('"') if quote == '"' else rest.count("'") % 2
        # the quote that closed it runs to the problem's line (a value quoted over several
        # lines on purpose is valid YAML: the problem is elsewhere then, without a quote)
        reached = problem.line < len(lines) and quote in lines[problem.line]
        if closed == 0 and reached:
            return (index + 1, match.start(1) + 1), quote
    return None


def _syntax_error(path: str, text: str, exc: yaml.MarkedYAMLError) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    problem = exc.problem or "invalid YAML"
    if exc.context:
        problem = f"{exc.context}: {problem}"
    hint = ""
    lines = text.splitlines()
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    if _BLOCK_INDICATOR_AFTER_KEY.search(source_line) or "block scalar" in problem:
        hint = 'a level such as > 200ms must be quoted: warning: "> 200ms"'
        mark = exc.context_mark or mark  # the '>' that YAML took for a block scalar
    else:
        hint = next((h for words, h in _SYNTAX_HINTS if words in problem), "")
    if mark is not None and (unclosed := _unclosed_quote(lines, exc.context_mark, mark)):
        # a value whose closing quote is missing runs on into the next lines until a quote
        # there closes it, and YAML reports where that leaves it: said where it opens
        (at_line, at_col), quote = unclosed
        return Diagnostic(
            path,
            at_line,
            at_col,
            "",
            f"YAML syntax error: this quoted value is not closed ({problem} at line {line})",
            f"end it with {quote} on this line",
            check="yaml/syntax",
        )
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Diagnostic(
        path, line, col, "", f"YAML syntax error: {problem}", hint, check="yaml/syntax"
    )


def load_text(text: str, display_path: str) -> LoadedSpec:
    """Parse `text`; raise SpecLoadError with located diagnostics on any problem."""
    if len(text) > MAX_BYTES:
        raise SpecLoadError([_too_large(display_path)])
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        raise SpecLoadError([_syntax_error(display_path, text, exc)]) from None
    except yaml.YAMLError as exc:  # reader errors: control characters and the like
        raise SpecLoadError(
            [Diagnostic(display_path, 1, 1, "", f"unreadable YAML: {exc}", check="yaml/syntax")]
        ) from None
    except RecursionError:
        raise SpecLoadError(
            [
                Diagnostic(
                    display_path,
                    1,
                    1,
                    "",
                    f"nesting deeper than {MAX_DEPTH} levels",
                    check="yaml/unsupported",
                )
            ]
        ) from None
    if not nodes:
        raise SpecLoadError(
            [Diagnostic(display_path, 1, 1, "", "the spec is empty", check="file/unreadable")]
        )
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise SpecLoadError(
            [
                Diagnostic(
                    display_path,
                    mark.line + 1,
                    mark.column + 1,
                    "",
                    "a spec file holds one YAML document; found a second one",
                    "put each service in its own file",
                    check="yaml/unsupported",
                )
            ]
        )
    builder = _Builder(display_path, len(text))
    data = builder.build(nodes[0], "")
    if builder.errors:
        raise SpecLoadError(builder.errors)
    return LoadedSpec(display_path, text, data, builder.source_map)


def _too_large(shown: str) -> Diagnostic:
    return Diagnostic(
        shown,
        1,
        1,
        "",
        f"the spec is larger than {MAX_BYTES // (1024 * 1024)} MiB",
        "split the service into several specs",
        check="file/unreadable",
    )


def read_spec_bytes(path: Path, shown: str) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES; a FIFO, a device or a directory
    is refused before it is opened for reading (reading one could block or never end)."""
    try:
        kind = path.stat().st_mode
        if not stat.S_ISREG(kind):
            what = "a directory" if stat.S_ISDIR(kind) else "not a regular file"
            raise SpecLoadError(
                [
                    Diagnostic(
                        shown,
                        1,
                        1,
                        "",
                        f"cannot read: {what}",
                        "give a .yaml file",
                        check="file/unreadable",
                    )
                ]
            )
        # O_NONBLOCK: a file swapped for a FIFO after the check still cannot block the open
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise SpecLoadError(
                    [
                        Diagnostic(
                            shown,
                            1,
                            1,
                            "",
                            "cannot read: not a regular file",
                            check="file/unreadable",
                        )
                    ]
                )
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SpecLoadError(
            [Diagnostic(shown, 1, 1, "", f"cannot read: {exc.strerror}", check="file/unreadable")]
        ) from None
    if len(raw) > MAX_BYTES:
        raise SpecLoadError([_too_large(shown)])
    return raw


def load_file(path: Path, display_path: str | None = None) -> LoadedSpec:
    shown = display_path or str(path)
    return load_text(decode_spec(read_spec_bytes(path, shown), shown), shown)


def decode_spec(raw: bytes, shown: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecLoadError(
            [Diagnostic(shown, line, 1, "", "the file is not valid UTF-8", check="file/unreadable")]
        ) from None
