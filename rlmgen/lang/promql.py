"""PromQL: parse an expression once into what rlmgen reads of it (its syntax tree, the
series it selects, its grouping), locate errors inside the expression, and suggest the
real function for a misremembered one.

promql-parser reports errors without positions, so a small tokenizer here finds the
offending token for the common mistakes.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import promql_parser

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.lang import versions
from rlmgen.lang.promtemplate import go_float
from rlmgen.lang.versions import DEFAULT_PROMETHEUS, Version, shown
from rlmgen.spec.suggest import ask, closest

# Functions and aggregations of Prometheus 2.x (what Debian's promtool judges).
FUNCTIONS = frozenset(
    [
        "abs",
        "absent",
        "absent_over_time",
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atanh",
        "avg_over_time",
        "ceil",
        "changes",
        "clamp",
        "clamp_max",
        "clamp_min",
        "cos",
        "cosh",
        "count_over_time",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "days_in_month",
        "deg",
        "delta",
        "deriv",
        "exp",
        "floor",
        "histogram_count",
        "histogram_fraction",
        "histogram_quantile",
        "histogram_sum",
        "holt_winters",
        "hour",
        "idelta",
        "increase",
        "irate",
        "label_join",
        "label_replace",
        "last_over_time",
        "ln",
        "log10",
        "log2",
        "max_over_time",
        "min_over_time",
        "minute",
        "month",
        "pi",
        "predict_linear",
        "present_over_time",
        "quantile_over_time",
        "rad",
        "rate",
        "resets",
        "round",
        "scalar",
        "sgn",
        "sin",
        "sinh",
        "sort",
        "sort_desc",
        "sqrt",
        "stddev_over_time",
        "stdvar_over_time",
        "sum_over_time",
        "tan",
        "tanh",
        "time",
        "timestamp",
        "vector",
        "year",
    ]
)
AGGREGATIONS = frozenset(
    [
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ]
)

# Names borrowed from other query languages, and the PromQL that does the job.
_KNOWN_MISTAKES = {
    "count_unique": (
        "count",
        "count(...) counts series; count by (label) (...) counts per label value",
    ),
    "count_distinct": (
        "count",
        "count(...) counts series; count by (label) (...) counts per label value",
    ),
    "distinct": ("count", "count by (label) (...) counts distinct label values"),
    "uniq": ("count", "count by (label) (...) counts distinct label values"),
    "histogram": (
        "histogram_quantile",
        "for a heatmap query the buckets: sum by (le) (rate(x_bucket[5m])); for a "
        "percentile use histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))",
    ),
    "forecast_linear": (
        "predict_linear",
        "predict_linear(v[7d], 30 * 86400) extrapolates 30 days ahead",
    ),
    "forecast": ("predict_linear", "predict_linear(v[7d], 30 * 86400) extrapolates 30 days ahead"),
    "linear_forecast": (
        "predict_linear",
        "predict_linear(v[7d], 30 * 86400) extrapolates 30 days ahead",
    ),
    "mean": ("avg", ""),
    "average": ("avg", ""),
    "median": (
        "quantile",
        "quantile(0.5, ...) across series, quantile_over_time(0.5, v[5m]) over time",
    ),
    "percentile": (
        "quantile",
        "quantile(0.99, ...) across series, or histogram_quantile for histograms",
    ),
    "derivative": ("deriv", ""),
    "moving_average": ("avg_over_time", ""),
}

_TOKEN = re.compile(
    r"""(?P<ws>\s+)|(?P<comment>\#[^\n]*)
    |(?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
    |(?P<duration>(?:\d+(?:ms|[smhdwy]))+(?![\w.]))
    |(?P<number>(?:0x[0-9a-fA-F]+|\d*\.?\d+(?:[eE][-+]?\d+)?|Inf|NaN)(?![\w]))
    |(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
    |(?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=(){}\[\],:@])
    |(?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)


class Token(NamedTuple):  # a tuple: an expression has hundreds, made in a hot loop
    kind: str
    text: str
    offset: int


@dataclass(frozen=True)
class PromQLProblem:
    message: str
    offset: int  # where in the expression (0-based)
    fragment: str  # the source text found at `offset`, to locate it in the file
    hint: str = ""
    check: str = "promql/syntax"  # the id of the check (rlmgen.spec.checks)


def tokenize(expr: str) -> list[Token]:
    return [
        Token(match.lastgroup, match.group(), match.start())  # type: ignore[arg-type]
        for match in _TOKEN.finditer(expr)
        if match.lastgroup not in _SKIPPED
    ]


_SKIPPED = ("ws", "comment")


def without_comments(expr: str) -> str:
    """The expression with its `# ...` comments removed, for text rlmgen embeds inside an
    expression of its own (a comment there would swallow the rest of the line)."""
    if "#" not in expr:
        return expr
    return "".join(m.group() for m in _TOKEN.finditer(expr) if m.lastgroup != "comment")


@dataclass(frozen=True)
class Query:
    """A valid expression and what rlmgen reads of it, parsed once."""

    text: str
    ast: promql_parser.Expr = dataclasses.field(compare=False, repr=False)
    series: tuple[str, ...]  # metric names it selects, in order of first use
    experimental: tuple[str, ...] = ()  # functions behind Prometheus' feature flag


# Deeper expressions are refused before they are walked: rlmgen's analyses recurse.
MAX_NESTING = 100


def _too_deep(tokens: list[Token]) -> Token | None:
    """The bracket that opens nesting level MAX_NESTING + 1, if any."""
    depth = 0
    for token in tokens:
        if token.text in ("(", "[", "{"):
            depth += 1
            if depth > MAX_NESTING:
                return token
        elif token.text in (")", "]", "}"):
            depth -= 1
    return None


def parse(expr: str) -> promql_parser.Expr:
    """The syntax tree; raises ValueError or RuntimeError when `expr` does not parse."""
    return promql_parser.parse(expr)


def analyse(expr: str, target: Version = DEFAULT_PROMETHEUS) -> Query | PromQLProblem:
    """The parsed query, or the problem that makes it invalid for Prometheus `target`."""
    return _analysed(expr, target)


# Each environment of a spec compiles the same expressions: each is analysed once.
@functools.lru_cache(maxsize=8192)
def _analysed(expr: str, target: Version) -> Query | PromQLProblem:
    tokens = tokenize(expr)
    if (deep := _too_deep(tokens)) is not None:
        return PromQLProblem(
            f"the expression nests deeper than {MAX_NESTING} levels",
            deep.offset,
            deep.text,
            "record the inner part as a metric of its own (expr and record)",
            check="promql/too-deep",
        )
    try:
        ast = parse(_renamed_for_the_parser(expr, tokens, target))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException
        return _explain(str(exc), expr, tokens, target)
    calls = _calls(tokens)
    problem = _compatibility(tokens, calls, target)
    if problem is not None:
        return problem
    used = {t.text for t in calls}
    return Query(
        expr,
        ast,
        series_names(ast),
        tuple(sorted(n for n in used if versions.experimental(n, target))),
    )


def _calls(tokens: list[Token]) -> list[Token]:
    """Identifiers called as functions or aggregations."""
    return [
        token
        for token, following in itertools.pairwise(tokens)
        if token.kind == "ident" and following.text in ("(", "by", "without")
    ]


def _renamed_for_the_parser(expr: str, tokens: list[Token], target: Version) -> str:
    """promql-parser knows holt_winters by its Prometheus 3 name only."""
    if target >= versions.PROMQL_UNTIL["holt_winters"][0] or "holt_winters" not in expr:
        return expr
    for token in reversed(_calls(tokens)):
        if token.text == "holt_winters":
            end = token.offset + len(token.text)
            expr = expr[: token.offset] + "double_exponential_smoothing" + expr[end:]
    return expr


def check(expr: str, target: Version = DEFAULT_PROMETHEUS) -> PromQLProblem | None:
    """None when `expr` is valid PromQL for Prometheus `target`, else the problem."""
    result = analyse(expr, target)
    return result if isinstance(result, PromQLProblem) else None


def suggest_function(name: str) -> tuple[str, str]:
    """The real function closest to `name`, and a sentence on how to use it."""
    if name in _KNOWN_MISTAKES:
        return _KNOWN_MISTAKES[name]
    close = closest(name, FUNCTIONS | AGGREGATIONS)
    return (close[0], "") if close else ("", "")


def _at(token: Token | None, expr: str) -> tuple[int, str]:
    if token is None:
        return 0, expr.strip().split("\n", 1)[0][:40] or expr
    return token.offset, token.text


def _explain(error: str, expr: str, tokens: list[Token], target: Version) -> PromQLProblem:
    if match := re.match(r"unknown function with name '([^']+)'", error):
        name = match[1]
        if name in versions.PROMQL_UNTIL and target >= versions.PROMQL_UNTIL[name][0]:
            until, successor = versions.PROMQL_UNTIL[name]
            token = _call_token(tokens, name)
            offset, fragment = _at(token, expr)
            return PromQLProblem(
                f"'{name}' was renamed '{successor}' in Prometheus {shown(until)}",
                offset,
                fragment,
                f"write {successor} (the target is {shown(target)})",
                check="promql/renamed-function",
            )
        token = _call_token(tokens, name)
        real, how = suggest_function(name)
        offset, fragment = _at(token, expr)
        hint = ask([real]) + (f" {how}" if how else "") if real else ""
        return PromQLProblem(
            f"unknown PromQL function '{name}'",
            offset,
            fragment,
            hint,
            check="promql/unknown-function",
        )
    if "expected type vector in aggregation expression, got matrix" in error:
        token = _aggregation_over_range(tokens)
        offset, fragment = _at(token, expr)
        name = token.text if token else "an aggregation"
        over_time = f"{name}_over_time"
        hint = f"to compare with the past use an offset: {name}(v) - {name}(v offset 1h)"
        if over_time in FUNCTIONS:
            hint = f"to aggregate over time use {over_time}(v[1h]); {hint}"
        return PromQLProblem(
            f"'{name}' aggregates instant vectors, but it is given a range vector",
            offset,
            fragment,
            hint,
            check="promql/range-vector",
        )
    if match := re.match(r"expected type matrix in call to function '([^']+)', got vector", error):
        token = _call_token(tokens, match[1])
        offset, fragment = _at(token, expr)
        return PromQLProblem(
            f"'{match[1]}' needs a range vector, it is given an instant vector",
            offset,
            fragment,
            f"give it a range: {match[1]}(v[5m])",
            check="promql/instant-vector",
        )
    if error == "unclosed left parenthesis":
        offset, fragment = _at(_unclosed_paren(tokens), expr)
        return PromQLProblem("unclosed '(' in PromQL", offset, fragment, "add the missing ')'")
    if misplaced := _misplaced_grouping(tokens, expr):
        keyword, func, rewrite = misplaced
        offset, fragment = _at(keyword, expr)
        return PromQLProblem(
            f"'{keyword.text}' must follow an aggregation such as sum, but here it follows "
            f"the function '{func}'",
            offset,
            fragment,
            f"aggregate the result: {rewrite}",
            check="promql/misplaced-grouping",
        )
    if found := _syntax_slip(error, tokens):
        token, message, hint = found
        offset, fragment = _at(token, expr)
        return PromQLProblem(message, offset, fragment, hint)
    offset, fragment = _at(tokens[0] if tokens else None, expr)
    if error == "invalid promql query":
        return PromQLProblem(
            "invalid PromQL: syntax error",
            offset,
            fragment,
            "check operators, parentheses and label matchers",
        )
    return PromQLProblem(f"invalid PromQL: {error}", offset, fragment)


_BINARY_OPERATORS = {">", "<", ">=", "<=", "==", "!=", "+", "-", "*", "/", "%", "^"}
_SET_OPERATORS = {"and", "or", "unless"}


def _syntax_slip(error: str, tokens: list[Token]) -> tuple[Token, str, str] | None:
    """(where, message, hint) of a common slip promql-parser reports vaguely: grouping
    labels without parentheses, an operator with nothing after it, an unclosed range,
    a duration with a space, `==` in a label matcher."""
    for token, following in itertools.pairwise(tokens):
        if token.kind == "ident" and token.text in ("by", "without") and following.kind == "ident":
            label = following.text
            return (
                token,
                f"'{token.text}' takes its labels in parentheses",
                f"write {token.text} ({label})",
            )
    if error.startswith("unexpected character inside brackets"):
        opening = next((i for i, t in enumerate(tokens) if t.text == "["), None)
        if opening is not None:
            inside = tokens[opening + 1 : opening + 3]
            kinds = [t.kind for t in inside]
            if kinds == ["number", "ident"]:
                written = inside[0].text + inside[1].text
                return (
                    tokens[opening],
                    "a range's duration is written without a space",
                    f"write [{written}]",
                )
            closing = next((t for t in tokens[opening:] if t.text in ("]", ")", "}")), None)
            if closing is not None and closing.text != "]":
                return tokens[opening], "unclosed '[' in PromQL", "close the range: [5m]"
    if error.startswith("unexpected '=' in label matching"):
        doubled = next(
            (t for t, n in itertools.pairwise(tokens) if t.text in ("==", "=") and n.text == "="),
            None,
        )
        doubled = doubled or next((t for t in tokens if t.text == "=="), None)
        if doubled is not None:
            return (
                doubled,
                "a label matcher compares with a single '='",
                'write label="value" (or != =~ !~)',
            )
    last = tokens[-1] if tokens else None
    dangling = last is not None and (
        last.text in _BINARY_OPERATORS or (last.kind == "ident" and last.text in _SET_OPERATORS)
    )
    if error == "invalid promql query" and last is not None and dangling:
        return (
            last,
            f"the expression ends with '{last.text}', which needs a right-hand side",
            "give it a right-hand side, or remove it",
        )
    return None


def _compatibility(
    tokens: list[Token], calls: list[Token], target: Version
) -> PromQLProblem | None:
    """What promql-parser (which reads today's PromQL) accepts and Prometheus `target`
    does not: newer functions, durations and numbers used for each other, quoted names;
    and number literals no Prometheus takes."""
    for token in calls:
        if problem := _function_version(token, target):
            return problem
    old = target < versions.DURATIONS_AS_NUMBERS
    opened: list[str] = []  # "[", "{", "(" or "labels(": what each open bracket holds
    depth = 0
    previous: Token | None = None
    for token in tokens:
        if token.text in ("[", "{", "("):
            depth += token.text != "("
            grouping = previous is not None and previous.text in _GROUPING
            opened.append("labels(" if token.text == "(" and grouping else token.text)
        elif token.text in ("]", "}", ")"):
            depth -= token.text != ")"
            if opened:
                opened.pop()
        elif token.kind == "number" and not math.isfinite(float(token.text.replace("_", ""))):
            return PromQLProblem(
                f"the number '{token.text}' is out of range",
                token.offset,
                token.text,
                check="promql/number-range",
            )
        elif (
            old
            and token.kind == "duration"
            and depth == 0
            and not (previous and previous.text.lower() == "offset")
            and not (previous and previous.text == "@")
        ):
            seconds = _duration_seconds(token.text)
            return PromQLProblem(
                f"duration '{token.text}' used as a number; Prometheus {shown(target)} "
                "rejects it (from 3.0 it may be)",
                token.offset,
                token.text,
                f"write the number of seconds: {int(seconds) if seconds.is_integer() else seconds}",
                check="promql/target-version",
            )
        elif old and token.kind == "number" and previous is not None and previous.text == "[":
            return PromQLProblem(
                f"a range of '{token.text}' without a unit; Prometheus {shown(target)} "
                "rejects it (from 3.0 it is seconds)",
                token.offset,
                token.text,
                f"write a duration: {token.text}s",
                check="promql/target-version",
            )
        elif (
            target < versions.QUOTED_NAMES
            and token.kind == "string"
            and opened
            and (opened[-1] == "labels(" or (opened[-1] == "{" and not _is_value(previous)))
        ):
            return PromQLProblem(
                f"the quoted name {token.text} needs Prometheus 3.0 (the target is "
                f"{shown(target)})",
                token.offset,
                token.text,
                "use a name of letters, digits, _ and :, or set targets.prometheus",
                check="promql/target-version",
            )
        previous = token
    return None


_GROUPING = ("by", "without", "on", "ignoring", "group_left", "group_right")


def _is_value(previous: Token | None) -> bool:
    """Whether a string inside a selector's braces is a matcher's value (not a name)."""
    return previous is not None and previous.text in ("=", "!=", "=~", "!~")


def _function_version(token: Token, target: Version) -> PromQLProblem | None:
    name = token.text
    since = versions.PROMQL_SINCE.get(name)
    if since is not None and since.version > target:
        hint = f"set targets.prometheus to {shown(since.version)} or later"
        if name == "double_exponential_smoothing":
            hint = f"before Prometheus 3.0 it is holt_winters; or {hint}"
        return PromQLProblem(
            f"'{name}' needs Prometheus {shown(since.version)} (the target is {shown(target)})",
            token.offset,
            name,
            hint,
            check="promql/target-version",
        )
    return None


def _duration_seconds(text: str) -> float:
    from rlmgen.lang.units import parse_duration

    return parse_duration(text)


def _call_token(tokens: list[Token], name: str) -> Token | None:
    for token, following in itertools.pairwise(tokens):
        if token.kind == "ident" and token.text == name and following.text == "(":
            return token
    return next((t for t in tokens if t.kind == "ident" and t.text == name), None)


def _aggregation_over_range(tokens: list[Token]) -> Token | None:
    """The aggregation whose direct argument is a range selector (`count(x[1h])`)."""
    stack: list[Token | None] = []
    for index, token in enumerate(tokens):
        if token.text == "(":
            before = tokens[index - 1] if index else None
            stack.append(before if before and before.text in AGGREGATIONS else None)
        elif token.text == ")" and stack:
            stack.pop()
        elif token.text == "[" and stack and stack[-1] is not None:
            return stack[-1]
    return None


def _unclosed_paren(tokens: list[Token]) -> Token | None:
    stack = []
    for token in tokens:
        if token.text == "(":
            stack.append(token)
        elif token.text == ")" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _misplaced_grouping(tokens: list[Token], expr: str) -> tuple[Token, str, str] | None:
    """`rate(x[5m]) by (a)`: a grouping clause after a function call, not an aggregation.

    Returns the keyword, the function, and the rewrite that aggregates the call.
    """
    stack: list[tuple[str, int]] = []
    closed: tuple[str, int, int] | None = None
    for index, token in enumerate(tokens):
        if token.text == "(":
            before = tokens[index - 1] if index else None
            if before is not None and before.kind == "ident":
                stack.append((before.text, before.offset))
            else:
                stack.append(("", token.offset))
            closed = None
        elif token.text == ")":
            name, start = stack.pop() if stack else ("", token.offset)
            closed = (name, start, token.offset + 1)
        elif token.text in ("by", "without") and closed and closed[0] in FUNCTIONS:
            clause_end = next((t.offset + 1 for t in tokens[index:] if t.text == ")"), len(expr))
            clause = expr[token.offset : clause_end]
            call = expr[closed[1] : closed[2]]
            return token, closed[0], f"sum {clause} ({call})"
        else:
            closed = None
    return None


def series_names(ast: promql_parser.Expr) -> tuple[str, ...]:
    """Metric names that an expression selects, in order of first use. (A walk of our own:
    promql_parser.walk takes time quadratic in the size of the expression.)"""
    names: dict[str, None] = {}
    stack = [ast]
    while stack:
        node = stack.pop()
        if isinstance(node, promql_parser.VectorSelector):
            if name := node.name or _name_from_matchers(node):
                names.setdefault(name)
            continue
        stack.extend(reversed(_children(node)))
    return tuple(names)


def equality_values(ast: promql_parser.Expr, label: str) -> tuple[str, ...]:
    """The values `label` is matched equal to (`label="value"`) by the expression's series
    selectors, in order of first use."""
    return tuple(value for operator, value in label_matchers(ast, label) if operator == "=")


_OPERATORS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def label_replace_sources(ast: promql_parser.Expr, label: str) -> frozenset[str]:
    """The labels label_replace or label_join make `label` from, anywhere in the
    expression."""
    found: set[str] = set()
    for node in _nodes(ast):
        if not (
            isinstance(node, promql_parser.Call)
            and node.func.name in ("label_replace", "label_join")
            and len(node.args) > 3
            and isinstance(node.args[1], promql_parser.StringLiteral)
            and node.args[1].val == label
        ):
            continue
        sources = node.args[3:] if node.func.name == "label_join" else node.args[3:4]
        found.update(a.val for a in sources if isinstance(a, promql_parser.StringLiteral))
    return frozenset(found)


def label_matchers(ast: promql_parser.Expr, label: str) -> tuple[tuple[str, str], ...]:
    """(operator, value) of each matcher on `label` in the expression's series selectors,
    in order of first use, each once."""
    found: dict[tuple[str, str], None] = {}
    stack = [ast]
    while stack:
        node = stack.pop()
        if isinstance(node, promql_parser.VectorSelector):
            for matcher in node.matchers.matchers:
                if matcher.name == label:
                    operator = _OPERATORS.get(str(matcher.op).rsplit(".", 1)[-1], "=")
                    found.setdefault((operator, str(matcher.value)))
            continue
        stack.extend(reversed(_children(node)))
    return tuple(found)


def needed_labels(ast: promql_parser.Expr) -> dict[str, set[str]]:
    """The labels an expression needs each series it selects to carry: those its
    selectors match on and those the aggregations around it group `by` (unless a
    label_replace or label_join inside could be what makes them)."""
    needed: dict[str, set[str]] = {}

    def visit(node: promql_parser.Expr, grouping: frozenset[str]) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            name = node.name or _name_from_matchers(node)
            if name:
                matched = {
                    str(m.name)
                    for m in node.matchers.matchers
                    if m.name != "__name__" and not _matches_empty(m)
                }
                needed.setdefault(name, set()).update(matched | grouping)
            return
        if isinstance(node, promql_parser.AggregateExpr):
            modifier = node.modifier
            if modifier is not None and str(modifier.type).endswith("By"):
                if not _makes_labels(node.expr):
                    grouping = frozenset(modifier.labels)
            else:
                grouping = frozenset()
        for child in _children(node):
            visit(child, grouping)

    visit(ast, frozenset())
    return needed


def _matches_empty(matcher: promql_parser.Matcher) -> bool:
    """Whether a series without the label matches (`label=""`, `label!="x"`, `label=~".*"`)."""
    kind = str(matcher.op).rsplit(".", 1)[-1]
    value = str(matcher.value)
    if kind in ("Equal", "NotEqual"):
        return (value == "") == (kind == "Equal")
    try:
        empty = re.fullmatch(value, "") is not None
    except re.error:  # RE2 syntax Python does not know: assume nothing is needed
        return True
    return empty == (kind == "Re")


def _makes_labels(node: promql_parser.Expr) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, promql_parser.Call) and current.func.name in (
            "label_replace",
            "label_join",
        ):
            return True
        stack.extend(_children(current))
    return False


_WRAPPERS = (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.SubqueryExpr)


# Functions that read a counter: they take a drop in the value for a counter reset.
COUNTER_FUNCTIONS = ("rate", "irate", "increase")


def _nodes(
    ast: promql_parser.Expr,
    children: Callable[[promql_parser.Expr], tuple[promql_parser.Expr, ...]] | None = None,
) -> Iterator[promql_parser.Expr]:
    """Every node of the expression in order of use, going down by `children` (default:
    into everything)."""
    into = children or _children
    stack = [ast]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(into(node)))


