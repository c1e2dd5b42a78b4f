"""What a spec declares, indexed before the walk so that any part may refer to any other
(a panel to a metric declared below it), and the checks of those references."""

from __future__ import annotations

import dataclasses
import re

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.lang import promql
from rlmgen.lang.versions import NATIVE_HISTOGRAMS
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.spec.suggest import did_you_mean

# Series every Prometheus has, which no spec needs to declare.
BUILTIN_SERIES = frozenset(
    {
        "up",
        "ALERTS",
        "ALERTS_FOR_STATE",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    }
)
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass
class Declared:
    metrics: set[str] = dataclasses.field(default_factory=set)
    series: set[str] = dataclasses.field(default_factory=set)  # what an expression may select
    receivers: dict[str, Node] = dataclasses.field(default_factory=dict)
    playbooks: set[str] = dataclasses.field(default_factory=set)
    severity_levels: set[str] = dataclasses.field(default_factory=set)
    summaries: set[str] = dataclasses.field(default_factory=set)
    histograms: set[str] = dataclasses.field(default_factory=set)
    gauges: set[str] = dataclasses.field(default_factory=set)
    counters: set[str] = dataclasses.field(default_factory=set)  # and histograms' series
    recorded_by: dict[str, str] = dataclasses.field(default_factory=dict)  # record -> metric
    # Without a metrics list (absent, or misspelled and reported by the schema pass)
    # every reference would be "undeclared": check references only against a list.
    checks_series: bool = False


_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
# Functions of a range that read a gauge's changes: on a counter, a reset is a fall.
_GAUGE_FUNCTIONS = frozenset({"delta", "idelta", "deriv"})
_IDENTIFIER = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")  # the schema's identifier


