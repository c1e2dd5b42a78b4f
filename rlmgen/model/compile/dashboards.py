"""Dashboards: unique uids and titles, panels that say what to show, metric references,
Grafana unit ids, and what each query reads."""

from __future__ import annotations

import functools

from rlmgen.lang import promql
from rlmgen.lang.units import SERIES_UNITS, format_duration
from rlmgen.lang.versions import NATIVE_HISTOGRAMS
from rlmgen.model import types as m
from rlmgen.model.compile import references
from rlmgen.model.compile.references import Declared
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.model.conventions import DEFAULT_TIME_FROM
from rlmgen.spec.suggest import ask, did_you_mean

# Grafana's default `min_refresh_interval`: dashboards refreshing faster are clamped.
GRAFANA_MIN_REFRESH = 5.0


def compile_dashboards(
    walk: Walk, root: Node, metrics: dict[str, m.Metric], declared: Declared
) -> tuple[m.Dashboard, ...]:
    nodes = root.items("dashboards")
    references.unique(walk, nodes, "uid", "dashboard uid", check="dashboards/duplicate-uid")
    references.unique(walk, nodes, "title", "dashboard title")
    dashboards = (_dashboard(walk, node, metrics, declared) for node in nodes)
    return tuple(d for d in dashboards if d is not None)


def _dashboard(
    walk: Walk, node: Node, metrics: dict[str, m.Metric], declared: Declared
) -> m.Dashboard | None:
    variables = node.items("variables")
    references.unique(walk, variables, "name", "variable")
    _check_variables_used(walk, node, variables)
    rows = []
    top = [_panel(walk, p, metrics, declared) for p in node.items("panels")]
    if top:
        rows.append(m.Row(None, False, tuple(p for p in top if p is not None)))
    for row in node.items("rows"):
        panels = [_panel(walk, p, metrics, declared) for p in row.items("panels")]
        rows.append(
            m.Row(
                row.text("title") or "",
                row.flag("collapsed", False),
                tuple(p for p in panels if p is not None),
            )
        )
    refresh = node.duration("refresh")
    if refresh is not None and refresh < GRAFANA_MIN_REFRESH:
        walk.warning(
            node.at("refresh"),
            f"Grafana refreshes at most every {format_duration(GRAFANA_MIN_REFRESH)} (its "
            f"default min_refresh_interval): a refresh of {node.value['refresh']} is raised "
            "to it",
            f"write {format_duration(GRAFANA_MIN_REFRESH)} or more",
            check="dashboards/refresh-too-fast",
        )
    uid, title = node.text("uid"), node.text("title")
    if uid is None or title is None:
        return None
    return m.Dashboard(
        uid=uid,
        title=title,
        description=node.text("description"),
        refresh=refresh,
        time_from=node.text("timeFrom") or DEFAULT_TIME_FROM,
        tags=node.strings("tags"),
        variables=tuple(
            m.Variable(
                name,
                v.text("label"),
                v.text("query") or "",
                v.flag("multi", False),
                v.flag("includeAll", False),
            )
            for v in variables
            if (name := v.text("name"))
        ),
        rows=tuple(rows),
    )


# The variable every rlmgen dashboard has besides the spec's: its data source.
DATASOURCE_VARIABLE = "datasource"


def _check_variables_used(walk: Walk, node: Node, variables: list[Node]) -> None:
    """Every `$name`, `${name}` or `[[name]]` in a panel's or a variable's query is a
    variable of the dashboard (or Grafana's `$__` macros): Grafana leaves an unknown one
    as it is written, so the query selects nothing and the panel shows no data."""
    declared = [name for v in variables if (name := v.text("name"))]
    known = {*declared, DATASOURCE_VARIABLE}
    panels = node.items("panels") + [p for row in node.items("rows") for p in row.items("panels")]
    queries = [query for panel in panels for query in panel.items("queries")]
    texts = [(panel, key) for panel in panels for key in ("query", "legend")]
    texts += [(query, key) for query in queries for key in ("expr", "legend")]
    texts += [(variable, "query") for variable in variables]
    for owner, key in texts:
        text = owner.text(key)
        if text is None or ("$" not in text and "[[" not in text):
            continue
        seen: dict[str, int] = {}
        for match in promql.GRAFANA_VARIABLE_USE.finditer(text):
            written = match.group()
            occurrence = seen.get(written, 0)
            seen[written] = occurrence + 1
            name = match.group("braced") or match.group("name") or match.group("bracketed")
            if name in known or name in promql.GRAFANA_GLOBALS:
                continue
            if name.startswith("__auto_interval_"):
                continue
            if key == "legend" and not did_you_mean(name, [*declared, *promql.GRAFANA_GLOBALS]):
                continue  # `cost in $USD`: text Grafana shows as written, as meant
            if name.startswith("__"):
                message = f"'{name}' is none of Grafana's global variables"
                hint = did_you_mean(name, promql.GRAFANA_GLOBALS) or "such as $__rate_interval"
            else:
                message = f"'{name}' is not a variable of this dashboard"
                hint = did_you_mean(name, declared) or (
                    f"declare it under the dashboard's variables (it has {', '.join(declared)})"
                    if declared
                    else "declare it under the dashboard's variables: - name: " + name
                )
            effect = "the legend shows it" if key == "legend" else "the query selects nothing"
            walk.error_in_value(
                owner.at(key),
                written,
                f"{message}: Grafana leaves {written} as written, so {effect}",
                hint,
                occurrence,
                check="dashboards/unknown-variable",
            )


