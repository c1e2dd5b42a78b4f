"""The labels a PromQL expression's series carry, inferred as Prometheus computes them,
and the mistakes that follow from them: two sides of an operator that can never match,
a `by` on a label the series never carry, a selector on a label it never has.

What is known of a series is a LabelSet: its label names (besides `__name__`) and whether
every series carries exactly those (`exact`). Series whose labels a spec does not declare
are not exact, and nothing is reported about them: the inference never guesses."""

from __future__ import annotations

import re
from collections.abc import Callable

import promql_parser

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.lang.promql import Token, series_names, tokenize, unwrapped


@dataclass(frozen=True)
class LabelSet:
    names: frozenset[str]
    exact: bool  # every series carries exactly these names; False: at least these

    @staticmethod
    def of(*names: str) -> LabelSet:
        return LabelSet(frozenset(names), True)

    def shown(self) -> str:
        return "{" + ", ".join(sorted(self.names)) + "}" if self.names else "no labels"


UNKNOWN = LabelSet(frozenset(), False)


@dataclass(frozen=True)
class Result:
    kind: str  # vector, matrix, scalar or string
    labels: LabelSet


@dataclass(frozen=True)
class LabelProblem:
    message: str
    hint: str
    fragment: str  # the text to point at inside the expression
    occurrence: int  # which occurrence of `fragment`
    check: str = "labels/no-match"  # the id of the check (rlmgen.spec.checks)


# Functions that take an instant vector's labels from an argument other than the first,
# or change them.
_ADDS_DESTINATION = {"label_replace", "label_join"}
_DROPS_LE = {"histogram_quantile", "histogram_fraction"}
_FROM_SECOND_ARGUMENT = {"histogram_quantile", "histogram_fraction", "quantile_over_time"}
_LOGICAL = {"and", "or", "unless"}
_COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}


def infer(
    ast: promql_parser.Expr, labels_of: Callable[[str], LabelSet], text: str
) -> tuple[Result, list[LabelProblem]]:
    """The expression's result and the label problems in it; `labels_of` gives what is
    known of a metric name's series, `text` is the expression (to locate problems)."""
    walker = _Inference(labels_of, text)
    return walker.visit(ast), walker.problems


