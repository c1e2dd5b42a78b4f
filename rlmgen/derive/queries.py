"""The PromQL that reads a metric, shared by alerts, panels and the runbook."""

from __future__ import annotations

import re

from rlmgen.model import types as m

_SELECTOR = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?")


def parenthesised(expr: str) -> str:
    expr = expr.strip()
    return expr if _SELECTOR.fullmatch(expr) else f"({expr})"


def levels_of_limit(metric: m.Metric) -> bool:
    """Whether the metric's levels are fractions of its `limit`."""
    return bool(
        metric.limit
        and metric.levels
        and any(level.of_limit for _, level in metric.levels.alerting())
    )


def metric_query(metric: m.Metric) -> str:
    """What a panel shows for a metric: the series (its recording rule when it has one),
    or its fraction of the limit when its levels are fractions of a limit."""
    if levels_of_limit(metric):
        assert metric.limit is not None
        return f"{metric.series} / {parenthesised(metric.limit)}"
    return metric.series
