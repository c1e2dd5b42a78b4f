"""Labels in the compile walk: what each series carries (declared by its metric, recorded
by a recording rule, added by the scrape), the checks of every PromQL text against them,
and the expressions rlmgen writes that depend on them (a level of a limit divides the
metric by its limit on the labels both carry)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

import promql_parser

from rlmgen.lang import labels as label_lang
from rlmgen.lang import promql
from rlmgen.lang.labels import UNKNOWN, LabelProblem, LabelSet
from rlmgen.model import types as m
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.model.conventions import SEVERITY_LABEL
from rlmgen.spec.suggest import ask

_LIMIT_AGGREGATIONS = ("sum", "max", "min", "avg")
_SELECTOR = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?")
_LEGEND_LABEL = re.compile(r"{{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*}}")
_TEMPLATE_LABEL = re.compile(r"(?:\$labels|\.Labels)\.([a-zA-Z_][a-zA-Z0-9_]*)")


class LabelIndex:
    """What is known of the labels of each series a spec can select."""

    def __init__(
        self,
        metrics: tuple[m.Metric, ...],
        service: m.Service,
        recorded: Mapping[str, promql.Query],
        *,
        native_histograms: bool = False,
        scrape_known: bool = True,
    ) -> None:
        self.native_histograms = native_histograms
        # `scrape_known` False: service.scrapeLabels is written but not as a list (the
        # schema reports it), so no series' labels are known exactly
        self.exact = scrape_known
        self.scrape = frozenset(service.scrape_labels)
        self.rule_labels = frozenset(service.labels)
        self.recorded = dict(recorded)
        self.declared: dict[str, LabelSet] = {}
        if service.scrape_labels_declared:  # `up` carries exactly the scrape's labels
            self.declared["up"] = LabelSet(self.scrape, True)
        elif not scrape_known:
            self.declared["up"] = UNKNOWN
        for metric in metrics:
            if metric.labels is not None:
                self._declare(metric)
        self.memo: dict[str, LabelSet] = {}
        self.resolving: set[str] = set()

    def _declare(self, metric: m.Metric) -> None:
        scrape = self.scrape if metric.scrape_labels is None else frozenset(metric.scrape_labels)
        base = frozenset(metric.labels or ()) | scrape
        if metric.type == "histogram":
            self.declared[f"{metric.name}_bucket"] = LabelSet(base | {"le"}, self.exact)
            if self.native_histograms:  # one series of histogram samples, no le
                self.declared[metric.name] = LabelSet(base, self.exact)
            for suffix in ("_sum", "_count"):
                self.declared[metric.name + suffix] = LabelSet(base, self.exact)
        elif metric.type == "summary":
            self.declared[metric.name] = LabelSet(base | {"quantile"}, self.exact)
            for suffix in ("_sum", "_count"):
                self.declared[metric.name + suffix] = LabelSet(base, self.exact)
        else:
            self.declared[metric.name] = LabelSet(base, self.exact)
            if metric.type == "counter" and not metric.name.endswith("_total"):
                self.declared[f"{metric.name}_total"] = LabelSet(base, self.exact)

    def of(self, name: str) -> LabelSet:
        if name in self.declared:
            return self.declared[name]
        if name in self.memo:
            return self.memo[name]
        query = self.recorded.get(name)
        if query is None or name in self.resolving:
            return UNKNOWN
        self.resolving.add(name)
        result, _ = self.infer(query)
        self.resolving.discard(name)
        # a recording rule's labels are added to what its expression keeps
        labels = LabelSet(result.labels.names | self.rule_labels, result.labels.exact)
        self.memo[name] = labels
        return labels

    def infer(self, query: promql.Query) -> tuple[label_lang.Result, list[LabelProblem]]:
        return label_lang.infer(query.ast, self.of, query.text)


def set_by_rlmgen(route_label: str | None) -> dict[str, tuple[str, str]]:
    """Labels rlmgen sets on every alert itself (the receiver's with routing, in
    `route_label`): where their values come from, and how to set them."""
    found = {
        "alertname": ("the alert's name", "name the alert instead"),
        SEVERITY_LABEL: ("the alert's severity", "set severity: on the alert or its group"),
    }
    if route_label is not None:
        found[route_label] = (
            "the receiver the alert reaches",
            "send it elsewhere with route: <receiver> on the alert or its group",
        )
    return found


def check_label_value(walk: Walk, pointer: str, value: str) -> None:
    """A label value that rules carry is plain text on one line: Prometheus expands the
    labels of alerting rules as Go templates on every evaluation (`{{ with query ... }}`
    would run a query each time), and a line break changes the value on its way through
    YAML and routing matchers."""
    if "{{" in value or "}}" in value:
        walk.error_in_value(
            pointer,
            "{{" if "{{" in value else "}}",
            "Prometheus expands label values as templates: this one would run as template code",
            "labels here are plain text: remove the braces",
            check="labels/invalid-value",
        )
    elif any(c in value for c in "\n\r\x0b\x0c\x85\u2028\u2029"):
        walk.error(
            pointer,
            "a label value is one line",
            "write it without line breaks",
            check="labels/invalid-value",
        )


def rule_labels(walk: Walk, node: Node, key: str = "labels") -> m.Labels:
    """The labels a spec adds to rules, without those rlmgen sets itself (reported:
    they would be overwritten in silence)."""
    labels = node.labels(key)
    set_by = set_by_rlmgen(walk.route_label)
    for name, value in labels.items():
        check_label_value(walk, f"{node.at(key)}/{name}", value)
        if name in set_by:
            source, hint = set_by[name]
            walk.error(
                f"{node.at(key)}/{name}",
                f"the label '{name}' is set from {source}: this value would be overwritten",
                hint,
                at_key=True,
                check="labels/reserved",
            )
        elif name == "__name__":
            walk.error(
                f"{node.at(key)}/{name}",
                "'__name__' is the series' name: promtool refuses it as a rule's label",
                "choose another label name",
                at_key=True,
                check="labels/reserved",
            )
    return MappingProxyType({k: v for k, v in labels.items() if k not in set_by})


def check_overwritten(
    walk: Walk,
    set_labels: Mapping[str, str],
    pointer_of: Callable[[str], str],
    series: LabelSet,
    scrape: frozenset[str],
    rule: str,
) -> None:
    """A rule's own labels overwrite the labels its series carry: series that differ only
    in such a label become one, and Prometheus fails the rule on every evaluation."""
    for name in sorted(set_labels):
        if name not in series.names:
            continue
        message = (
            f"{rule} sets '{name}', a label its series carry: series that differ only in "
            f"'{name}' become one, and Prometheus fails the rule ('vector contains metrics "
            "with the same labelset after applying ... labels')"
        )
        hint = f"name the label differently, or aggregate '{name}' away: sum without ({name}) (...)"
        if name in scrape:  # the scrape's labels are often one value per service
            walk.warning(pointer_of(name), message, hint, check="labels/overwrites-scrape-label")
        else:
            walk.error(
                pointer_of(name), message, hint, at_key=True, check="labels/overwrites-series-label"
            )


# A regex that matches one value only (`route=~"/cart"`).
_LITERAL = re.compile(r"[\w/:@,-]*")


def check_set_by_rlmgen(
    walk: Walk,
    pointer: str,
    series: LabelSet,
    rule: str,
    route_label: str | None,
    query: promql.Query | None,
) -> None:
    """Labels rlmgen sets on every alert (its name, severity and, with routing, the
    receiver) that its series carry: overwritten, series that differ only in one become
    one, and Prometheus fails the rule (an HTTP `route` label is common). Not a label the
    query fixes to one value (`route="/cart"`), or makes with label_replace from another
    the series keep (which still tells them apart)."""
    set_by = set_by_rlmgen(route_label)
    for name in sorted(set_by.keys() & series.names):
        if query is not None and (
            any(
                op == "=" or (op == "=~" and _LITERAL.fullmatch(value))
                for op, value in promql.label_matchers(query.ast, name)
            )
            # made from a label the series keep, which tells them apart as before
            or promql.label_replace_sources(query.ast, name) & series.names
        ):
            continue
        source, _ = set_by[name]
        if name == route_label:
            hint = (
                "name rlmgen's label otherwise with routing.routeLabel (such as receiver), or "
                f"aggregate '{name}' away: sum without ({name}) (...)"
            )
        else:
            hint = (
                f"aggregate '{name}' away: sum without ({name}) (...), or keep its value under "
                "another name with label_replace"
            )
        message = (
            f"{rule}'s series carry '{name}', which rlmgen sets on the alert to {source}: "
            f"series that differ only in '{name}' become one, and Prometheus fails the rule "
            "('vector contains metrics with the same labelset after applying alert labels')"
        )
        check = "labels/overwrites-series-label"
        if query is not None and re.search(rf"\b{name}\b", query.text):  # where it is kept
            walk.error_in_value(pointer, name, message, hint, check=check)
        else:
            walk.error(pointer, message, hint, at_key=True, check=check)


def limit_input(walk: Walk, pointer: str, query: promql.Query) -> m.InputSeries | None:
    """The series a limit reads, which the level tests feed: a limit is a series, or the
    sum, max, min or avg of one (of a single series, all four are that series)."""
    node = promql.unwrapped(query.ast)
    if isinstance(node, promql_parser.AggregateExpr) and str(node.op) in _LIMIT_AGGREGATIONS:
        node = node.expr
    if isinstance(node, promql_parser.VectorSelector) and promql.is_plain_selector(node):
        fixed = {mt.name: mt.value for mt in node.matchers.matchers if mt.name != "__name__"}
        return m.InputSeries(node.name or "", UNKNOWN, dict(sorted(fixed.items())))
    found = promql.selector_matchers(node)
    other = [(n, op, v) for n, op, v in found[1] if op != "="] if found is not None else []
    if other:  # a series, selected by a pattern or an inequality
        label, operator, value = other[0]
        walk.error_in_value(
            pointer,
            f"{label}{operator}",
            f"a limit selects its series with = only: rlmgen's level tests feed the limit "
            f'series, and cannot make up a {label} that matches {label}{operator}"{value}"',
            f'name one value ({label}="..."), or record the limit as a metric of its own '
            "(expr and record) and name that",
            check="metrics/limit-not-a-series",
        )
        return None
    walk.error(
        pointer,
        "a limit is a series, or the sum, max, min or avg of one: rlmgen's tests feed it",
        "record anything else as a metric of its own (expr and record) and name that",
        check="metrics/limit-not-a-series",
    )
    return None


def with_labels(metric: m.Metric, index: LabelIndex, walk: Walk) -> m.Metric:
    """The metric with what is known of its series' labels, and its division by its limit
    matching on the labels both sides carry."""
    series_labels = index.of(metric.series)
    if metric.record and not series_labels.exact:
        series_labels = LabelSet(series_labels.names | index.rule_labels, False)
    limit = metric.limit_input
    if limit is not None:
        limit = dataclasses.replace(limit, labels=index.of(limit.name))
    measured = metric.measured
    query = walk.queries.get(f"{metric.pointer}/limit")
    if metric.of_limit and metric.limit is not None and query is not None:
        result, _ = index.infer(query)
        pointer = f"{metric.pointer}/limit"
        matching = _matching(series_labels, result.labels, index.rule_labels, walk, pointer)
        limit_text = parenthesised(metric.limit)
        if matching.endswith("group_left") and limit_text.startswith("("):
            matching += "()"  # else `group_left (...)` reads as group_left's own label list
        measured = f"{metric.series} /{matching} {limit_text}"
    return dataclasses.replace(
        metric, series_labels=series_labels, limit_input=limit, measured=measured
    )


def _matching(
    series: LabelSet, limit: LabelSet, rule_labels: frozenset[str], walk: Walk, pointer: str
) -> str:
    """The matching of `series / limit`: on the limit's labels when the series carries
    them all (group_left: many series to one limit), on the labels both carry (warned)
    when the limit carries more, and, when the labels are not known, ignoring the labels
    a recording rule adds (the limit does not carry them)."""
    if series.exact and limit.exact:
        if series.names == limit.names:
            return ""
        common = series.names & limit.names
        if not limit.names <= series.names:
            walk.warning(
                pointer,
                f"the limit's series carry {limit.shown()}, the metric's {series.shown()}: "
                f"they are divided on {LabelSet(common, True).shown()}, which needs one limit "
                "series for each",
                "aggregate the limit to the labels the metric keeps, such as "
                f"sum by ({', '.join(sorted(common))}) (limit)",
                check="metrics/limit-labels",
            )
        return f" on({', '.join(sorted(common))}) group_left"
    recorded = series.names & rule_labels
    return f" ignoring({', '.join(sorted(recorded))})" if recorded else ""


def parenthesised(expr: str) -> str:
    return expr if _SELECTOR.fullmatch(expr) else f"({expr})"


def check_queries(
    walk: Walk, index: LabelIndex, queries: list[tuple[str, promql.Query]]
) -> dict[str, LabelSet]:
    """Report the label problems of every PromQL text of the spec; the labels of each
    result, by the text's pointer."""
    results = {}
    for pointer, query in queries:
        result, problems = index.infer(query)
        _report(walk, pointer, problems)
        results[pointer] = result.labels
    return results


