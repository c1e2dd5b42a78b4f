"""`runbook/README.md`: the on-call runbook, rendered from `templates/runbook.md.j2`, and
the scripts the spec declares under `scripts/`. Everything shown comes from the spec or
from the same derivations the rules, dashboards and HPAs use, so it cannot drift; its
headings and their anchors are the model's outline (rlmgen.model.outline)."""

from __future__ import annotations

import shlex
from typing import Any

from rlmgen.derive.kubernetes import hpa
from rlmgen.derive.rules import AlertRule, Rules
from rlmgen.derive.slos import budget_text, factor, identity
from rlmgen.lang import slo as slo_lang
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.conventions import (
    RUNBOOK_PATH,
    SEVERITIES,
    alert_anchor,
    dashboard_path,
    hpa_path,
    script_path,
    severity_rank,
    slo_dashboard_uid,
)
from rlmgen.model.outline import metric_groups, receiver_heading, sections
from rlmgen.output.markdown import heading_text
from rlmgen.output.templating import environment
from rlmgen.output.yamlout import dump

_LEVEL_COLUMNS = {"info": "Info", "warning": "Warning", "critical": "Critical"}


def emit(spec: m.Spec, rules: Rules) -> dict[str, str]:
    files = {script_path(c.id): c.script for c in spec.runbook.scheduled_checks if c.script}
    files[RUNBOOK_PATH] = environment().get_template("runbook.md.j2").render(context(spec, rules))
    return files


def _link(path: str) -> str:
    """A link from runbook/README.md to another file of the service's output."""
    return f"../{path}"


def context(spec: m.Spec, rules: Rules) -> dict[str, Any]:
    outline = spec.outline
    return {
        "title": outline.headings[0].text,
        "service": spec.service,
        "source": spec.source,
        "sections": [
            {"title": name, "anchor": outline.anchor("section", name)} for name in sections(spec)
        ],
        "slos": _slos(spec, rules, outline),
        "slo_dashboard": _slo_dashboard(spec),
        "incident_response_anchor": outline.anchor("section", "Incident Response"),
        **_metrics(spec, outline),
        "dashboards": _dashboards(spec),
        "routes": _routes(spec, rules, outline),
        **_incidents(spec, outline),
        **_capacity(spec),
        "checklists": spec.runbook.checklists,
        "on_call_checks": [c for c in spec.runbook.scheduled_checks if c.section == "on-call"],
        "health": _health(spec),
        "contacts": spec.runbook.contacts,
    }


def _metrics(spec: m.Spec, outline: m.Outline) -> dict[str, Any]:
    tables = []
    for group, metrics in metric_groups(spec).items():
        present = [k for k in SEVERITIES if any(getattr(x.levels, k) for x in metrics)]
        columns = (
            ["Alert Threshold"] if present == ["info"] else [_LEVEL_COLUMNS[k] for k in present]
        )
        rows = []
        for metric in metrics:
            levels = [getattr(metric.levels, k) for k in present]
            rows.append(
                {
                    "metric": metric,
                    "target": metric.levels.target if metric.levels else None,
                    "levels": [level.text if level else "—" for level in levels],
                }
            )
        tables.append(
            {
                "title": f"{group} Metrics",
                "anchor": outline.anchor("metric-group", group),
                "columns": columns,
                "rows": rows,
            }
        )
    others = [x for x in spec.metrics if not (x.group and x.levels)]
    return {"metric_tables": tables, "other_series": others}


def _dashboards(spec: m.Spec) -> list[dict[str, Any]]:
    grafana = spec.service.grafana_url
    return [
        {
            "heading": f"{number}. {board.title}",
            "board": board,
            "refresh": format_duration(board.refresh) if board.refresh else "off",
            "json": _link(dashboard_path(board.uid)),
            "url": f"{grafana}/d/{board.uid}" if grafana else None,
        }
        for number, board in enumerate(spec.dashboards, 1)
    ]


def _routes(spec: m.Spec, rules: Rules, outline: m.Outline) -> list[dict[str, Any]]:
    by_name: dict[str, list[AlertRule]] = {}
    for rule in rules.alerts:
        by_name.setdefault(rule.name, []).append(rule)
    playbooks = {p.id: p for p in spec.runbook.playbooks}
    routes = []
    for receiver, names in outline.alert_sections:
        routes.append(
            {
                "heading": receiver_heading(spec, receiver),
                "rules": [r for r in rules.alerts if (r.receiver or "") == receiver],
                "sections": [
                    _alert_section(name, by_name[name], playbooks, outline) for name in names
                ],
            }
        )
    return routes


