"""What a spec change does to paging, dashboards and scaling, for review: the semantic
difference of two compiled specs, with the risky changes flagged."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.derive.rules import AlertRule, derive_rules
from rlmgen.lang import slo as slo_lang
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.conventions import severity_rank

Kind = Literal["added", "removed", "changed"]


@dataclass
class Change:
    category: str  # alert, metric, dashboard, panel, autoscaling, receiver, platform, runbook
    subject: str
    kind: Kind
    details: list[str] = dataclasses.field(default_factory=list)
    risks: list[str] = dataclasses.field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _receiver_kind(spec: m.Spec, name: str | None) -> str | None:
    if spec.routing is None or name is None:
        return None
    return next((r.kind for r in spec.routing.receivers if r.name == name), None)


def _pages(spec: m.Spec, rule: AlertRule) -> bool:
    return rule.severity == "critical" or _receiver_kind(spec, rule.receiver) == "pagerduty"


def _comparison(rule: AlertRule) -> tuple[str, float] | None:
    """(operator, number) when the alert compares with a number at the top."""
    if rule.alert is not None:
        return rule.alert.comparison
    level = rule.level
    if level is not None and level.value is not None and level.kind in ("above", "below"):
        operator = (">" if level.kind == "above" else "<") + ("=" if level.inclusive else "")
        return (operator, level.value)
    return None


def _threshold(rule: AlertRule) -> str:
    """The threshold as the spec writes it: the level's text, else the comparison."""
    if rule.level is not None:
        return rule.level.text
    operator, number = _comparison(rule) or ("", 0.0)
    return f"{operator} {number:g}"


def _loosened(old: AlertRule, new: AlertRule) -> bool:
    if (
        old.level
        and new.level
        and old.level.kind == new.level.kind
        and old.level.value is not None
        and new.level.value is not None
    ):
        if old.level.kind in ("above", "increase", "decrease"):
            return new.level.value > old.level.value
        if old.level.kind == "below":
            return new.level.value < old.level.value
        if (
            old.level.kind == "outside"
            and old.level.high is not None
            and new.level.high is not None
        ):
            return new.level.value < old.level.value or new.level.high > old.level.high
    before, after = _comparison(old), _comparison(new)
    if before and after and before[0] == after[0]:
        return after[1] > before[1] if before[0].startswith(">") else after[1] < before[1]
    return False


def _alerts(base: m.Spec, head: m.Spec) -> list[Change]:
    # an SLO's page and ticket may share name and severity: its kind tells them apart
    old = {
        (r.name, r.severity, r.burn.kind if r.burn else ""): r for r in derive_rules(base).alerts
    }
    new = {
        (r.name, r.severity, r.burn.kind if r.burn else ""): r for r in derive_rules(head).alerts
    }
    changes = []
    removed = [k for k in old if k not in new]
    added = [k for k in new if k not in old]
    # the same alert at another severity is a severity change, not a removal and an addition
    for key in list(removed):
        partner = next((a for a in added if a[0] == key[0]), None)
        if partner is None:
            continue
        removed.remove(key)
        added.remove(partner)
        change = _changed(base, head, old[key], new[partner])
        changes.append(change)
    for key in removed:
        rule = old[key]
        risks = ["a paging alert is removed"] if _pages(base, rule) else []
        changes.append(
            Change(
                "alert", f"{rule.name} ({rule.severity})", "removed", [f"was: {rule.expr}"], risks
            )
        )
    for key in added:
        rule = new[key]
        changes.append(
            Change(
                "alert",
                f"{rule.name} ({rule.severity})",
                "added",
                [
                    f"{rule.expr} for {format_duration(rule.for_seconds)}, to "
                    f"{rule.receiver or 'no receiver'}"
                ],
            )
        )
    for key in old.keys() & new.keys():
        if _signature(old[key]) != _signature(new[key]):
            changes.append(_changed(base, head, old[key], new[key]))
    return sorted(changes, key=lambda c: (c.kind, c.subject))


def _signature(rule: AlertRule) -> tuple[Any, ...]:
    return (
        rule.expr,
        rule.for_seconds,
        rule.severity,
        rule.receiver,
        rule.annotations.get("summary"),
    )


