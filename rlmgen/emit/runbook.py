"""`runbook/README.md`: the on-call runbook, rendered from `templates/runbook.md.j2`, and
the scripts the spec declares under `scripts/`. Everything shown comes from the spec or
from the same derivations the rules, dashboards and HPAs use, so it cannot drift."""

from __future__ import annotations

import dataclasses
from typing import Any

from rlmgen.derive.rules import SEVERITY_ORDER, AlertRule, alert_rules
from rlmgen.emit.hpa import hpa
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.output import markdown as md
from rlmgen.output.templating import environment
from rlmgen.output.yamlout import dump

RUNBOOK_PATH = "runbook/README.md"
SCRIPTS_DIR = "scripts"
_LEVEL_COLUMNS = {"info": "Info", "warning": "Warning", "critical": "Critical"}


def generate(spec: m.Spec) -> dict[str, str]:
    files = {
        f"{SCRIPTS_DIR}/{c.id}.sh": c.script for c in spec.runbook.scheduled_checks if c.script
    }
    files[RUNBOOK_PATH] = environment().get_template("runbook.md.j2").render(context(spec))
    return files


@dataclasses.dataclass
class Section:
    title: str
    anchor: str


def context(spec: m.Spec) -> dict[str, Any]:
    headings = md.Headings()
    title = f"{spec.service.title} Monitoring Runbook"
    headings.add(title)
    names = (
        "Key Metrics",
        "Dashboards",
        "Alerting Rules",
        "Incident Response",
        "Capacity Planning",
        "On-Call Responsibilities",
        "Contact Information",
    )
    sections = {}
    data: dict[str, Any] = {"title": title, "service": spec.service, "source": spec.source}
    builders = (
        ("Key Metrics", _metrics),
        ("Dashboards", _dashboards),
        ("Alerting Rules", _alerting),
        ("Incident Response", _incidents),
        ("Capacity Planning", _capacity),
        ("On-Call Responsibilities", _on_call),
        ("Contact Information", _contacts),
    )
    for name, build in builders:
        sections[name] = Section(name, headings.add(name))
        data.update(build(spec, headings))
    data["sections"] = [sections[n] for n in names]
    # playbooks come after the alerts that point at them: link once both are placed
    anchors = {entry["playbook"].id: entry["anchor"] for entry in data["playbooks"]}
    for route in data["routes"]:
        for section in route["sections"]:
            if section["playbook"] is not None:
                section["playbook_anchor"] = anchors[section["playbook"].id]
    return data


def _metrics(spec: m.Spec, headings: md.Headings) -> dict[str, Any]:
    groups: dict[str, list[m.Metric]] = {}
    for metric in spec.metrics:
        if metric.group and metric.levels:
            groups.setdefault(metric.group, []).append(metric)
    tables = []
    for group, metrics in groups.items():
        present = [k for k in SEVERITY_ORDER if any(getattr(x.levels, k) for x in metrics)]
        columns = (
            ["Alert Threshold"] if present == ["info"] else [_LEVEL_COLUMNS[k] for k in present]
        )
        rows = []
        for metric in metrics:
            assert metric.levels is not None
            levels = [getattr(metric.levels, k) for k in present]
            rows.append(
                {
                    "metric": metric,
                    "target": metric.levels.target,
                    "levels": [level.text if level else "—" for level in levels],
                }
            )
        heading = f"{group} Metrics"
        tables.append(
            {"title": heading, "anchor": headings.add(heading), "columns": columns, "rows": rows}
        )
    others = [x for x in spec.metrics if not (x.group and x.levels)]
    if others:
        headings.add("Other Series")
    return {"metric_tables": tables, "other_series": others}


def _dashboards(spec: m.Spec, headings: md.Headings) -> dict[str, Any]:
    boards = []
    for number, board in enumerate(spec.dashboards, 1):
        heading = f"{number}. {board.title}"
        boards.append(
            {
                "heading": heading,
                "anchor": headings.add(heading),
                "board": board,
                "refresh": format_duration(board.refresh) if board.refresh else "off",
                "json": f"../grafana/{board.uid}.json",
            }
        )
    return {"dashboards": boards}


def _receiver_title(spec: m.Spec, name: str | None) -> str:
    if spec.routing and name:
        receiver = next((r for r in spec.routing.receivers if r.name == name), None)
        if receiver and receiver.title:
            return receiver.title
    return name or "Unrouted"


def _alerting(spec: m.Spec, headings: md.Headings) -> dict[str, Any]:
    rules = alert_rules(spec)
    by_name: dict[str, list[AlertRule]] = {}
    for rule in rules:
        by_name.setdefault(rule.name, []).append(rule)
    playbooks = {p.id: p for p in spec.runbook.playbooks}
    receivers = [r.name for r in spec.routing.receivers] if spec.routing else []
    order = [*receivers, *sorted({r.receiver or "" for r in rules} - set(receivers))]
    routes = []
    placed: set[str] = set()
    for receiver in order:
        routed = [r for r in rules if (r.receiver or "") == receiver]
        if not routed:
            continue
        heading = _receiver_title(spec, receiver or None)
        route: dict[str, Any] = {
            "heading": heading,
            "anchor": headings.add(heading),
            "rules": routed,
            "sections": [],
        }
        for rule in routed:
            if rule.name in placed or _home(by_name[rule.name]) is not rule:
                continue
            placed.add(rule.name)
            anchor = headings.add(rule.name)
            assert anchor == rule.anchor, f"heading of {rule.name} would not be #{rule.anchor}"
            route["sections"].append(_alert_section(rule.name, by_name[rule.name], playbooks))
        routes.append(route)
    return {"routes": routes}


