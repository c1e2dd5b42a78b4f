"""Dashboards: unique uids and titles, panels that say what to show, metric references."""

from __future__ import annotations

from typing import Any

from rlmgen.diagnostics import join_pointer
from rlmgen.validate.semantic.context import Context, items, text


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
    if metric := text(panel, "metric"):
        ctx.check_metric_ref(join_pointer(pointer, "metric"), metric)
    if query := text(panel, "query"):
        ctx.check_series(join_pointer(pointer, "query"), query)
    for query_pointer, query_entry in items(panel.get("queries"), join_pointer(pointer, "queries")):
        if expr := text(query_entry, "expr"):
            ctx.check_series(join_pointer(query_pointer, "expr"), expr)