class _Inference:
    def __init__(self, labels_of: Callable[[str], LabelSet], text: str) -> None:
        self.labels_of = labels_of
        self.text = text
        self.tokens: list[Token] | None = None
        self.problems: list[LabelProblem] = []
        self.binary_index = 0  # binary operators met so far, in the text's order
        self.calls: dict[str, int] = {}  # calls met so far by function, in the text's order

    def visit(self, node: promql_parser.Expr) -> Result:
        if isinstance(node, promql_parser.NumberLiteral):
            return Result("scalar", LabelSet.of())
        if isinstance(node, promql_parser.StringLiteral):
            return Result("string", LabelSet.of())
        if isinstance(node, promql_parser.VectorSelector):
            return Result("vector", self._selector(node))
        if isinstance(node, promql_parser.MatrixSelector):
            return Result("matrix", self._selector(node.vector_selector))
        if isinstance(node, promql_parser.SubqueryExpr):
            return Result("matrix", self.visit(node.expr).labels)
        if isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr):
            return self.visit(node.expr)
        if isinstance(node, promql_parser.AggregateExpr):
            return self._aggregation(node)
        if isinstance(node, promql_parser.Call):
            return self._call(node)
        if isinstance(node, promql_parser.BinaryExpr):
            return self._binary(node)
        return Result("vector", UNKNOWN)

    # --- selectors --------------------------------------------------------------------
    def _selector(self, node: promql_parser.VectorSelector) -> LabelSet:
        labels = self.labels_of(node.name) if node.name else UNKNOWN
        if not labels.exact:
            return labels
        for matcher in node.matchers.matchers:
            name, op, value = matcher.name, str(matcher.op), matcher.value
            if name == "__name__" or name in labels.names or _matches_empty(op, value):
                continue
            if "$" in value and _optional(name, labels.names, labels.names):
                continue  # a dashboard variable's empty value matches it (`cluster="$cluster"`)
            self.problems.append(
                LabelProblem(
                    f"'{node.name}' never carries the label '{name}' (its labels: "
                    f"{labels.shown()}), so this selector matches nothing",
                    f"declare '{name}' in the metric's labels (or in service.scrapeLabels, "
                    "if the scrape adds it), or select on one it has",
                    name,
                    0,
                )
            )
        return labels

    # --- aggregations -----------------------------------------------------------------
    def _aggregation(self, node: promql_parser.AggregateExpr) -> Result:
        inner = self.visit(node.expr)
        if node.param is not None:
            self.visit(node.param)
        op = str(node.op)
        modifier = node.modifier
        grouping = frozenset(modifier.labels) if modifier is not None else frozenset()
        excluding = modifier is not None and str(modifier.type).endswith("Without")
        if op in ("topk", "bottomk", "limitk", "limit_ratio"):
            return Result("vector", inner.labels)  # the chosen series, whole
        if excluding:
            names = inner.labels.names - grouping
        else:
            if inner.labels.exact:
                for label in sorted(grouping - inner.labels.names):
                    if _optional(label, grouping, inner.labels.names):
                        continue
                    self.problems.append(
                        LabelProblem(
                            f"'by ({label})': the series aggregated here never carry "
                            f"'{label}' (they carry {inner.labels.shown()})",
                            "group by a label they carry, or declare it in the metric's labels",
                            label,
                            0,
                            check="labels/never-carried",
                        )
                    )
                names = grouping & inner.labels.names
                if grouping - inner.labels.names:
                    # reported here; what follows is not checked against a guess
                    return Result("vector", LabelSet(frozenset(names), False))
            else:
                names = grouping
        if op == "count_values" and isinstance(node.param, promql_parser.StringLiteral):
            names = names | {node.param.val}
        exact = inner.labels.exact or not excluding
        return Result("vector", LabelSet(frozenset(names), exact))

    # --- functions --------------------------------------------------------------------
    def _call(self, node: promql_parser.Call) -> Result:
        name = node.func.name
        occurrence = self.calls.get(name, 0)
        self.calls[name] = occurrence + 1
        arguments = [self.visit(arg) for arg in node.args]
        if name == "histogram_quantile":
            self._check_quantile(node, arguments[-1].labels, occurrence)
        if str(node.func.return_type).endswith("Scalar"):
            return Result("scalar", LabelSet.of())
        if str(node.func.return_type).endswith("String"):
            return Result("string", LabelSet.of())
        if name in ("absent", "absent_over_time"):
            return Result("vector", self._absent(node.args[0]) if node.args else LabelSet.of())
        if name == "vector" or not node.args:
            return Result("vector", LabelSet.of())
        if name in _FROM_SECOND_ARGUMENT:
            source = arguments[-1]
        else:
            source = next(
                (a for a in arguments if a.kind not in ("scalar", "string")), arguments[0]
            )
        labels = source.labels
        if name in _DROPS_LE:
            labels = LabelSet(labels.names - {"le"}, labels.exact)
        if name in _ADDS_DESTINATION and isinstance(node.args[1], promql_parser.StringLiteral):
            labels = LabelSet(labels.names | {node.args[1].val}, labels.exact)
        return Result("vector", labels)

    def _check_quantile(self, node: promql_parser.Call, buckets: LabelSet, occurrence: int) -> None:
        """histogram_quantile(φ, buckets): φ between 0 and 1 (else the result is always
        ±Inf), and buckets that keep `le` (else there is nothing to interpolate)."""
        phi = unwrapped(node.args[0])
        if isinstance(phi, promql_parser.NumberLiteral) and not 0 <= phi.val <= 1:
            percent = f"{phi.val:g}"
            self.problems.append(
                LabelProblem(
                    f"histogram_quantile's quantile is between 0 and 1: {percent} gives "
                    f"{'+Inf' if phi.val > 1 else '-Inf'} on every evaluation",
                    f"write the {percent}th percentile as {phi.val / 100:g}"
                    if 1 < phi.val <= 100
                    else "write a fraction, such as 0.99 for the 99th percentile",
                    "histogram_quantile",
                    occurrence,
                    check="promql/quantile-range",
                )
            )
        # only where classic buckets are read: a histogram selected by its own name is
        # a native one (or a mistake reported where it is selected)
        reads_buckets = any("_bucket" in name for name in series_names(node.args[-1]))
        if reads_buckets and buckets.exact and "le" not in buckets.names:
            kept = sorted(buckets.names | {"le"})
            self.problems.append(
                LabelProblem(
                    f"histogram_quantile reads buckets by their 'le' label, which the series "
                    f"here do not carry (they carry {buckets.shown()}): it returns nothing",
                    f"keep le where the buckets are aggregated: sum by ({', '.join(kept)}) "
                    "(rate(<name>_bucket[5m]))",
                    "histogram_quantile",
                    occurrence,
                    check="labels/never-carried",
                )
            )

    @staticmethod
    def _absent(argument: promql_parser.Expr) -> LabelSet:
        selector = (
            argument.vector_selector
            if isinstance(argument, promql_parser.MatrixSelector)
            else argument
        )
        if not isinstance(selector, promql_parser.VectorSelector):
            return LabelSet.of()
        return LabelSet(
            frozenset(
                m.name
                for m in selector.matchers.matchers
                if str(m.op).endswith(".Equal") and m.name != "__name__"
            ),
            True,
        )

    # --- binary operators -------------------------------------------------------------
    def _binary(self, node: promql_parser.BinaryExpr) -> Result:
        left = self.visit(node.lhs)
        index = self.binary_index  # this operator's place in the text: after its left side
        self.binary_index += 1
        right = self.visit(node.rhs)
        op = str(node.op).strip()
        if left.kind == "scalar" and right.kind == "scalar":
            return Result("scalar", LabelSet.of())
        if left.kind == "scalar" or right.kind == "scalar":
            return Result("vector", right.labels if left.kind == "scalar" else left.labels)
        modifier = node.modifier
        matching = modifier.matching if modifier is not None else None
        on = matching is not None and str(matching.type).endswith("Include")
        keys = frozenset(matching.labels) if matching is not None else frozenset()
        if op != "or" and left.labels.exact and right.labels.exact:
            self._check_match(op, index, left.labels, right.labels, on, keys)
        if op == "or":
            same = left.labels == right.labels and left.labels.exact
            return Result("vector", left.labels if same else UNKNOWN)
        if op in ("and", "unless"):
            return Result("vector", left.labels)
        card = str(modifier.card) if modifier is not None else "OneToOne"
        if card.endswith("OneToMany"):
            many, one = right.labels, left.labels
        else:
            many, one = left.labels, right.labels
        names = many.names
        if card.endswith("OneToOne"):
            names = names & keys if on else names - keys
        group = frozenset(modifier.group_labels or ()) if modifier is not None else frozenset()
        names = names | (group & one.names) if one.exact else names | group
        return Result("vector", LabelSet(frozenset(names), many.exact and one.exact))

    def _check_match(
        self, op: str, index: int, left: LabelSet, right: LabelSet, on: bool, keys: frozenset[str]
    ) -> None:
        if on:
            differ = (left.names & keys) != (right.names & keys)
        else:
            differ = (left.names - keys) != (right.names - keys)
        if not differ:
            return
        common = ", ".join(sorted(left.names & right.names))
        fix = f"{op} on({common})"
        if op in _LOGICAL:
            hint = f"match them on the labels both carry: `{fix}`"
        elif right.names < left.names:
            hint = f"match them on the labels both carry: `{fix} group_left`"
        elif left.names < right.names:
            hint = f"match them on the labels both carry: `{fix} group_right`"
        elif not common:
            hint = f"the sides share no label: aggregate each to one series: sum(...) {op} sum(...)"
        else:  # each side has labels the other lacks: on() alone matches many to many
            hint = (
                f"aggregate both sides to the labels they share: sum by ({common}) (...) {op} "
                f"sum by ({common}) (...)"
            )
        fragment, occurrence = self._operator(index, op)
        self.problems.append(
            LabelProblem(
                f"the two sides of '{op}' can never match: the left side's series carry "
                f"{left.shown()}, the right side's {right.shown()}",
                hint,
                fragment,
                occurrence,
            )
        )

    def _operator(self, index: int, op: str) -> tuple[str, int]:
        """(text, occurrence) of the index-th binary operator of the expression."""
        if self.tokens is None:
            self.tokens = tokenize(self.text)
        operators = _binary_operators(self.tokens)
        if index < len(operators):
            token = operators[index]
            return token.text, sum(1 for t in operators[:index] if t.text == token.text)
        return op, 0