def _changed(base: m.Spec, head: m.Spec, old: AlertRule, new: AlertRule) -> Change:
    details, risks = [], []
    if old.severity != new.severity:
        details.append(f"severity: {old.severity} → {new.severity}")
        if severity_rank(new.severity) < severity_rank(old.severity):
            risks.append(f"demoted from {old.severity} to {new.severity}")
    if old.expr != new.expr:
        details.append(f"expr: {old.expr} → {new.expr}")
        if _loosened(old, new):
            risks.append(f"threshold loosened: {_threshold(old)} → {_threshold(new)}")
    if old.for_seconds != new.for_seconds:
        details.append(
            f"for: {format_duration(old.for_seconds)} → {format_duration(new.for_seconds)}"
        )
        if new.for_seconds > old.for_seconds:
            risks.append("for lengthened")
    if old.receiver != new.receiver:
        details.append(f"route: {old.receiver or 'no receiver'} → {new.receiver or 'no receiver'}")
        if (
            _receiver_kind(base, old.receiver) == "pagerduty"
            and _receiver_kind(head, new.receiver) != "pagerduty"
        ):
            risks.append("route moved away from PagerDuty")
    if old.annotations.get("summary") != new.annotations.get("summary"):
        details.append(
            f"summary: {old.annotations.get('summary')} → {new.annotations.get('summary')}"
        )
    return Change("alert", f"{new.name} ({new.severity})", "changed", details, risks)


def _levels_text(metric: m.Metric) -> dict[str, str]:
    if metric.levels is None:
        return {}
    # alerting levels are reported through the alerts they raise, not twice
    texts = {"target": metric.levels.target.text} if metric.levels.target else {}
    if metric.levels.baseline:
        texts["baseline"] = format_duration(metric.levels.baseline)
    return texts


def _keyed(
    category: str,
    old: dict[str, Any],
    new: dict[str, Any],
    fields: Callable[[Any], dict[str, Any]],
) -> list[Change]:
    """Added, removed and changed entries by key; `fields` says what of an entry to compare."""
    changes = []
    for key in sorted(old.keys() - new.keys()):
        changes.append(Change(category, key, "removed"))
    for key in sorted(new.keys() - old.keys()):
        changes.append(Change(category, key, "added"))
    for key in sorted(old.keys() & new.keys()):
        details = _fields(fields(old[key]), fields(new[key]))
        if details:
            changes.append(Change(category, key, "changed", details))
    return changes


def _fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [
        f"{k}: {old.get(k, '—')} → {new.get(k, '—')}"
        for k in sorted(old.keys() | new.keys())
        if old.get(k) != new.get(k)
    ]


def _metrics(base: m.Spec, head: m.Spec) -> list[Change]:
    return _keyed(
        "metric",
        {x.name: x for x in base.metrics},
        {x.name: x for x in head.metrics},
        _levels_text,
    )


def _panel_fields(panel: m.Panel) -> dict[str, Any]:
    return {
        "type": panel.type,
        "queries": " ; ".join(q.expr for q in panel.queries),
        "unit": panel.unit,
        "metric": panel.metric.name if panel.metric else None,
    }


def _dashboards(base: m.Spec, head: m.Spec) -> list[Change]:
    def fields(board: m.Dashboard) -> dict[str, Any]:
        return {
            "title": board.title,
            "refresh": format_duration(board.refresh) if board.refresh else None,
        }

    old = {d.uid: d for d in base.dashboards}
    changes = _keyed("dashboard", old, {d.uid: d for d in head.dashboards}, fields)
    for board in head.dashboards:
        if board.uid in old:
            changes += _keyed(
                "panel",
                {f"{board.uid}: {p.title}": p for p in old[board.uid].panels},
                {f"{board.uid}: {p.title}": p for p in board.panels},
                _panel_fields,
            )
    return changes


def _workloads(base: m.Spec, head: m.Spec) -> list[Change]:
    def fields(w: m.Workload) -> dict[str, Any]:
        return {
            "minReplicas": w.min_replicas,
            "maxReplicas": w.max_replicas,
            "metrics": ", ".join(f"{x.label} {x.target.kind} {x.target.text}" for x in w.metrics),
        }

    old = {w.name: w for w in base.autoscaling}
    changes = _keyed("autoscaling", old, {w.name: w for w in head.autoscaling}, fields)
    for change in changes:
        if change.kind == "changed":
            new = next(w for w in head.autoscaling if w.name == change.subject)
            if new.max_replicas < old[change.subject].max_replicas:
                change.risks.append("max replicas lowered")
    return changes


def _runbook(base: m.Spec, head: m.Spec) -> list[Change]:
    sections = (
        "severity_levels",
        "playbooks",
        "commands",
        "checklists",
        "scheduled_checks",
        "contacts",
    )
    return [
        Change("runbook", name.replace("_", " "), "changed", ["content changed"])
        for name in sections
        if getattr(base.runbook, name) != getattr(head.runbook, name)
    ]


def _slo_fields(target: m.SLO) -> dict[str, Any]:
    return {
        "objective": target.objective_text,
        "period": format_duration(target.period),
        "error ratio": " ".join(target.sli.error_ratio.split()),
        "alerts": ", ".join(f"{b.kind} ({b.severity})" for b in target.alerts) or "none",
    }