def calls(ast: promql_parser.Expr, function: str) -> bool:
    """Whether the expression calls `function` anywhere."""
    return any(
        isinstance(node, promql_parser.Call) and node.func.name == function for node in _nodes(ast)
    )


def number_literals(ast: promql_parser.Expr) -> list[float]:
    """Every number written in the expression, in order of use."""
    return [
        float(node.val) for node in _nodes(ast) if isinstance(node, promql_parser.NumberLiteral)
    ]


def instant_selectors(ast: promql_parser.Expr) -> list[str]:
    """The metric names of the selectors whose value at an instant is the rule's (through
    Prometheus' lookback), in order of use; not those read as a range (`x[5m]`) or in a
    subquery (read at many instants, then over time)."""
    return _selected(_nodes(ast, _instant_children))


def ranges_read(ast: promql_parser.Expr) -> list[tuple[str, str, float]]:
    """(function, metric name, range in seconds) of every function of a range selector
    (`rate(x[5m])`: rate, x, 300), in order of use."""
    found = []
    for node in _nodes(ast):
        if (
            isinstance(node, promql_parser.Call)
            and node.args
            and isinstance(node.args[-1], promql_parser.MatrixSelector)
        ):
            matrix = node.args[-1]
            [name] = _selected([matrix.vector_selector])
            found.append((node.func.name, name, matrix.range.total_seconds()))
    return found