def _metric_query(walk: Walk, node: Node, metric: m.Metric) -> m.Query | None:
    """What a `metric:` panel shows: the metric's series; of a histogram, a heatmap of its
    buckets' rates (no series is named like a classic histogram; any other panel type
    cannot tell which quantile or rate was meant); a summary, not as a heatmap (it has no
    buckets). None when reported."""
    name = metric.name
    heatmap = node.value.get("type") == "heatmap"
    if metric.type == "summary" and heatmap:
        walk.error(
            node.at("metric"),
            f"'{name}' is a summary: it has quantiles, not the buckets a heatmap shows",
            "show its quantiles in a timeseries panel (metric: with type: timeseries)",
            check="dashboards/histogram-metric",
        )
        return None
    if metric.type != "histogram":
        return m.Query(metric.measured, node.text("legend"), None)
    if heatmap:
        # a native histogram only where Prometheus ingests them and no classic buckets are
        # declared (the rules and SLOs of a metric with buckets read its _bucket series)
        if NATIVE_HISTOGRAMS in walk.targets.features and not metric.buckets:
            return m.Query(f"sum(rate({name}[$__rate_interval]))", node.text("legend"), None)
        expr = f"sum by (le) (rate({name}_bucket[$__rate_interval]))"
        return m.Query(expr, node.text("legend"), ("le",))
    walk.error(
        node.at("metric"),
        f"'{name}' is a histogram: no series is named '{name}', so a {node.text('type')} "
        "panel of it would show nothing",
        f"make it a heatmap, or give it a query such as histogram_quantile(0.99, sum by (le) "
        f"(rate({name}_bucket[$__rate_interval])))",
        check="dashboards/histogram-metric",
    )
    return None


def _panel(
    walk: Walk, node: Node, metrics: dict[str, m.Metric], declared: Declared
) -> m.Panel | None:
    _check_form(walk, node)
    metric = None
    metric_name = node.text("metric")
    if metric_name and references.check_metric(walk, declared, node.at("metric"), metric_name):
        metric = metrics.get(metric_name)
    queries = _queries(walk, node, declared)
    if unit := node.text("unit"):
        _check_unit(walk, node.at("unit"), unit)
        if metric is not None and "query" not in node and not node.items("queries"):
            _check_unit_of_metric(walk, node.at("unit"), unit, metric)
        if unit in _DATE_UNITS:
            _check_date_unit(walk, node, unit, metric, metrics)
    heatmap = node.value.get("type") == "heatmap" and "query" in node
    if heatmap and queries and "le" not in (queries[0].grouping or ()):
        walk.warning(
            node.at("query"),
            "a heatmap of a histogram reads its buckets summed by le",
            "write it like sum by (le) (rate(x_bucket[5m]))",
            check="dashboards/heatmap-not-by-le",
        )
    if queries is None:
        return None
    if not queries and metric is not None:
        shown = _metric_query(walk, node, metric)
        if shown is None:
            return None
        queries = [shown]
    title, kind = node.text("title"), node.text("type")
    if title is None or kind is None or (metric_name and metric is None):
        return None
    return m.Panel(
        title=title,
        type=kind,
        description=node.text("description") or (metric.description if metric else None),
        metric=metric,
        queries=tuple(queries),
        unit=unit,
        min=node.number("min"),
        max=node.number("max"),
        decimals=node.integer("decimals"),
        content=node.text("content"),
        width=node.integer("width"),
        height=node.integer("height"),
    )


def _check_form(walk: Walk, node: Node) -> None:
    """A text panel shows `content`; any other panel `query`, `queries` or `metric`."""
    if node.value.get("type") == "text":
        for key in ("query", "queries", "metric"):
            if key in node:
                walk.error(
                    node.at(key),
                    f"a text panel shows 'content', not '{key}'",
                    at_key=True,
                    check="dashboards/panel-form",
                )
        if "content" not in node:
            walk.error(
                node.pointer,
                "a text panel needs 'content' (markdown)",
                at_key=True,
                check="dashboards/panel-form",
            )
    else:
        if "content" in node:
            walk.error(
                node.at("content"),
                "'content' is only for text panels",
                at_key=True,
                check="dashboards/panel-form",
            )
        if not ("query" in node or "queries" in node or "metric" in node):
            walk.error(
                node.pointer,
                "a panel needs 'query', 'queries' or 'metric'",
                at_key=True,
                check="dashboards/panel-form",
            )
    if "query" in node and "queries" in node:
        walk.error(
            node.at("queries"),
            "give either 'query' or 'queries', not both",
            at_key=True,
            check="dashboards/panel-form",
        )