def _home(rules: list[AlertRule]) -> AlertRule:
    """An alert's section lives with its most severe rule."""
    return max(rules, key=lambda r: SEVERITY_ORDER.index(r.severity))


def _alert_section(name: str, rules: list[AlertRule], playbooks: dict[str, m.Playbook]) -> dict:
    first = rules[0]
    metric = first.metric
    playbook_id = (
        first.alert.playbook if first.alert else (metric.alert.playbook if metric else None)
    )
    playbook = playbooks.get(playbook_id) if playbook_id else None
    meaning = first.alert.meaning if first.alert and first.alert.meaning else None
    if meaning is None and metric is None:
        meaning = first.annotations.get("description") or first.annotations["summary"]
    rows = [
        {
            "rule": r,
            "for": format_duration(r.for_seconds) if r.for_seconds else "0s",
            "route": r.receiver or "—",
        }
        for r in sorted(rules, key=lambda r: SEVERITY_ORDER.index(r.severity), reverse=True)
    ]
    return {
        "name": name,
        "rows": rows,
        "meaning": meaning,
        "playbook": playbook,
        "playbook_anchor": None,
        "metric": metric,
    }


def _incidents(spec: m.Spec, headings: md.Headings) -> dict[str, Any]:
    runbook = spec.runbook
    if runbook.severity_levels:
        headings.add("Severity Levels")
    playbooks = []
    if runbook.playbooks:
        headings.add("Incident Response Playbook")
    for playbook in runbook.playbooks:
        playbooks.append({"playbook": playbook, "anchor": headings.add(playbook.title)})
    if runbook.commands:
        headings.add("Runbook Commands")
    return {
        "severity_levels": runbook.severity_levels,
        "playbooks": playbooks,
        "commands": runbook.commands,
        "command_block": "\n".join(
            f"# {c.description}\n{c.run.rstrip()}\n" for c in runbook.commands
        ).rstrip("\n"),
    }


def _capacity(spec: m.Spec, headings: md.Headings) -> dict[str, Any]:
    reviews = [c for c in spec.runbook.scheduled_checks if c.section == "capacity-planning"]
    for check in reviews:
        headings.add(check.title)
    workloads = []
    if spec.autoscaling:
        headings.add("Auto-Scaling Configuration")
    for workload in spec.autoscaling:
        heading = f"{workload.title} ({workload.name})"
        workloads.append(
            {
                "workload": workload,
                "anchor": headings.add(heading),
                "heading": heading,
                "hpa": dump(hpa(spec, workload)),
                "file": f"../kubernetes/hpa-{workload.name}.yaml",
            }
        )
    rows, notes = [], []
    for workload in spec.autoscaling:
        up = ", ".join(f"{x.label} > {x.target.text}" for x in workload.metrics)
        down = ", ".join(
            f"{x.label} < {x.scale_down_below.text}" for x in workload.metrics if x.scale_down_below
        )
        rows.append(
            {
                "resource": workload.title,
                "up": up,
                "down": down or "—",
                "max": workload.max_replicas,
            }
        )
        notes += [
            f"{workload.title}: the HPA targets {x.label} {x.target.text} and scales down when "
            f"it falls below that; the release threshold {x.label} < {x.scale_down_below.text} "
            f"is not something an HPA can enforce, so scale-down pace comes from its "
            f"scaleDown behaviour ({_behaviour(workload.scale_down)})."
            for x in workload.metrics
            if x.scale_down_below
        ]
    if rows:
        headings.add("Capacity Thresholds")
    return {
        "reviews": reviews,
        "workloads": workloads,
        "capacity_rows": rows,
        "capacity_notes": notes,
    }


def _behaviour(rules: m.ScalingRules | None) -> str:
    if rules is None:
        return "Kubernetes defaults: a 5m stabilization window"
    parts = []
    if rules.stabilization_window_seconds is not None:
        parts.append(f"{format_duration(rules.stabilization_window_seconds)} stabilization window")
    parts += [
        f"at most {p.value}{'%' if p.type == 'Percent' else ' pods'} per "
        f"{format_duration(p.period_seconds)}"
        for p in rules.policies
    ]
    return ", ".join(parts) or "Kubernetes defaults"


def _on_call(spec: m.Spec, headings: md.Headings) -> dict[str, Any]:
    for checklist in spec.runbook.checklists:
        headings.add(checklist.title)
    checks = [c for c in spec.runbook.scheduled_checks if c.section == "on-call"]
    for check in checks:
        headings.add(check.title)
    return {"checklists": spec.runbook.checklists, "on_call_checks": checks}


def _contacts(spec: m.Spec, headings: md.Headings) -> dict[str, Any]:
    return {"contacts": spec.runbook.contacts}
