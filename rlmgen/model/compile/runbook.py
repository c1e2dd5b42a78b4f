"""Runbook content: unique ids and names, severity references, checks that do something."""

from __future__ import annotations

from typing import Literal, cast

from rlmgen.model import types as m
from rlmgen.model.compile import references
from rlmgen.model.compile.references import Declared
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.spec.suggest import did_you_mean


def compile_runbook(walk: Walk, root: Node, declared: Declared) -> m.Runbook:
    node = root.mapping("runbook")
    levels = node.items("severityLevels")
    references.unique(walk, levels, "name", "severity level")
    playbooks = node.items("playbooks")
    references.unique(walk, playbooks, "id", "playbook id")
    references.unique(walk, playbooks, "title", "playbook title")
    for playbook in playbooks:
        severity = playbook.text("severity")
        if severity and severity not in declared.severity_levels:
            walk.error(
                playbook.at("severity"),
                f"'{severity}' is not a declared severity level",
                did_you_mean(severity, declared.severity_levels)
                or "declare it under runbook.severityLevels",
                check="references/unknown-severity-level",
            )
    checks = node.items("scheduledChecks")
    references.unique(walk, checks, "id", "scheduled check id")
    for check in checks:
        if "run" not in check and "script" not in check and not check.flag("health", False):
            walk.error(
                check.pointer,
                "a scheduled check needs 'run' (a command), 'script', or 'health: true'",
                at_key=True,
                check="runbook/empty-check",
            )
    checklists = node.items("checklists")
    references.unique(walk, checklists, "title", "checklist")
    return m.Runbook(
        severity_levels=tuple(
            m.SeverityLevel(
                s.text("name") or "",
                s.text("criteria") or "",
                s.text("responseTime") or "",
                s.text("escalation") or "",
            )
            for s in levels
        ),
        playbooks=tuple(_playbook(p) for p in playbooks if p.text("id") and p.text("title")),
        commands=tuple(
            m.Command(c.text("description") or "", c.text("run") or "")
            for c in node.items("commands")
        ),
        checklists=tuple(
            m.Checklist(c.text("title") or "", c.strings("items")) for c in checklists
        ),
        scheduled_checks=tuple(_scheduled(c) for c in checks if c.text("id")),
        contacts=tuple(
            m.Contact(c.text("label") or "", c.text("value") or "", c.text("url"))
            for c in node.items("contacts")
        ),
    )


def _playbook(node: Node) -> m.Playbook:
    return m.Playbook(
        node.text("id") or "",
        node.text("title") or "",
        node.text("severity"),
        tuple(
            m.PlaybookStep(step.text("step") or "", step.text("run"))
            for step in node.items("steps")
        ),
    )


def _scheduled(node: Node) -> m.ScheduledCheck:
    section = node.text("section")
    return m.ScheduledCheck(
        node.text("id") or "",
        node.text("title") or "",
        cast(
            Literal["capacity-planning", "on-call"],
            section if section in ("capacity-planning", "on-call") else "on-call",
        ),
        node.text("schedule") or "",
        node.text("run"),
        node.text("script"),
        node.text("expectedOutput"),
        node.flag("health", False),
    )
