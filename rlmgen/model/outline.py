"""The headings of the generated runbook, in order, with the anchors GitHub gives them.

Every `runbook_url` points at an alert's heading by the alert's name, so the outline is a
fact of the model, not only of the runbook: the compile walk computes it once
(`Spec.outline`), checks that no heading takes an alert's anchor first, and the runbook
emitter places its headings (and links to them) from it. templates/runbook.md.j2
renders exactly these headings (tested)."""

from __future__ import annotations

from collections.abc import Iterator

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.model import types as m
from rlmgen.model.conventions import severity_rank
from rlmgen.output.markdown import Headings, heading_text

SECTIONS = (
    "Key Metrics",
    "Dashboards",
    "Alerting Rules",
    "Incident Response",
    "Capacity Planning",
    "On-Call Responsibilities",
    "Contact Information",
)
UNROUTED = "Unrouted"


@dataclass(frozen=True)
class AlertIdentity:
    """What the runbook needs to know of an alert rule to place it."""

    name: str
    severity: str
    receiver: str | None


def alert_identities(spec: m.Spec) -> list[AlertIdentity]:
    """Every alert rule in the rules file's order: the level alerts (metric by metric,
    least severe first), then the hand-written groups."""
    found = [
        AlertIdentity(metric.alert.name, level.severity, level.receiver)
        for metric in spec.metrics
        if metric.alert is not None
        for level in metric.alert.levels
    ]
    found += [AlertIdentity(a.name, a.severity, a.receiver) for a in spec.alerts]
    found += [
        AlertIdentity(target.alert_name, burn.severity, burn.receiver)
        for target in spec.slos
        for burn in target.alerts
    ]
    return found


SLO_SECTION = "Service Level Objectives"


def sections(spec: m.Spec) -> tuple[str, ...]:
    """The runbook's second-level sections (the SLO section when the spec has SLOs)."""
    if not spec.slos:
        return SECTIONS
    return (SECTIONS[0], SLO_SECTION, *SECTIONS[1:])


def metric_groups(spec: m.Spec) -> dict[str, list[m.Metric]]:
    """The key-metrics tables: metrics with a group and levels, by group in spec order."""
    groups: dict[str, list[m.Metric]] = {}
    for metric in spec.metrics:
        if metric.group and metric.levels:
            groups.setdefault(metric.group, []).append(metric)
    return groups


def receiver_heading(spec: m.Spec, receiver: str) -> str:
    declared = spec.receiver(receiver or None)
    if declared is not None and declared.title:
        return declared.title
    return receiver or UNROUTED


def alert_sections(spec: m.Spec) -> list[tuple[str, list[str]]]:
    """Receivers in the runbook's order (declared first, then any other), each with the
    alerts whose section sits under it: an alert's section lives with its most severe
    rule."""
    rules = alert_identities(spec)
    declared = [r.name for r in spec.routing.receivers] if spec.routing else []
    order = [*declared, *sorted({r.receiver or "" for r in rules} - set(declared))]
    home: dict[str, AlertIdentity] = {}
    for rule in rules:
        if rule.name not in home or severity_rank(rule.severity) > severity_rank(
            home[rule.name].severity
        ):
            home[rule.name] = rule
    placed: set[str] = set()
    sections = []
    for receiver in order:
        routed = [r for r in rules if (r.receiver or "") == receiver]
        if not routed:
            continue
        names = []
        for rule in routed:
            if rule.name not in placed and home[rule.name] is rule:
                placed.add(rule.name)
                names.append(rule.name)
        sections.append((receiver, names))
    return sections


def runbook_outline(spec: m.Spec) -> m.Outline:
    headings = Headings()
    placed: list[m.Heading] = []

    def add(level: int, text: str, kind: str, key: str | None = None) -> None:
        shown = heading_text(text)
        placed.append(
            m.Heading(level, shown, headings.add(shown), kind, text if key is None else key)
        )

    sections = alert_sections(spec)
    for level, text, kind, key in _headings(spec, sections):
        add(level, text, kind, key)
    return m.Outline(tuple(placed), tuple((r, tuple(names)) for r, names in sections))


def _headings(
    spec: m.Spec, sections: list[tuple[str, list[str]]]
) -> Iterator[tuple[int, str, str, str | None]]:
    """(level, text, kind, key) of every heading of templates/runbook.md.j2, in order."""
    runbook = spec.runbook
    yield 1, f"{spec.service.title} Monitoring Runbook", "title", None
    yield 2, "Table of Contents", "contents", None
    yield 2, "Key Metrics", "section", None
    for group in metric_groups(spec):
        yield 3, f"{group} Metrics", "metric-group", group
    if any(not (x.group and x.levels) for x in spec.metrics):
        yield 3, "Other Series", "other-series", None
    if spec.slos:
        yield 2, SLO_SECTION, "section", None
    for target in spec.slos:
        yield 3, target.name, "slo", target.name
    yield 2, "Dashboards", "section", None
    for number, board in enumerate(spec.dashboards, 1):
        yield 3, f"{number}. {board.title}", "dashboard", board.uid
    yield 2, "Alerting Rules", "section", None
    for receiver, names in sections:
        yield 3, receiver_heading(spec, receiver), "receiver", receiver
        for name in names:
            yield 4, name, "alert", name
    yield 2, "Incident Response", "section", None
    if runbook.severity_levels:
        yield 3, "Severity Levels", "severity-levels", None
    if runbook.playbooks:
        yield 3, "Incident Response Playbook", "playbooks", None
    for playbook in runbook.playbooks:
        yield 4, playbook.title, "playbook", playbook.id
    if runbook.commands:
        yield 3, "Runbook Commands", "commands", None
    yield 2, "Capacity Planning", "section", None
    for check in runbook.scheduled_checks:
        if check.section == "capacity-planning":
            yield 3, check.title, "check", check.id
    if spec.autoscaling:
        yield 3, "Auto-Scaling Configuration", "autoscaling", None
    for workload in spec.autoscaling:
        yield 4, f"{workload.title} ({workload.name})", "workload", workload.name
    if spec.autoscaling:
        yield 3, "Capacity Thresholds", "capacity-thresholds", None
    yield 2, "On-Call Responsibilities", "section", None
    for checklist in runbook.checklists:
        yield 3, checklist.title, "checklist", checklist.title
    for check in runbook.scheduled_checks:
        if check.section == "on-call":
            yield 3, check.title, "check", check.id
    yield 2, "Contact Information", "section", None