def _instant_children(node: promql_parser.Expr) -> tuple[promql_parser.Expr, ...]:
    if isinstance(node, promql_parser.MatrixSelector | promql_parser.SubqueryExpr):
        return ()
    return _children(node)


_THRESHOLDS = frozenset({">", "<", ">=", "<="})
# What passes a running total on as one: aggregations that keep values, functions of one
# value, and the *_over_time of a range of it.
_TOTAL_KEEPING_AGGREGATIONS = frozenset({"sum", "max", "min", "avg", "topk", "bottomk", "quantile"})
_TOTAL_KEEPING_CALLS = frozenset(
    {
        *("label_replace", "label_join", "abs", "ceil", "floor", "round", "clamp"),
        *("clamp_max", "clamp_min", "sort", "sort_desc", "max_over_time", "min_over_time"),
        *("avg_over_time", "last_over_time", "quantile_over_time", "histogram_quantile"),
    }
)


def compared_totals(ast: promql_parser.Expr, compared: bool = False) -> list[str]:
    """The metric names of series whose raw value (a counter's running total, when the
    series is one) reaches a comparison with a threshold: at the top of the expression
    (an alert's condition; `compared` when the whole expression is compared, as a metric
    with levels is), through what keeps a value as it is (`sum`, `max_over_time`,
    `x * 2`), not through what makes another of it (`rate`, `x - x offset 1h`, `a / b`)."""
    node = unwrapped(ast)
    if compared:
        return _totals(node)
    if not isinstance(node, promql_parser.BinaryExpr):
        return []
    operator = str(node.op).strip()
    if operator in ("and", "unless"):
        return compared_totals(node.lhs)
    if operator == "or":
        return compared_totals(node.lhs) + compared_totals(node.rhs)
    # a threshold (> < >= <=); `== 0` asks whether it ever counted, which a total tells
    if operator in _THRESHOLDS and not (node.modifier and node.modifier.return_bool):
        return _totals(node.lhs) + _totals(node.rhs)
    return []


