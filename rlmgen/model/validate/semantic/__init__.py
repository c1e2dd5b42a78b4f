"""Pass 2: checks that need the whole document. Runs on whatever is well-typed even
when the schema pass found problems elsewhere, so one run reports everything."""

from __future__ import annotations

from rlmgen.model.validate.semantic import (
    alerts,
    autoscaling,
    dashboards,
    metrics,
    routing,
    runbook,
)
from rlmgen.model.validate.semantic.context import Context
from rlmgen.spec.diagnostics import Diagnostic
from rlmgen.spec.loader import LoadedSpec

_CHECKS = (
    metrics.check,
    routing.check,
    alerts.check,
    dashboards.check,
    autoscaling.check,
    runbook.check,
)


def semantic_diagnostics(spec: LoadedSpec, *, strict: bool = False) -> list[Diagnostic]:
    context = Context(spec, strict=strict)
    for check in _CHECKS:
        check(context)
    return context.found
