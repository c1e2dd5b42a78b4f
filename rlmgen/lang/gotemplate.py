"""The syntax of Go's text/template as Prometheus parses an alert's annotations: what
promtool refuses (`{{ }}`, `{{ if }}` without `{{ end }}`, an unknown function, a trim
marker without its space), found without promtool. What a template *prints* is
`promtemplate`'s business; this module only says whether Prometheus can parse it."""

from __future__ import annotations

import dataclasses
import re

from rlmgen.compiled_dataclasses import dataclass

# Go's builtins and the functions Prometheus adds for templates (docs: template_reference).
FUNCTIONS = frozenset(
    {
        "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print",
        "printf", "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
        "query", "first", "label", "value", "strvalue", "args", "reReplaceAll",
        "safeHtml", "match", "title", "toUpper", "toLower", "graphLink", "tableLink",
        "sortByLabel", "humanize", "humanize1024", "humanizeDuration",
        "humanizePercentage", "humanizeTimestamp", "toTime", "toDuration", "now",
        "pathPrefix", "externalURL", "parseDuration", "stripPort", "stripDomain",
    }
)  # fmt: skip
_OPENERS = {"if", "with", "range", "define", "block"}
_LITERALS = {"true", "false", "nil", "break", "continue"}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\\n]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)+')
      | (?P<variable>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
      | (?P<field>\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?)
      | (?P<number>[-+]?(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+))
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>:=|=|\||\(|\)|,)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class TemplateProblem:
    message: str
    fragment: str  # the text to locate the problem by
    hint: str = ""


def _actions(text: str) -> list[tuple[str, str]] | TemplateProblem:
    """(the action as written, its body) of every `{{ ... }}`, or the first problem."""
    found = []
    index = 0
    while (start := text.find("{{", index)) >= 0:
        end = _action_end(text, start + 2)
        if end < 0:
            return TemplateProblem("'{{' is never closed by '}}'", text[start : start + 12])
        written = text[start : end + 2]
        body = written[2:-2]
        if body.startswith("-") and not body[1:2].isspace() and not body[1:2].isdigit():
            return TemplateProblem(
                f"'{{{{-' needs a space after it to trim ('{written[:8]}...')",
                written,
                f"write '{{{{- {body[1:].strip()}' (or '{{{{ {body[1:].strip()}')",
            )
        if body.startswith("- "):
            body = body[2:]
        if body.endswith(" -"):
            body = body[:-2]
        found.append((written, body.strip()))
        index = end + 2
    return found


def _action_end(text: str, index: int) -> int:
    """Where the action's `}}` starts (quoted strings may hold braces), -1 when none."""
    quote = ""
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote != "`":
                index += 1
            elif char == quote:
                quote = ""
        elif char in '"`':
            quote = char
        elif text.startswith("}}", index):
            return index
        index += 1
    return -1


def check(text: str) -> TemplateProblem | None:
    """The first reason Prometheus would refuse `text` as a template, or None."""
    if "{{" not in text:  # a lone `}}` is text
        return None
    actions = _actions(text)
    if isinstance(actions, TemplateProblem):
        return actions
    open_blocks: list[tuple[str, str]] = []
    defined = {body.split('"')[1] for _, body in actions if body.startswith('define "')}
    for written, body in actions:
        if body.startswith("/*"):
            if not body.endswith("*/"):
                return TemplateProblem("a comment '{{/*' must end with '*/}}'", written)
            continue
        if not body:
            return TemplateProblem("an empty action '{{ }}'", written)
        tokens = _tokens(body)
        if isinstance(tokens, TemplateProblem):
            return dataclasses.replace(tokens, fragment=written)
        keyword = tokens[0][1] if tokens[0][0] == "word" else ""
        if keyword in _OPENERS:
            if len(tokens) == 1:
                return TemplateProblem(f"'{{{{ {keyword} }}}}' needs a value to test", written)
            open_blocks.append((keyword, written))
            if keyword in ("define", "block") and tokens[1][0] != "string":
                return TemplateProblem(f"'{keyword}' takes a quoted template name", written)
            problem = _pipeline(tokens[2:] if keyword in ("define", "block") else tokens[1:])
        elif keyword == "else":
            if not open_blocks or open_blocks[-1][0] not in ("if", "with", "range"):
                return TemplateProblem("'{{ else }}' outside an if, with or range", written)
            problem = _pipeline(tokens[2:]) if len(tokens) > 2 else None
        elif keyword == "end":
            if not open_blocks:
                return TemplateProblem("'{{ end }}' closes nothing", written)
            open_blocks.pop()
            problem = None
        elif keyword == "template":
            name = tokens[1][1].strip('"`') if len(tokens) > 1 else ""
            if name not in defined:
                return TemplateProblem(
                    f"template '{name}' is not defined in this text",
                    written,
                    "annotations cannot use templates defined elsewhere",
                )
            problem = None
        else:
            problem = _pipeline(tokens)
        if problem is not None:
            return dataclasses.replace(problem, fragment=written)
    if open_blocks:
        keyword, written = open_blocks[-1]
        return TemplateProblem(f"'{written}' has no '{{{{ end }}}}'", written)
    return None


def _tokens(body: str) -> list[tuple[str, str]] | TemplateProblem:
    tokens = []
    depth = 0
    for match in _TOKEN.finditer(body):
        kind = match.lastgroup or "bad"
        value = match.group(kind)
        if kind == "bad":
            return TemplateProblem(f"unexpected {value!r} in the action", "")
        depth += value == "(" if kind == "punct" else 0
        depth -= value == ")" if kind == "punct" else 0
        if depth < 0:
            return TemplateProblem("')' closes no '('", "")
        tokens.append((kind, value))
    if depth:
        return TemplateProblem("'(' is never closed", "")
    return tokens


def _pipeline(tokens: list[tuple[str, str]]) -> TemplateProblem | None:
    """Every bare word is a function Prometheus has (or true, false, nil), and every '|'
    is followed by a command."""
    previous = ""
    for kind, value in tokens:
        if kind == "word" and value not in _LITERALS and value not in FUNCTIONS:
            return TemplateProblem(
                f"'{value}' is not a function of Prometheus' templates",
                "",
                "use one of humanize, humanize1024, humanizeDuration, humanizePercentage, "
                "printf, title, toUpper, toLower, query, first, value, label",
            )
        if kind == "punct" and value == "|" and previous in ("", "|", "(", ":=", "="):
            return TemplateProblem("'|' without a command before it", "")
        previous = value if kind == "punct" else kind
    return None  # a trailing '|' parses (Go drops the empty command)