def _alert_section(
    name: str, rules: list[AlertRule], playbooks: dict[str, m.Playbook], outline: m.Outline
) -> dict[str, Any]:
    first = rules[0]
    metric = first.metric
    playbook_id = (
        first.alert.playbook
        if first.alert
        else first.slo.playbook
        if first.slo
        else (metric.alert.playbook if metric and metric.alert else None)
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
        for r in sorted(rules, key=lambda r: severity_rank(r.severity), reverse=True)
    ]
    return {
        "name": name,
        "rows": rows,
        "meaning": meaning,
        "playbook": playbook,
        "playbook_anchor": outline.anchor("playbook", playbook.id) if playbook else None,
        "metric": metric,
    }


def _slo_dashboard(spec: m.Spec) -> dict[str, Any] | None:
    if not spec.slos:
        return None
    uid = slo_dashboard_uid(spec.service.name)
    grafana = spec.service.grafana_url
    return {
        "json": _link(dashboard_path(uid)),
        "path": dashboard_path(uid),
        "url": f"{grafana}/d/{uid}" if grafana else None,
    }


def _slos(spec: m.Spec, rules: Rules, outline: m.Outline) -> list[dict[str, Any]]:
    """Each SLO: its objective, the budget in time, its SLI and its alerts."""
    found = []
    for target in spec.slos:
        alerts = []
        for burn in target.alerts:
            pairs = [
                f"{float(factor(b, target.period)):.4g}x the budget over "
                f"{format_duration(b.short)} and {format_duration(b.long)} "
                f"({b.budget_share:.0%} of the budget in {format_duration(b.long)})"
                for b in slo_lang.WINDOWS
                if b.alert == burn.kind
            ]
            alerts.append({"burn": burn, "pairs": pairs})
        found.append(
            {
                "slo": target,
                "period": format_duration(target.period),
                "budget": budget_text(target),
                "downtime": format_duration(round(target.error_budget * target.period)),
                "sli": target.sli.error_ratio.replace("{window}", "5m"),
                "selector": ", ".join(f'{k}="{v}"' for k, v in identity(spec, target).items()),
                "alerts": alerts,
                "anchor": alert_anchor(target.alert_name),
            }
        )
    return found


def _incidents(spec: m.Spec, outline: m.Outline) -> dict[str, Any]:
    runbook = spec.runbook
    return {
        "severity_levels": runbook.severity_levels,
        "playbooks": [
            {"playbook": p, "anchor": outline.anchor("playbook", p.id)} for p in runbook.playbooks
        ],
        "commands": runbook.commands,
        "command_block": "\n".join(
            f"# {heading_text(c.description)}\n{c.run.rstrip()}\n" for c in runbook.commands
        ).rstrip("\n"),
    }


def _capacity(spec: m.Spec) -> dict[str, Any]:
    workloads = [
        {
            "workload": workload,
            "heading": f"{workload.title} ({workload.name})",
            "hpa": dump(hpa(spec, workload)),
            "file": _link(hpa_path(workload.name)),
        }
        for workload in spec.autoscaling
    ]
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
    return {
        "reviews": [c for c in spec.runbook.scheduled_checks if c.section == "capacity-planning"],
        "workloads": workloads,
        "capacity_rows": rows,
        "capacity_notes": notes,
        "scripts": {c.id: _link(script_path(c.id)) for c in spec.runbook.scheduled_checks},
    }


def _health(spec: m.Spec) -> dict[str, Any]:
    """What a scheduled check with `health: true` runs, and the lines it prints."""
    command = ["rlmgen", "health"]
    if spec.health.prometheus_url is None:
        command += ["--prometheus", '"$PROMETHEUS_URL"']
    if spec.environment is not None:
        command += ["--env", shlex.quote(spec.environment)]
    command.append(shlex.quote(spec.source))
    columns = [
        name
        for name in ("target", "info", "warning", "critical")
        if any(getattr(c.levels, name) is not None for c in spec.health.checks)
    ]
    rows = [
        {
            "label": check.label,
            "reads": check.metric,
            "alerts": check.alerts,
            "levels": [
                level.text if (level := getattr(check.levels, name)) is not None else "—"
                for name in columns
            ],
        }
        for check in spec.health.checks
    ]
    return {
        "command": " ".join(command),
        "columns": [name.capitalize() for name in columns],
        "rows": rows,
    }


def _amount(policy: m.ScalingPolicy) -> str:
    if policy.type == "Percent":
        return f"{policy.value}%"
    return f"{policy.value} pod" if policy.value == 1 else f"{policy.value} pods"


def _behaviour(rules: m.ScalingRules | None) -> str:
    if rules is None:
        return "Kubernetes defaults: a 5m stabilization window"
    parts = []
    if rules.stabilization_window_seconds is not None:
        parts.append(f"{format_duration(rules.stabilization_window_seconds)} stabilization window")
    parts += [
        f"at most {_amount(p)} per {format_duration(p.period_seconds)}" for p in rules.policies
    ]
    return ", ".join(parts) or "Kubernetes defaults"