def unwrapped(node: promql_parser.Expr) -> promql_parser.Expr:
    """The expression inside any parentheses around it."""
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node


def _totals(node: promql_parser.Expr) -> list[str]:
    node = unwrapped(node)
    if isinstance(node, promql_parser.VectorSelector):
        return _selected([node])
    if isinstance(node, promql_parser.MatrixSelector):
        return _selected([node.vector_selector])
    if isinstance(node, promql_parser.SubqueryExpr | promql_parser.UnaryExpr):
        return _totals(node.expr)
    if isinstance(node, promql_parser.AggregateExpr):
        keeps = str(node.op).strip() in _TOTAL_KEEPING_AGGREGATIONS
        return _totals(node.expr) if keeps else []
    if isinstance(node, promql_parser.Call):
        if node.func.name not in _TOTAL_KEEPING_CALLS:
            return []
        literals = promql_parser.NumberLiteral | promql_parser.StringLiteral
        vectors = [a for a in node.args if not isinstance(a, literals)]
        # histogram_quantile(φ, buckets) reads its last argument, the others their first
        kept = vectors[-1:] if node.func.name == "histogram_quantile" else vectors[:1]
        return [name for argument in kept for name in _totals(argument)]
    if isinstance(node, promql_parser.BinaryExpr) and str(node.op).strip() in _ARITHMETIC:
        # a total scaled by a number stays one; of two series, it is another quantity
        if constant(node.rhs) is not None:
            return _totals(node.lhs)
        if constant(node.lhs) is not None:
            return _totals(node.rhs)
    return []