def _report(walk: Walk, pointer: str, problems: list[LabelProblem]) -> None:
    """Each label problem of the PromQL text at `pointer`, located inside it."""
    for problem in problems:
        walk.error_in_value(
            pointer,
            problem.fragment,
            problem.message,
            problem.hint,
            problem.occurrence,
            check=problem.check,
        )


def check_legend(walk: Walk, pointer: str, legend: str, labels: LabelSet) -> None:
    """A legend's `{{label}}` names a label the query's series carry."""
    if not labels.exact:
        return
    for name in _LEGEND_LABEL.findall(legend):
        if name not in labels.names and name != "__name__":
            walk.warning(
                pointer,
                f"the legend shows '{{{{{name}}}}}', a label the query's series never carry "
                f"(they carry {labels.shown()})",
                "show a label the query keeps (a `by` aggregation keeps only its labels)",
                check="labels/legend-never-carried",
            )


# A Grafana variable that lists a label's values: label_values(metric{...}, label).
_LABEL_VALUES = re.compile(
    r"\s*label_values\(\s*(?P<selector>(?P<metric>[a-zA-Z_:][\w:]*)\s*(?:\{[^}]*\})?)\s*,"
    r"\s*(?P<label>[A-Za-z_]\w*)\s*\)\s*"
)