_BINARY = {"+", "-", "*", "/", "%", "^", *_COMPARISONS, *_LOGICAL, "atan2"}


def _binary_operators(tokens: list[Token]) -> list[Token]:
    """The binary operator tokens outside braces and brackets, in order (a `-` or `+`
    that starts an operand is unary and skipped)."""
    found: list[Token] = []
    depth, previous = 0, None
    for token in tokens:
        if token.text in ("{", "["):
            depth += 1
        elif token.text in ("}", "]"):
            depth -= 1
        elif (
            depth == 0
            and token.text in _BINARY
            and previous is not None
            and _ends_operand(previous)
        ):
            found.append(token)
        previous = token
    return found


def _ends_operand(token: Token) -> bool:
    if token.text in ("by", "without", "on", "ignoring", *_BINARY):
        return False
    return token.kind in ("ident", "number", "duration", "string") or token.text in ")]}"


def _matches_empty(op: str, value: str) -> bool:
    """Whether a matcher also selects series without the label (its value then is "")."""
    if op.endswith(".Equal"):
        return value == ""
    if op.endswith(".NotEqual"):
        return value != ""
    try:
        matched = re.fullmatch(value, "") is not None
    except re.error:
        return True
    return matched if op.endswith(".Re") else not matched


def _optional(label: str, grouping: frozenset[str], carried: frozenset[str]) -> bool:
    """A `by` label the series never carry beside ones they do, and no misspelling of
    one of those: an optional label grouped by in case it is there (kube-prometheus
    groups by `cluster` everywhere), which changes nothing where it is not."""
    return bool(grouping & carried) and misspelling(label, carried) is None


def misspelling(label: str, carried: frozenset[str]) -> str | None:
    """The carried label `label` is most likely a misspelling of, if any: a label that is
    none is taken as optional (in the series where it is there), not as a mistake."""
    from rlmgen.spec.suggest import closest

    found = closest(label, carried, cutoff=0.75)
    return found[0] if found else None