def _selected(nodes: Iterable[promql_parser.Expr]) -> list[str]:
    """The metric names of the vector selectors among `nodes` (its text for one without)."""
    return [
        node.name or _name_from_matchers(node) or str(node)
        for node in nodes
        if isinstance(node, promql_parser.VectorSelector)
    ]


def _children(node: promql_parser.Expr) -> tuple[promql_parser.Expr, ...]:
    if isinstance(node, promql_parser.BinaryExpr):
        return (node.lhs, node.rhs)
    if isinstance(node, promql_parser.AggregateExpr):
        return (node.expr,) if node.param is None else (node.param, node.expr)
    if isinstance(node, promql_parser.Call):
        return tuple(node.args)
    if isinstance(node, _WRAPPERS):
        return (node.expr,)
    if isinstance(node, promql_parser.MatrixSelector):
        return (node.vector_selector,)
    return ()


# Functions that give a sample whatever their arguments select (`vector(0)`, `time()`).
_WITHOUT_INPUTS = frozenset({"vector", "absent", "absent_over_time", "time", "scalar", "pi"})


def yields_without_inputs(ast: promql_parser.Expr) -> bool:
    """Whether the expression gives a sample when no series it selects exists:
    `max(x) or vector(0)`, `absent(x)`, `time() - (x or vector(0))`; not `time() - x`."""
    if isinstance(ast, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        return True
    if isinstance(ast, promql_parser.VectorSelector | promql_parser.MatrixSelector):
        return False
    if isinstance(ast, promql_parser.Call):
        if ast.func.name in _WITHOUT_INPUTS:
            return True
        # a function of a vector (its first argument that is no number) gives a sample
        # where that vector has one; of numbers only, always
        vectors = [a for a in ast.args if not isinstance(a, promql_parser.NumberLiteral)]
        return yields_without_inputs(vectors[0]) if vectors else True
    if isinstance(ast, promql_parser.AggregateExpr):
        return yields_without_inputs(ast.expr)
    if isinstance(ast, promql_parser.BinaryExpr):
        operator = str(ast.op).strip()
        left, right = yields_without_inputs(ast.lhs), yields_without_inputs(ast.rhs)
        if operator == "or":
            return left or right
        return left if operator == "unless" else left and right
    if isinstance(ast, _WRAPPERS):
        return yields_without_inputs(ast.expr)
    return False


def _name_from_matchers(node: promql_parser.VectorSelector) -> str | None:
    for matcher in node.matchers.matchers:
        if matcher.name == "__name__" and str(matcher.op).endswith("Equal"):
            return str(matcher.value)
    return None


def grouping(ast: promql_parser.Expr) -> tuple[str, ...] | None:
    """The labels of a top-level `by` aggregation (`sum by (le) (...)`), else None."""
    modifier = ast.modifier if isinstance(ast, promql_parser.AggregateExpr) else None
    if modifier is None or not str(modifier.type).endswith("By"):
        return None
    return tuple(modifier.labels)


def comparison(ast: promql_parser.Expr) -> tuple[str, float] | None:
    """(operator, number) when the expression compares with a number at the top (and
    filters by it: `> bool 5` gives every series, 0 or 1); the number may be written as
    arithmetic of numbers (`> 26 * 3600`)."""
    if isinstance(ast, promql_parser.BinaryExpr) and not (
        ast.modifier is not None and ast.modifier.return_bool
    ):
        operator = str(ast.op).strip()
        number = constant(ast.rhs)
        if operator in (">", ">=", "<", "<=") and number is not None:
            return operator, number
    return None


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    # Go's float division: x/0 is +Inf or -Inf by the sign of x, 0/0 is NaN
    "/": lambda a, b: a / b if b else math.copysign(math.inf, a) if a else math.nan,
}


