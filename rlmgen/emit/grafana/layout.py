"""Automatic layout on Grafana's 24-column grid: panels fill lines left to right in
spec order, a row starts a new line, and the last panel of a line stretches to the
edge unless the spec fixed its width."""

from __future__ import annotations

import dataclasses

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.model import types as m

GRID_WIDTH = 24
ROW_HEIGHT = 1
DEFAULT_WIDTH = {
    "stat": 6,
    "gauge": 6,
    "bargauge": 12,
    "timeseries": 12,
    "heatmap": 12,
    "table": 24,
    "text": 24,
}
DEFAULT_HEIGHT = {
    "stat": 6,
    "gauge": 8,
    "bargauge": 8,
    "timeseries": 8,
    "heatmap": 8,
    "table": 8,
    "text": 4,
}


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


def layout(rows: tuple[m.Row, ...]) -> tuple[list[Box | None], list[list[Box]]]:
    """Positions of each row's header (None for untitled) and of each row's panels."""
    headers: list[Box | None] = []
    boxes: list[list[Box]] = []
    y = 0
    for row in rows:
        if row.title is not None:
            headers.append(Box(0, y, GRID_WIDTH, ROW_HEIGHT))
            y += ROW_HEIGHT
        else:
            headers.append(None)
        placed, y = _place(row.panels, y)
        boxes.append(placed)
    return headers, boxes


def _place(panels: tuple[m.Panel, ...], top: int) -> tuple[list[Box], int]:
    placed: list[Box] = []
    line: list[int] = []  # indexes of the panels on the current line
    x, y, line_height = 0, top, 0
    for panel in panels:
        width = panel.width or DEFAULT_WIDTH[panel.type]
        height = panel.height or DEFAULT_HEIGHT[panel.type]
        if x + width > GRID_WIDTH:
            _stretch(placed, line, panels)
            x, y, line_height, line = 0, y + line_height, 0, []
        placed.append(Box(x, y, width, height))
        line.append(len(placed) - 1)
        x += width
        line_height = max(line_height, height)
    _stretch(placed, line, panels)
    return placed, y + line_height


def _stretch(placed: list[Box], line: list[int], panels: tuple[m.Panel, ...]) -> None:
    """Widen the last panel of a line to the grid's edge, unless its width is fixed."""
    if not line:
        return
    last = line[-1]
    box = placed[last]
    if panels[last].width is None and box.x + box.w < GRID_WIDTH:
        placed[last] = dataclasses.replace(box, w=GRID_WIDTH - box.x)
