"""One Grafana panel from one spec panel, on grafana-foundation-sdk builders. A panel
that names a metric takes the metric's unit, description, threshold colours and a
link to the runbook section of the alert its levels raise."""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    dashboard,
    gauge,
    heatmap,
    prometheus,
    stat,
    table,
    text,
    timeseries,
)
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm
from grafana_foundation_sdk.models import text as tm

from rlmgen.emit.grafana.layout import Box
from rlmgen.emit.grafana.thresholds import threshold_steps
from rlmgen.lang.display import in_decimal_bytes
from rlmgen.model import types as m
from rlmgen.model.conventions import runbook_link

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SINGLE_VALUE = {"stat", "gauge", "bargauge"}


def _reduce_last() -> common.ReduceDataOptions:
    return common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def _builder(panel: m.Panel) -> Any:
    match panel.type:
        case "stat":
            return (
                stat.Panel()
                .reduce_options(_reduce_last())
                .graph_mode(cm.BigValueGraphMode.AREA)
                .color_mode(cm.BigValueColorMode.VALUE)
            )
        case "gauge":
            return gauge.Panel().reduce_options(_reduce_last()).show_threshold_markers(True)
        case "bargauge":
            return (
                bargauge.Panel()
                .reduce_options(_reduce_last())
                .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
                .orientation(cm.VizOrientation.HORIZONTAL)
            )
        case "timeseries":
            return (
                timeseries.Panel()
                .legend(
                    common.VizLegendOptions()
                    .show_legend(True)
                    .display_mode(cm.LegendDisplayMode.LIST)
                    .placement(cm.LegendPlacement.BOTTOM)
                )
                .tooltip(
                    common.VizTooltipOptions()
                    .mode(cm.TooltipDisplayMode.MULTI)
                    .sort(cm.SortOrder.DESCENDING)
                )
            )
        case "heatmap":
            return heatmap.Panel().calculate(False).show_value(cm.VisibilityMode.NEVER)
        case "table":
            return table.Panel().show_header(True).align(cm.FieldTextAlignment.AUTO).inspect(False)
        case "text":
            return text.Panel().mode(tm.TextMode.MARKDOWN)
    raise ValueError(f"unknown panel type {panel.type!r}")


def unit_of(panel: m.Panel) -> str | None:
    if panel.unit:
        return panel.unit
    if panel.metric is None:
        return None
    if panel.metric.of_limit:
        return "percentunit"
    levels = panel.metric.levels
    written = (
        [
            level.text
            for level in (levels.target, levels.info, levels.warning, levels.critical)
            if level
        ]
        if levels
        else []
    )
    if in_decimal_bytes(written, panel.metric.unit):
        return "decbytes"  # Grafana's bytes are IEC (MiB); levels in MB count by 1000
    return panel.metric.unit.grafana if panel.metric.unit else None


def legend_of(query: m.Query, panel_type: str) -> str | None:
    """The spec's legend, or one naming each series by the labels it is grouped by."""
    if query.legend:
        return query.legend
    if panel_type == "heatmap":
        return "{{le}}"
    if query.grouping:
        return " ".join(f"{{{{{label}}}}}" for label in query.grouping)
    return None


def ref_id(index: int) -> str:
    """Grafana's query ids: A to Z, then AA, AB, ... as spreadsheet columns go."""
    text = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        text = LETTERS[rest] + text
    return text


def _target(query: m.Query, index: int, panel: m.Panel) -> prometheus.Dataquery:
    target = prometheus.Dataquery().expr(query.expr).ref_id(ref_id(index)).datasource(DATASOURCE)
    if legend := legend_of(query, panel.type):
        target = target.legend_format(legend)
    if panel.type == "heatmap":
        target = target.format(pm.PromQueryFormat.HEATMAP)
    elif panel.type == "table":
        target = target.instant().format(pm.PromQueryFormat.TABLE)  # one row per series
    return target


def _thresholds(panel: m.Panel) -> dashboard.ThresholdsConfig:
    given = panel.thresholds if panel.thresholds is not None else threshold_steps(panel.metric)
    steps = [dm.Threshold(value=value, color=colour) for value, colour in given]
    return dashboard.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(steps)


def alert_link(spec: m.Spec, metric: m.Metric | None) -> dashboard.DashboardLink | None:
    """A link to the runbook section of the alert the metric's levels raise."""
    if metric is None or metric.alert is None:
        return None
    name = metric.alert.name
    return (
        dashboard.DashboardLink(f"Runbook: {name}")
        .type(dm.DashboardLinkType.LINK)
        .url(runbook_link(spec.service.runbook_url, name))
        .target_blank(True)
        .icon("doc")
    )


def build_panel(spec: m.Spec, panel: m.Panel, box: Box, panel_id: int) -> Any:
    builder = (
        _builder(panel)
        .title(panel.title)
        .id(panel_id)
        .grid_pos(dm.GridPos(h=box.h, w=box.w, x=box.x, y=box.y))
    )
    if panel.description:
        builder = builder.description(panel.description)
    if panel.type == "text":
        return builder.content(panel.content or "")
    builder = builder.datasource(DATASOURCE)
    for index, query in enumerate(panel.queries):
        builder = builder.with_target(_target(query, index, panel))
    if unit := unit_of(panel):
        builder = builder.unit(unit)
    if panel.type == "heatmap":
        builder = builder.y_axis(heatmap.YAxisConfig().unit(unit)) if unit else builder
    else:
        builder = builder.thresholds(_thresholds(panel))
        if panel.type in _SINGLE_VALUE:
            builder = builder.color_scheme(
                dashboard.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS)
            )
        if panel.type == "timeseries" and (
            (panel.metric and panel.metric.levels) or panel.thresholds
        ):
            builder = builder.thresholds_style(
                common.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED)
            )
    minimum, maximum = panel.min, panel.max
    if unit == "percentunit" and panel.type in ("gauge", "bargauge"):
        minimum = 0 if minimum is None else minimum
        maximum = 1 if maximum is None else maximum
    if minimum is not None:
        builder = builder.min(minimum)
    if maximum is not None:
        builder = builder.max(maximum)
    if panel.decimals is not None:
        builder = builder.decimals(panel.decimals)
    if link := alert_link(spec, panel.metric):
        builder = builder.links([link])
    return builder