def constant(ast: promql_parser.Expr) -> float | None:
    """The value of an expression of number literals and + - * / (as Prometheus computes
    it), or None."""
    ast = unwrapped(ast)
    if isinstance(ast, promql_parser.NumberLiteral):
        return float(ast.val)
    if isinstance(ast, promql_parser.UnaryExpr):
        inner = constant(ast.expr)
        return None if inner is None else -inner
    if isinstance(ast, promql_parser.BinaryExpr):
        operate = _ARITHMETIC.get(str(ast.op).strip())
        left, right = constant(ast.lhs), constant(ast.rhs)
        if operate is not None and left is not None and right is not None:
            return operate(left, right)
    return None


def compared_side(ast: promql_parser.Expr) -> str | None:
    """The PromQL of what a top-level comparison with a number compares."""
    if comparison(ast) is None or not isinstance(ast, promql_parser.BinaryExpr):
        return None
    return str(ast.lhs.prettify())


def is_plain_selector(ast: promql_parser.Expr) -> bool:
    """`name{label="value"}`, equality matchers only, without offset or @: what promtool
    takes as an input series."""
    return (
        isinstance(ast, promql_parser.VectorSelector)
        and ast.offset is None
        and ast.at is None
        and all(str(m.op).endswith(".Equal") for m in ast.matchers.matchers)
    )