def check_variable_labels(
    walk: Walk, variable: Node, index: LabelIndex, recorded_as: Mapping[str, str]
) -> None:
    """A `label_values(metric, label)` variable reads a series (not the spec's name of a
    metric a rule records, `recorded_as`) and lists a label its series carry: else it
    lists nothing, and every panel that selects by it shows no data."""
    query = variable.text("query")
    found = _LABEL_VALUES.fullmatch(query) if query else None
    if query is None or found is None:
        return
    metric, label = found["metric"], found["label"]
    if metric in recorded_as:
        walk.error_in_value(
            variable.at("query"),
            metric,
            f"'{metric}' is the spec's name of a metric a rule records: no series has it, "
            "so the variable would list no values",
            f"read the recorded series: {recorded_as[metric]}",
            check="references/unknown-metric",
        )
        return
    selected = promql.analyse(promql.for_dashboards(found["selector"]), walk.targets.prometheus)
    if isinstance(selected, promql.Query):  # its matchers, as a panel's are checked
        _report(walk, variable.at("query"), index.infer(selected)[1])
    carried = index.of(metric)
    if not carried.exact or label in carried.names or label == "__name__":
        return
    # a label none carry that is no misspelling is an optional one: a variable of it lists
    # nothing, and Grafana's empty value selects what lacks it (kube-prometheus' cluster)
    meant = label_lang.misspelling(label, carried.names)
    if meant is None:
        return
    walk.error_in_value(
        variable.at("query"),
        label,
        f"{metric}'s series never carry '{label}' (they carry {carried.shown()}): the "
        "variable would list no values, and the panels that select by it no data",
        ask([meant]),
        query[: found.start("label")].count(label),
        check="labels/never-carried",
    )


