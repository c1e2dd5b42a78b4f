"""Runbook content: unique ids and names, severity references, checks that do something."""

from __future__ import annotations

import difflib

from rlmgen.model.validate.semantic.context import Context, items, text
from rlmgen.spec.diagnostics import join_pointer


def check(ctx: Context) -> None:
    runbook = ctx.doc.get("runbook")
    if not isinstance(runbook, dict):
        return
    levels = list(items(runbook.get("severityLevels"), "/runbook/severityLevels"))
    ctx.unique(iter(levels), "name", "severity level")
    level_names = sorted(n for _, lvl in levels if (n := text(lvl, "name")))
    playbooks = list(items(runbook.get("playbooks"), "/runbook/playbooks"))
    ctx.unique(iter(playbooks), "id", "playbook id")
    ctx.unique(iter(playbooks), "title", "playbook title")
    for pointer, playbook in playbooks:
        severity = text(playbook, "severity")
        if severity and severity not in level_names:
            close = difflib.get_close_matches(severity, level_names, n=1, cutoff=0.6)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else "declare it under runbook.severityLevels"
            )
            ctx.error(
                join_pointer(pointer, "severity"),
                f"'{severity}' is not a declared severity level",
                hint,
            )
    checks = list(items(runbook.get("scheduledChecks"), "/runbook/scheduledChecks"))
    ctx.unique(iter(checks), "id", "scheduled check id")
    for pointer, scheduled in checks:
        if "run" not in scheduled and "script" not in scheduled:
            ctx.error(pointer, "a scheduled check needs 'run' (a command) or 'script'", at_key=True)
    ctx.unique(items(runbook.get("checklists"), "/runbook/checklists"), "title", "checklist")