Matcher = tuple[str, str, str]  # (label, operator: = != =~ !~, value)


def selector_matchers(ast: promql_parser.Expr) -> tuple[str, tuple[Matcher, ...]] | None:
    """(metric name, its label matchers) of a bare series selector (no offset or @),
    else None."""
    if not isinstance(ast, promql_parser.VectorSelector) or ast.offset or ast.at:
        return None
    name = ast.name or _name_from_matchers(ast)
    if not name:
        return None
    found = []
    for matcher in ast.matchers.matchers:
        if matcher.name == "__name__":
            continue
        kind = str(matcher.op).rsplit(".", 1)[-1]
        found.append((str(matcher.name), _OPERATORS.get(kind, "="), str(matcher.value)))
    return name, tuple(found)


def is_instant_or_scalar(ast: promql_parser.Expr) -> bool:
    """Whether a rule's expression gives what a rule needs (not a range or a string)."""
    ast = unwrapped(ast)
    return not isinstance(
        ast, promql_parser.MatrixSelector | promql_parser.SubqueryExpr | promql_parser.StringLiteral
    )


# Grafana's macros and a dashboard's own variables, which Grafana replaces before the
# query reaches Prometheus: a panel's query is checked with stand-ins of the same kind.
_GRAFANA_DURATIONS = re.compile(
    r"\$(?:__(?:rate_interval|interval|range)(?!\w)"
    r"|\{__(?:rate_interval|interval|range)(?::[\w:]+)?\})"
)
_GRAFANA_NUMBERS = re.compile(
    r"\$(?:__(?:range_s|range_ms|interval_ms|rate_interval_ms|from|to)(?!\w)"
    r"|\{__(?:range_s|range_ms|interval_ms|rate_interval_ms|from|to)(?::[\w:]+)?\})"
)
# Grafana's global variables (`$__rate_interval`; `$__auto_interval_<name>` of an
# interval variable): any other `$__name` is left as written.
GRAFANA_GLOBALS = frozenset(
    {
        *("__rate_interval", "__rate_interval_ms", "__interval", "__interval_ms", "__range"),
        "__range_s",
        *("__range_ms", "__from", "__to", "__dashboard", "__org", "__user", "__name"),
        *("__all", "__timezone", "__url_time_range", "__series", "__field", "__value"),
        *("__data", "__cell", "__timeFilter", "__timeFrom", "__timeTo"),
    }
)
_VARIABLE = re.compile(r"\$\{?([a-zA-Z_]\w*)(?::[\w:]+)?\}?|\[\[([a-zA-Z_]\w*)\]\]")
GRAFANA_MACRO = re.compile(r"\$\{?__\w+")
# A dashboard variable (`$route`, `${route}`, `[[route]]`) inside a string of the query:
# outside a dashboard, the literal text.
GRAFANA_VARIABLE = re.compile(r"\$\{?[A-Za-z_]\w*\}?|\[\[[A-Za-z_]\w*\]\]")
# Each use of a dashboard variable anywhere in a text, by name: `$route`, `${route}`,
# `${route:regex}`, `[[route]]`.
GRAFANA_VARIABLE_USE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_]\w*)(?::[\w:]+)?\}|(?P<name>[A-Za-z_]\w*))"
    r"|\[\[(?P<bracketed>[A-Za-z_]\w*)\]\]"
)