_GUARDED_LABEL = re.compile(r"\{\{-?\s*(?:with|if)\s+\$labels\.(\w+)")


def check_annotation_labels(
    walk: Walk, alert: m.Alert, labels: LabelSet, added: frozenset[str]
) -> None:
    """An alert's annotations print labels its series carry."""
    if not labels.exact:
        return
    carried = labels.names
    for key, text in (("summary", alert.summary), ("description", alert.description)):
        # `{{ with $labels.cluster }}...{{ end }}`: printed only where the series have it
        guarded = set(_GUARDED_LABEL.findall(text or ""))
        for name in _TEMPLATE_LABEL.findall(text or ""):
            if name in carried or name in guarded:
                continue
            if name in added:  # Prometheus fills $labels with the series', not the rule's
                message = (
                    f"'$labels.{name}' is empty: Prometheus fills $labels with the labels of "
                    f"the alert's series, and '{name}' is one the rule adds (the series "
                    f"carry {LabelSet(carried, True).shown()})"
                )
                hint = "write the value itself in the text"
            else:
                message = (
                    f"'$labels.{name}' is empty: this alert's series never carry '{name}' "
                    f"(they carry {LabelSet(carried | added, True).shown()})"
                )
                hint = f"print a label the expression keeps, or keep it: sum by ({name}) (...)"
            walk.error_in_value(
                f"{alert.pointer}/{key}", name, message, hint, check="labels/never-carried"
            )


