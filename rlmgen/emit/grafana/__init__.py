"""Grafana: one dashboard JSON per spec dashboard under `grafana/<uid>.json` (built with
grafana-foundation-sdk, schemaVersion 41, serialised deterministically) and a
dashboard provider, `grafana/provisioning.yaml`, so the folder can be mounted as is."""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.derive.rules import Rules
from rlmgen.derive.slos import slo_dashboard
from rlmgen.emit.grafana.layout import layout
from rlmgen.emit.grafana.panels import DATASOURCE, build_panel
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.conventions import (
    PROVISIONING_PATH,
    dashboard_path,
    kubernetes_labels,
    sidecar_config_map_path,
)
from rlmgen.output import jsonout
from rlmgen.output.yamlout import dump


def emit(spec: m.Spec, rules: Rules) -> dict[str, str]:
    found = boards(spec)
    if not found:
        return {}
    files = {dashboard_path(d.uid): render(dashboard_json(spec, d)) for d in found}
    files[PROVISIONING_PATH] = dump(provisioning(spec))
    return files


def render(document: dict[str, Any]) -> str:
    return jsonout.dumps(document) + "\n"  # json.dumps(indent=2, sort_keys=True), faster


def dashboard_json(spec: m.Spec, board: m.Dashboard) -> dict[str, Any]:
    builder = (
        dashboard.Dashboard(board.title)
        .uid(board.uid)
        .readonly()
        .tags(_tags(spec, board))
        .time(board.time_from, "now")
        .timezone("browser")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .with_variable(
            dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")
        )
        .links(_links(spec))
    )
    if board.description:
        builder = builder.description(board.description)
    if board.refresh:
        builder = builder.refresh(format_duration(board.refresh))
    for variable in board.variables:
        builder = builder.with_variable(
            dashboard.QueryVariable(variable.name)
            .label(variable.label or variable.name)
            .query(variable.query)
            .datasource(DATASOURCE)
            .multi(variable.multi)
            .include_all(variable.include_all)
            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(dm.VariableSort.ALPHABETICAL_ASC)
        )
    headers, boxes = layout(board.rows)
    panel_id = 0
    for row, header, row_boxes in zip(board.rows, headers, boxes, strict=True):
        row_builder = None
        if header is not None:
            panel_id += 1
            row_builder = (
                dashboard.Row(row.title or "")
                .id(panel_id)
                .collapsed(row.collapsed)
                .grid_pos(dm.GridPos(h=header.h, w=header.w, x=header.x, y=header.y))
            )
        panels = []
        for panel, box in zip(row.panels, row_boxes, strict=True):
            panel_id += 1
            panels.append(build_panel(spec, panel, box, panel_id))
        if row_builder is not None and row.collapsed:
            for panel_builder in panels:  # a collapsed row carries its panels
                row_builder = row_builder.with_panel(panel_builder)
            builder = builder.with_row(row_builder)
            continue
        if row_builder is not None:
            builder = builder.with_row(row_builder)
        for panel_builder in panels:
            builder = builder.with_panel(panel_builder)
    document: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return document


def _tags(spec: m.Spec, board: m.Dashboard) -> list[str]:
    return list(dict.fromkeys([spec.service.name, *board.tags]))


def _links(spec: m.Spec) -> list[Builder[dm.DashboardLink]]:
    return [
        dashboard.DashboardLink(f"{spec.service.title} runbook")
        .type(dm.DashboardLinkType.LINK)
        .url(spec.service.runbook_url)
        .target_blank(True)
        .icon("doc"),
        dashboard.DashboardLink(f"{spec.service.title} dashboards")
        .type(dm.DashboardLinkType.DASHBOARDS)
        .tags([spec.service.name])
        .as_dropdown(True)
        .keep_time(True)
        .include_vars(True),
    ]


def provisioning(spec: m.Spec) -> dict[str, Any]:
    return {"apiVersion": 1, "providers": [_provider(spec)]}


def _provider(spec: m.Spec) -> dict[str, Any]:
    """A file provider for the service's folder (mounted at <dashboardsPath>/<service>)."""
    root = spec.platform.dashboards_path.rstrip("/")
    return {
        "name": spec.service.name,
        "orgId": 1,
        "folder": spec.service.title,
        "folderUid": spec.service.name,
        "type": "file",
        "disableDeletion": False,
        "allowUiUpdates": False,
        "updateIntervalSeconds": 60,
        "options": {
            "path": f"{root}/{spec.service.name}",
            "foldersFromFilesStructure": False,
        },
    }


def boards(spec: m.Spec) -> list[m.Dashboard]:
    slos = slo_dashboard(spec)
    return [*spec.dashboards, *([slos] if slos else [])]


@dataclass(frozen=True)
class ClusterPart:
    """What one service with dashboards adds to its environment's Grafana."""

    provider: dict[str, Any]
    config_maps: dict[str, str]  # path: text, when the platform asks for the sidecar


def cluster_part(spec: m.Spec) -> ClusterPart | None:
    found = boards(spec)
    if not found:
        return None
    sidecar = spec.platform.sidecar
    config_maps = {}
    if sidecar is not None:
        for board in found:
            path = sidecar_config_map_path(spec.service.name, board.uid)
            config_maps[path] = dump(_config_map(spec, sidecar, board))
    return ClusterPart(_provider(spec), config_maps)


def emit_cluster(parts: list[ClusterPart | None]) -> dict[str, str]:
    """An environment's Grafana (its services' parts, in service order): one provider per
    service folder and, when the platform asks, each dashboard as a ConfigMap labelled
    for Grafana's dashboard sidecar."""
    with_boards = [part for part in parts if part is not None]
    if not with_boards:
        return {}
    files = {
        PROVISIONING_PATH: dump(
            {"apiVersion": 1, "providers": [part.provider for part in with_boards]}
        )
    }
    for part in with_boards:
        files.update(part.config_maps)
    return files


def _config_map(spec: m.Spec, sidecar: m.GrafanaSidecar, board: m.Dashboard) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{spec.service.name}-{board.uid}"[:253],
            "namespace": sidecar.namespace,
            "labels": {
                **kubernetes_labels(spec.service.name, "dashboards"),
                sidecar.label: sidecar.label_value,
            },
            "annotations": {sidecar.folder_annotation: spec.service.title},
        },
        "data": {f"{board.uid}.json": render(dashboard_json(spec, board))},
    }