def _spelt_as_identifier(name: str) -> str:
    """`Replication_Lag` as an identifier is written: `replication-lag`."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")


def index(root: Node) -> Declared:
    declared = Declared(checks_series=root.is_list("metrics"))
    for metric in root.items("metrics"):
        name = metric.text("name")
        if name is None:
            continue
        if not _METRIC_NAME.fullmatch(name):
            # the schema reports the name and its fix (shop-errors: shop_errors); what uses
            # the fixed name is not reported again
            name = re.sub(r"[^a-zA-Z0-9_:]", "_", name)
        declared.metrics.add(name)
        declared.series.add(name)
        kind = metric.text("type")
        if kind == "histogram":
            declared.series.update(name + suffix for suffix in _HISTOGRAM_SUFFIXES)
            declared.counters.update(name + suffix for suffix in _HISTOGRAM_SUFFIXES)
            declared.histograms.add(name)
        elif kind == "summary":  # quantiles under its own name; no buckets
            declared.series.update((name + "_sum", name + "_count"))
            declared.counters.update((name + "_sum", name + "_count"))
            declared.summaries.add(name)
        if kind == "gauge":
            declared.gauges.add(name)
        if kind == "counter":
            declared.counters.update((name, name + "_total"))
            if not name.endswith("_total"):
                declared.series.add(name + "_total")
        if record := metric.text("record"):
            declared.series.add(record)
            declared.recorded_by.setdefault(record, name)
    for receiver in root.mapping("routing").items("receivers"):
        if name := receiver.text("name"):
            declared.receivers.setdefault(name, receiver)
    runbook = root.mapping("runbook")
    for playbook in runbook.items("playbooks"):
        if pid := playbook.text("id"):
            declared.playbooks.add(pid)
    for level in runbook.items("severityLevels"):
        if name := level.text("name"):
            declared.severity_levels.add(name)
    return declared


def check_series(walk: Walk, declared: Declared, pointer: str, query: promql.Query) -> None:
    """Every series an expression selects must be declared under metrics, and be read as
    its type allows."""
    if not declared.checks_series:
        return
    check_counter_functions(walk, declared, pointer, query)
    native = NATIVE_HISTOGRAMS in walk.targets.features
    for name in query.series:
        if name in declared.histograms and not native:
            walk.error_in_value(
                pointer,
                name,
                f"'{name}' is a histogram: its series are {name}_bucket, {name}_sum and "
                f"{name}_count, none is named '{name}'",
                f"read its buckets, such as histogram_quantile(0.99, sum by (le) "
                f"(rate({name}_bucket[5m]))); native histograms are selected by their name "
                f"when targets.features lists {NATIVE_HISTOGRAMS}",
                check="references/histogram-series",
            )
            continue
        if name in declared.series or name in BUILTIN_SERIES:
            continue
        summary = name.removesuffix("_bucket")
        if name.endswith("_bucket") and summary in declared.summaries:
            walk.error_in_value(
                pointer,
                name,
                f"'{summary}' is a summary: it has no buckets, so '{name}' is no series",
                f'read the quantiles it exports: {summary}{{quantile="0.99"}}',
                check="references/histogram-series",
            )
            continue
        hint = did_you_mean(name, declared.series, cutoff=0.75)
        walk.error_in_value(
            pointer,
            name,
            f"'{name}' is not a declared metric",
            hint or _declare_hint(name),
            check="references/unknown-metric",
        )


def _declare_hint(name: str) -> str:
    """How to declare what `name` selects: a histogram by its own name, for its buckets."""
    base = name.removesuffix("_bucket")
    if base != name and base:
        return (
            f"a histogram's buckets: declare the histogram under metrics: - name: {base}, "
            "type: histogram"
        )
    return f"declare it under metrics: - name: {name}"


def check_counter_functions(
    walk: Walk, declared: Declared, pointer: str, query: promql.Query
) -> None:
    """rate() and friends read a counter: on a gauge, every fall reads as a reset, and
    the result is wrong without a sign of it; and delta() and friends read a gauge."""
    read = promql.ranges_read(query.ast)
    for function, name, _ in read:
        if function in _GAUGE_FUNCTIONS and name in declared.counters:
            walk.warning_in_value(
                pointer,
                f"{function}(",
                f"'{name}' is a counter, and {function}() reads gauges: when the process "
                "restarts the counter falls to 0, and that reads as a huge fall",
                f"for a counter's growth, use increase({name}[...]) or rate({name}[...]), "
                "which take a fall for a reset",
                check="promql/delta-of-counter",
            )
            break
    for function, name, _ in read:
        if function in promql.COUNTER_FUNCTIONS and name in declared.gauges:
            walk.warning(
                pointer,
                f"'{name}' is a gauge, and {function}() reads counters: each fall of a "
                "gauge counts as a counter reset",
                f"for a gauge's change, use deriv({name}[5m]) (per second) or delta({name}[5m])",
                check="promql/rate-of-gauge",
            )


def check_counters_compared(
    walk: Walk,
    declared: Declared,
    pointer: str,
    query: promql.Query,
    what: str,
    *,
    levels: bool = False,
) -> None:
    """A rule whose value is compared with a threshold (an alert, a metric's levels)
    reads a counter's running total: it only grows, and falls to 0 when the process
    restarts, so the comparison holds forever once crossed, or flaps with restarts."""
    for name in dict.fromkeys(promql.compared_totals(query.ast, compared=levels)):
        if name not in declared.counters:
            continue
        if name in declared.metrics or name.removesuffix("_total") in declared.metrics:
            message = (
                f"'{name}' is a counter, and {what} its running total: it only grows (and "
                "falls to 0 when the process restarts), so the comparison holds forever once "
                "crossed"
            )
        else:  # a histogram's or summary's _bucket, _sum or _count
            message = (
                f"'{name}' counts everything since the process started (a histogram's and a "
                f"summary's series are counters), and {what} those totals, not what happens "
                "now"
            )
        walk.warning_in_value(
            pointer,
            name,
            message,
            f"compare how fast it grows: rate({name}[5m]) (per second) or increase({name}[1h])",
            check="promql/counter-not-rated",
        )
        return


def check_rule_expression(walk: Walk, pointer: str, query: promql.Query, what: str) -> bool:
    """A rule's expression gives an instant vector or a scalar: promtool refuses a range
    vector or a string as a rule's result."""
    if promql.is_instant_or_scalar(query.ast):
        return True
    walk.error(
        pointer,
        f"{what} must give an instant vector or a scalar, not a range vector or a string",
        "aggregate a range over time, such as rate(x[5m]) or avg_over_time(x[1h])",
        check="promql/rule-result",
    )
    return False


def check_metric(walk: Walk, declared: Declared, pointer: str, name: str) -> bool:
    """Whether `name` is a declared metric (reported when not)."""
    if name in declared.metrics or not declared.checks_series:
        return name in declared.metrics
    if name in declared.recorded_by:
        metric = declared.recorded_by[name]
        walk.error(
            pointer,
            f"'{name}' is the series the metric '{metric}' records: name the metric",
            f"write {metric}",
            check="references/unknown-metric",
        )
        return False
    hint = did_you_mean(name, declared.metrics, cutoff=0.75)
    walk.error(
        pointer,
        f"'{name}' is not a declared metric",
        hint or f"declare it under metrics: - name: {name}",
        check="references/unknown-metric",
    )
    return False


def check_receiver(walk: Walk, declared: Declared, pointer: str, name: str) -> None:
    if name in declared.receivers:
        return
    if not declared.receivers:
        walk.error(
            pointer,
            f"route '{name}' refers to a receiver, but the spec declares none",
            "declare it under routing.receivers",
            check="references/unknown-receiver",
        )
        return
    hint = did_you_mean(name, declared.receivers)
    walk.error(
        pointer,
        f"'{name}' is not a declared receiver",
        hint or f"declared receivers: {', '.join(sorted(declared.receivers))}",
        check="references/unknown-receiver",
    )


def check_playbook(
    walk: Walk, declared: Declared, pointer: str, name: str, *, warn: bool = False
) -> None:
    if name in declared.playbooks:
        return
    if not _IDENTIFIER.fullmatch(name) and _spelt_as_identifier(name) in declared.playbooks:
        return  # the schema's pattern error says the spelling that is declared
    hint = did_you_mean(name, declared.playbooks) or "declare it under runbook.playbooks"
    message = f"'{name}' is not a declared playbook"
    if warn:
        walk.warning(pointer, message, hint, check="references/unknown-playbook")
    else:
        walk.error(pointer, message, hint, check="references/unknown-playbook")


def unique(
    walk: Walk, entries: list[Node], key: str, what: str, *, check: str = "names/duplicate"
) -> None:
    """Report every entry whose `key` repeats an earlier one's."""
    seen: dict[str, Node] = {}
    for entry in entries:
        value = entry.text(key)
        if value is None:
            continue
        if value in seen:
            walk.error(
                entry.at(key),
                f"duplicate {what} '{value}'",
                f"first used at line {walk.line_of(seen[value].at(key))}",
                check=check,
            )
        else:
            seen[value] = entry