def _slos(base: m.Spec, head: m.Spec) -> list[Change]:
    """Objectives added, removed and changed; loosening one or silencing its alerts is
    risky: the budget a team pages on grows or nobody is told it burns."""
    old, new = {s.name: s for s in base.slos}, {s.name: s for s in head.slos}
    changes = _keyed("slo", old, new, _slo_fields)
    for change in changes:
        before, after = old.get(change.subject), new.get(change.subject)
        if change.kind == "removed" and before is not None and before.alerts:
            change.risks.append("an objective and its burn-rate alerts are removed")
        if change.kind != "changed" or before is None or after is None:
            continue
        if after.objective < before.objective:
            change.risks.append(
                f"the objective is loosened: {before.objective_text} → {after.objective_text}"
            )
        disabled = {b.kind for b in before.alerts} - {b.kind for b in after.alerts}
        for kind in sorted(disabled):
            change.risks.append(f"the {kind} alert is disabled")
        change.risks += _burn_risks(base, head, before, after)
    return changes


def _limits(target: m.SLO, kind: str) -> list[float]:
    """The error ratios a kind of alert fires above, pair by pair."""
    return [
        b.factor(target.period) * target.error_budget for b in slo_lang.WINDOWS if b.alert == kind
    ]


def _burn_risks(base: m.Spec, head: m.Spec, before: m.SLO, after: m.SLO) -> list[str]:
    """An SLO alert that pages less: demoted, routed away from PagerDuty, or firing only
    at higher error ratios (a longer period raises every factor)."""
    risks = []
    old = {b.kind: b for b in before.alerts}
    for burn in after.alerts:
        was = old.get(burn.kind)
        if was is None:
            continue
        if severity_rank(burn.severity) < severity_rank(was.severity):
            risks.append(f"the {burn.kind} alert is demoted from {was.severity} to {burn.severity}")
        if (
            _receiver_kind(base, was.receiver) == "pagerduty"
            and _receiver_kind(head, burn.receiver) != "pagerduty"
        ):
            risks.append(f"the {burn.kind} alert is routed away from PagerDuty")
        if after.objective >= before.objective and any(
            new > old_limit * (1 + 1e-9)
            for new, old_limit in zip(
                _limits(after, burn.kind), _limits(before, burn.kind), strict=True
            )
        ):
            risks.append(
                f"the {burn.kind} alert fires only at higher error ratios "
                f"(period {format_duration(before.period)} → {format_duration(after.period)})"
            )
    return risks


def _receivers(base: m.Spec, head: m.Spec) -> list[Change]:
    """Where notifications go: a receiver's integration, secret files, channel, address,
    severities, match, continue and time intervals."""

    def fields(r: m.Receiver) -> dict[str, Any]:
        return {
            "kind": r.kind,
            **dict(r.settings),
            "severities": ", ".join(r.severities) or "—",
            "match": ", ".join(f"{k}={v}" for k, v in r.match.items()) or "—",
            "continue": r.continues,
            "activeTimeIntervals": ", ".join(r.active_intervals) or "—",
            "muteTimeIntervals": ", ".join(r.mute_intervals) or "—",
        }

    def receivers(spec: m.Spec) -> dict[str, m.Receiver]:
        return {r.name: r for r in spec.routing.receivers} if spec.routing else {}

    return _keyed("receiver", receivers(base), receivers(head), fields)


def _platform(base: m.Spec, head: m.Spec) -> list[Change]:
    def fields(p: m.Platform) -> dict[str, Any]:
        return {
            "prometheusRule.labels": ", ".join(f"{k}={v}" for k, v in p.rule_labels.items()),
            "prometheusAdapter": f"{p.adapter_namespace}/{p.adapter_config_map}",
            "grafana.dashboardsPath": p.dashboards_path,
            "grafana.sidecar": p.sidecar.namespace if p.sidecar else "—",
        }

    details = _fields(fields(base.platform), fields(head.platform))
    changes = [Change("platform", "platform", "changed", details)] if details else []
    if base.service.namespace != head.service.namespace:
        changes.append(
            Change(
                "service",
                "namespace",
                "changed",
                [f"namespace: {base.service.namespace} → {head.service.namespace}"],
            )
        )
    return changes


def diff(base: m.Spec, head: m.Spec) -> list[Change]:
    return [
        *_alerts(base, head),
        *_slos(base, head),
        *_metrics(base, head),
        *_dashboards(base, head),
        *_workloads(base, head),
        *_receivers(base, head),
        *_platform(base, head),
        *_runbook(base, head),
    ]


def risky(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.risks]
