"""Dashboards: unique uids and titles, panels that say what to show, metric references."""

from __future__ import annotations

import difflib
import functools
from typing import Any

from rlmgen.lang import promql
from rlmgen.lang.units import SERIES_UNITS
from rlmgen.model.validate.semantic.context import Context, items, text
from rlmgen.spec.diagnostics import join_pointer


def check(ctx: Context) -> None:
    dashboards = list(items(ctx.doc.get("dashboards"), "/dashboards"))
    ctx.unique(iter(dashboards), "uid", "dashboard uid")
    ctx.unique(iter(dashboards), "title", "dashboard title")
    for pointer, dashboard in dashboards:
        ctx.unique(
            items(dashboard.get("variables"), join_pointer(pointer, "variables")),
            "name",
            "variable",
        )
        for panel_pointer, panel in panels(dashboard, pointer):
            _check_panel(ctx, panel_pointer, panel)


def panels(dashboard: dict[str, Any], pointer: str) -> list[tuple[str, dict[str, Any]]]:
    found = list(items(dashboard.get("panels"), join_pointer(pointer, "panels")))
    for row_pointer, row in items(dashboard.get("rows"), join_pointer(pointer, "rows")):
        found.extend(items(row.get("panels"), join_pointer(row_pointer, "panels")))
    return found


def _check_panel(ctx: Context, pointer: str, panel: dict[str, Any]) -> None:
    is_text = panel.get("type") == "text"
    has_query = "query" in panel or "queries" in panel
    if is_text:
        for key in ("query", "queries", "metric"):
            if key in panel:
                ctx.error(
                    join_pointer(pointer, key),
                    f"a text panel shows 'content', not '{key}'",
                    at_key=True,
                )
        if "content" not in panel:
            ctx.error(pointer, "a text panel needs 'content' (markdown)", at_key=True)
    else:
        if "content" in panel:
            ctx.error(
                join_pointer(pointer, "content"), "'content' is only for text panels", at_key=True
            )
        if not has_query and "metric" not in panel:
            ctx.error(pointer, "a panel needs 'query', 'queries' or 'metric'", at_key=True)
    if "query" in panel and "queries" in panel:
        ctx.error(
            join_pointer(pointer, "queries"),
            "give either 'query' or 'queries', not both",
            at_key=True,
        )
    if unit := text(panel, "unit"):
        _check_unit(ctx, join_pointer(pointer, "unit"), unit)
    if panel.get("type") == "heatmap" and (query := text(panel, "query")):
        _check_heatmap(ctx, join_pointer(pointer, "query"), query)
    if metric := text(panel, "metric"):
        ctx.check_metric_ref(join_pointer(pointer, "metric"), metric)
    if query := text(panel, "query"):
        ctx.check_series(join_pointer(pointer, "query"), query)
    for query_pointer, query_entry in items(panel.get("queries"), join_pointer(pointer, "queries")):
        if expr := text(query_entry, "expr"):
            ctx.check_series(join_pointer(query_pointer, "expr"), expr)


@functools.cache
def grafana_units() -> frozenset[str]:
    """Grafana's unit ids, as grafana-foundation-sdk (the pinned 11.6 build) lists them."""
    from grafana_foundation_sdk.models import units

    return frozenset(
        v for k, v in vars(units).items() if not k.startswith("_") and isinstance(v, str)
    )


def _check_unit(ctx: Context, pointer: str, unit: str) -> None:
    known = grafana_units()
    if unit in known:
        return
    close = difflib.get_close_matches(unit, sorted(known), n=3, cutoff=0.6)
    if unit in SERIES_UNITS:  # a metric unit name where Grafana wants its own id
        close = [SERIES_UNITS[unit].grafana]
    hint = (
        f"did you mean {' or '.join(repr(c) for c in close)}?"
        if close
        else "use a Grafana unit id such as s, ms, percentunit, reqps, bytes, short"
    )
    ctx.error(pointer, f"'{unit}' is not a Grafana unit id", hint)


def _check_heatmap(ctx: Context, pointer: str, query: str) -> None:
    """A heatmap of a histogram reads its buckets summed by le, as Grafana expects."""
    import promql_parser

    if promql.check(query) is not None:
        return
    node = promql.parse(query)
    modifier = node.modifier if isinstance(node, promql_parser.AggregateExpr) else None
    if modifier is None or not str(modifier.type).endswith("By") or "le" not in modifier.labels:
        ctx.warning(
            pointer,
            "a heatmap of a histogram reads its buckets summed by le",
            "write it like sum by (le) (rate(x_bucket[5m]))",
        )