def check_example_labels(
    walk: Walk, example_pointer: str, given: m.Labels, series: LabelSet, set_by_rule: frozenset[str]
) -> None:
    """An example's labels are those of the series its rule gives in production (the
    rule's own labels aside): a missing one makes a test of series production never has,
    an extra one a test that fails."""
    if not series.exact:
        return
    carried = series.names - set_by_rule
    named = set(given) - set_by_rule
    missing, extra = sorted(carried - named), sorted(named - carried)
    pointer = f"{example_pointer}/labels"
    if not walk.spec.has(pointer):
        pointer = example_pointer
    if missing:
        walk.error(
            pointer,
            f"the rule's series carry {', '.join(missing)}, which this example's labels do "
            "not name: its test would prove series production never has",
            "name them in the example's labels, and give its input series those labels (a "
            "metric the scrape gives other labels than service.scrapeLabels says so in its "
            "own scrapeLabels)",
            check="examples/labels",
        )
    if extra:
        walk.error(
            pointer,
            f"the rule's series never carry {', '.join(extra)} (they carry "
            f"{LabelSet(carried, True).shown()}): promtool would expect "
            f"{'it' if len(extra) == 1 else 'them'} and fail",
            f"remove {', '.join(extra)} from the example's labels",
            check="examples/labels",
        )


def check_grouping(
    walk: Walk, routing_node: Node, group_by: tuple[str, ...], alerts: dict[str, LabelSet]
) -> None:
    """Alerts keep the labels notifications are grouped by (`alerts`: what each alert's
    series carry, rlmgen's and the spec's labels included). One warning per label, where
    routing names it."""
    for index, label in enumerate(group_by):
        if label in ("alertname", "..."):
            continue
        lacking = sorted(
            name for name, carried in alerts.items() if carried.exact and label not in carried.names
        )
        if not lacking:
            continue
        shown = ", ".join(lacking[:3]) + (
            f" and {len(lacking) - 3} more" if len(lacking) > 3 else ""
        )
        walk.warning(
            f"{routing_node.at('groupBy')}/{index}",
            f"the series of {shown} carry no '{label}', which routing groups by: all the "
            "series of such an alert arrive in one notification",
            f"keep '{label}' in their expressions (sum by ({label}) (...)), or group by "
            "labels every alert carries",
            check="labels/group-by-dropped",
        )