def bucket_label(bound: float, target: Version) -> str:
    """The `le` value Prometheus `target` stores for a classic histogram's bucket bound: as
    a Go client writes it (%v: 250, 0.5, 1e+06), and from 3.0 normalised to a float
    (labels.FormatOpenMetricsFloat: 250.0, 0.5, 1e+06)."""
    written = go_float(bound)
    if target < versions.LE_NORMALISED or any(c in written for c in ".eIN"):
        return written
    return written + ".0"


def dashboard_variable(expr: str) -> str | None:
    """The first dashboard variable written inside a string of `expr`, if any."""
    if "$" not in expr and "[[" not in expr:
        return None
    for token in tokenize(expr):
        if token.kind == "string" and (found := GRAFANA_VARIABLE.search(token.text)):
            return found.group()
    return None


def for_dashboards(expr: str) -> str:
    """A panel's query with Grafana's macros and variables replaced as Grafana would,
    by stand-ins of their kind (a duration in a range, a number elsewhere)."""
    if "$" not in expr and "[[" not in expr:
        return expr
    expr = _GRAFANA_DURATIONS.sub("5m", expr)
    expr = _GRAFANA_NUMBERS.sub("300", expr)

    # inside a string a variable is text already (`cluster="$cluster"` stays as written)
    strings = [(t.offset, t.offset + len(t.text)) for t in tokenize(expr) if t.kind == "string"]

    def variable(match: re.Match[str]) -> str:
        if any(start <= match.start() < end for start, end in strings):
            return match.group()
        before = expr[: match.start()].rstrip()
        return "5m" if before.endswith("[") else "1"

    return _VARIABLE.sub(variable, expr)