def _queries(walk: Walk, node: Node, declared: Declared) -> list[m.Query] | None:
    """The panel's queries, parsed (None when one is reported)."""
    found: list[m.Query] = []
    complete = True
    sources = [(node, "query", node.text("legend"))] if "query" in node else []
    sources += [(q, "expr", q.text("legend")) for q in node.items("queries")]
    for source, key, legend in sources:
        query = source.promql(key, dashboard=True)
        if query is None:
            complete = False
            continue
        references.check_series(walk, declared, source.at(key), query)
        found.append(m.Query(query.text.strip(), legend, promql.grouping(query.ast)))
    return found if complete else None


@functools.cache
def grafana_units() -> frozenset[str]:
    """Grafana's unit ids, as grafana-foundation-sdk (the pinned 11.6 build) lists them."""
    from grafana_foundation_sdk.models import units

    return frozenset(
        v for k, v in vars(units).items() if not k.startswith("_") and isinstance(v, str)
    )


# Grafana unit ids that read a value in a given scale of one dimension: a panel in one of
# them shows a metric in another of the same dimension wrongly (7200 s as 7200 h).
_SCALES = {
    **dict.fromkeys(("ns", "µs", "ms", "s", "m", "h", "d"), "time"),
    **dict.fromkeys(("percent", "percentunit"), "fraction"),
}
_SCALE_NAMES = {
    "ns": "nanoseconds", "µs": "microseconds", "ms": "milliseconds", "s": "seconds",
    "m": "minutes", "h": "hours", "d": "days", "percent": "percents (0-100)",
    "percentunit": "ratios (0-1)",
}  # fmt: skip


def _check_unit_of_metric(walk: Walk, pointer: str, unit: str, metric: m.Metric) -> None:
    """A `metric:` panel's unit reads the metric's samples as they are: a unit of another
    scale of the same dimension shows them wrongly (Grafana does not convert)."""
    own = metric.unit.grafana if metric.unit is not None else None
    if own is None or unit == own or _SCALES.get(unit) is None:
        return
    if _SCALES.get(unit) != _SCALES.get(own):
        return
    walk.warning(
        pointer,
        f"'{unit}' reads the values as {_SCALE_NAMES[unit]}, but {metric.name}'s samples "
        f"are {_SCALE_NAMES[own]}: Grafana shows them as they are, in the wrong unit",
        f"write unit: {own} (Grafana writes large values in larger units itself)",
        check="dashboards/unit-mismatch",
    )


# Grafana units that read a value as a date: milliseconds since 1970.
_DATE_UNITS = frozenset(
    {
        *("dateTimeAsIso", "dateTimeAsIsoNoDateIfToday", "dateTimeAsUS"),
        *("dateTimeAsUSNoDateIfToday", "dateTimeAsLocal", "dateTimeAsLocalNoDateIfToday"),
        *("dateTimeAsSystem", "dateTimeFromNow"),
    }
)


def _check_date_unit(
    walk: Walk, node: Node, unit: str, metric: m.Metric | None, metrics: dict[str, m.Metric]
) -> None:
    """A date unit reads milliseconds since 1970, and Prometheus keeps time in seconds
    (`*_timestamp_seconds`): a panel of metrics in seconds, not multiplied by 1000, shows
    today as a day of January 1970."""

    def in_seconds(name: str) -> bool:
        found = metrics.get(name)
        return found is not None and found.unit is not None and found.unit.name == "seconds"

    shown = (
        f"'{unit}' reads the values as milliseconds since 1970, but {{}} in seconds: a "
        "timestamp of today shows as a day of January 1970"
    )
    if metric is not None and "query" not in node and not node.items("queries"):
        if in_seconds(metric.name):
            walk.warning(
                node.at("unit"),
                shown.format(f"{metric.name}'s samples are"),
                f"a timestamp: give the panel the query {metric.series} * 1000 in place of "
                "metric:; a duration: unit: s",
                check="dashboards/unit-mismatch",
            )
        return
    pointers = [node.at("query")] if "query" in node else []
    pointers += [item.at("expr") for item in node.items("queries")]
    for pointer in pointers:
        query = walk.queries.get(pointer)
        if query is None or 1000 in promql.number_literals(query.ast):
            continue
        names = promql.series_names(query.ast)
        if names and all(in_seconds(name) for name in names):
            walk.warning(
                pointer,
                shown.format(
                    f"{', '.join(dict.fromkeys(names))} {'is' if len(set(names)) == 1 else 'are'}"
                ),
                "a timestamp: multiply the query by 1000; a duration: unit: s",
                check="dashboards/unit-mismatch",
            )


def _check_unit(walk: Walk, pointer: str, unit: str) -> None:
    known = grafana_units()
    if unit in known:
        return
    if unit in SERIES_UNITS:  # a metric unit name where Grafana wants its own id
        hint = ask([SERIES_UNITS[unit].grafana])
    else:
        hint = did_you_mean(unit, known, n=3) or (
            "use a Grafana unit id such as s, ms, percentunit, reqps, bytes, short"
        )
    walk.error(pointer, f"'{unit}' is not a Grafana unit id", hint, check="dashboards/unknown-unit")
