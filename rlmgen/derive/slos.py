"""The rules of each SLO, with Sloth's names, labels and expressions (so dashboards and
Alertmanager routes made for Sloth keep working): the SLI's error ratio over every alert
window and the period, the objective and budget as series, the burn rates, and the page
and ticket alerts of the SRE workbook's multi-window, multi-burn-rate method."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

from rlmgen.derive.common import (
    AlertRule,
    RecordingRule,
    RuleGroup,
    alert_annotations,
    alert_labels,
    number,
)
from rlmgen.lang import slo as slo_lang
from rlmgen.lang.promtemplate import escape
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.conventions import (
    SLO_ID_LABEL,
    SLO_NAME_LABEL,
    SLO_SERVICE_LABEL,
    SLO_SEVERITY_LABEL,
    SLO_WINDOW_LABEL,
    rule_group_name,
    slo_dashboard_uid,
)

ID_LABEL, SERVICE_LABEL, SLO_LABEL, WINDOW_LABEL = (
    SLO_ID_LABEL,
    SLO_SERVICE_LABEL,
    SLO_NAME_LABEL,
    SLO_WINDOW_LABEL,
)
SEVERITY_KIND_LABEL = SLO_SEVERITY_LABEL
ERROR_RATIO = "slo:sli_error:ratio_rate{window}"
GROUP_PREFIX = "slo-"


def windows() -> list[float]:
    """Every window an alert reads, shortest first."""
    return sorted({w for b in slo_lang.WINDOWS for w in (b.short, b.long)})


def window_text(seconds: float) -> str:
    return format_duration(seconds)


def identity(spec: m.Spec, slo: m.SLO) -> dict[str, str]:
    return {
        ID_LABEL: f"{spec.service.name}-{slo.name}",
        SERVICE_LABEL: spec.service.name,
        SLO_LABEL: slo.name,
    }


def _filter(spec: m.Spec, slo: m.SLO) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in identity(spec, slo).items()) + "}"


def ratio_record(seconds: float) -> str:
    return ERROR_RATIO.format(window=window_text(seconds))


def factor(burn: slo_lang.BurnWindow, period: float) -> Decimal:
    """The burn-rate factor, exact: 14.4 for 2% of 30 days in 1h."""
    share = Decimal(repr(burn.budget_share))
    return share * Decimal(repr(period)) / Decimal(repr(burn.long))


def budget_text(slo: m.SLO) -> str:
    """The error budget as written from the objective, exact (99.9% -> 0.001)."""
    objective = Decimal(slo.objective_text.rstrip("%")) / 100
    return format(1 - objective, "f").rstrip("0").rstrip(".") or "0"


def threshold(burn: slo_lang.BurnWindow, slo: m.SLO) -> str:
    """The error-ratio threshold as the alert writes it: (factor * budget)."""
    return f"({number(float(factor(burn, slo.period)))} * {budget_text(slo)})"


def slo_groups(spec: m.Spec) -> list[RuleGroup]:
    return [
        RuleGroup(
            rule_group_name(spec.service.name, GROUP_PREFIX + slo.name),
            f"SLO {slo.name}",
            None,
            (*_recording(spec, slo), *_alerts(spec, slo)),
            slo=slo.name,
        )
        for slo in spec.slos
    ]


def _recording(spec: m.Spec, slo: m.SLO) -> list[RecordingRule]:
    ids = identity(spec, slo)
    base = {**spec.service.labels, **ids}

    def labelled(**extra: str) -> MappingProxyType[str, str]:
        return MappingProxyType(dict(sorted({**base, **extra}.items())))

    rules = [
        RecordingRule(
            ratio_record(w),
            slo.sli.error_ratio.replace("{window}", window_text(w)),
            labelled(**{WINDOW_LABEL: window_text(w)}),
            slo=slo,
        )
        for w in windows()
    ]
    period, quick = window_text(slo.period), ratio_record(slo_lang.WINDOWS[0].short)
    selector = _filter(spec, slo)
    rules.append(
        RecordingRule(
            ratio_record(slo.period),
            f"sum_over_time({quick}{selector}[{period}])\n"
            f"/ ignoring ({WINDOW_LABEL})\n"
            f"count_over_time({quick}{selector}[{period}])",
            labelled(**{WINDOW_LABEL: period}),
            slo=slo,
        )
    )
    on = f"on({ID_LABEL}, {SLO_LABEL}, {SERVICE_LABEL}) group_left"
    budget = f"slo:error_budget:ratio{selector}"
    rules += [
        RecordingRule("slo:objective:ratio", f"vector({slo.objective!r})", labelled(), slo=slo),
        RecordingRule("slo:error_budget:ratio", f"vector({budget_text(slo)})", labelled(), slo=slo),
        RecordingRule(
            "slo:time_period:days", f"vector({number(slo.period / 86400)})", labelled(), slo=slo
        ),
        RecordingRule(
            "slo:current_burn_rate:ratio",
            f"{quick}{selector}\n/ {on}\n{budget}",
            labelled(),
            slo=slo,
        ),
        RecordingRule(
            "slo:period_burn_rate:ratio",
            f"{ratio_record(slo.period)}{selector}\n/ {on}\n{budget}",
            labelled(),
            slo=slo,
        ),
        RecordingRule(
            "slo:period_error_budget_remaining:ratio",
            f"1 - slo:period_burn_rate:ratio{selector}",
            labelled(),
            slo=slo,
        ),
    ]
    return rules


def alert_expr(spec: m.Spec, slo: m.SLO, kind: str) -> str:
    """Sloth's expression: either pair of windows over the pair's burn rate."""
    selector = _filter(spec, slo)
    pairs = []
    for burn in (b for b in slo_lang.WINDOWS if b.alert == kind):
        limit = threshold(burn, slo)
        short, long = ratio_record(burn.short), ratio_record(burn.long)
        pairs.append(
            "(\n"
            f"  max({short}{selector} > {limit}) without ({WINDOW_LABEL})\n"
            "  and\n"
            f"  max({long}{selector} > {limit}) without ({WINDOW_LABEL})\n"
            ")"
        )
    return "\nor\n".join(pairs)


def _alerts(spec: m.Spec, slo: m.SLO) -> list[AlertRule]:
    carried = frozenset({*identity(spec, slo), *spec.service.labels})
    return [
        AlertRule(
            name=slo.alert_name,
            expr=alert_expr(spec, slo, burn.kind),
            for_seconds=burn.for_seconds,
            severity=burn.severity,
            receiver=burn.receiver,
            labels=alert_labels(
                spec,
                {**slo.labels, SEVERITY_KIND_LABEL: burn.kind},
                burn.severity,
                burn.receiver,
                carried,
            ),
            annotations=alert_annotations(
                spec,
                slo.alert_name,
                slo.summary or _summary(slo, burn.kind),
                slo.description_template or _description(slo, burn.kind),
            ),
            origin="slo",
            slo=slo,
            burn=burn,
        )
        for burn in slo.alerts
    ]


def _summary(slo: m.SLO, kind: str) -> str:
    subject = escape(slo.description or slo.name)
    return f"({kind}) {subject}: the error budget burns too fast"


def _description(slo: m.SLO, kind: str) -> str:
    pairs = [
        f"{float(factor(b, slo.period)):.4g}x over {window_text(b.short)} and {window_text(b.long)}"
        for b in slo_lang.WINDOWS
        if b.alert == kind
    ]
    return (
        f"Objective {escape(slo.objective_text)} over {window_text(slo.period)}: the error "
        f"budget burns faster than {' or '.join(pairs)}."
    )


def slo_dashboard(spec: m.Spec) -> m.Dashboard | None:
    """One dashboard of every SLO of the service: objective, budget left, the SLI over
    the period and the burn rate of every alert window, with the alert factors as
    thresholds."""
    if not spec.slos:
        return None
    return m.Dashboard(
        uid=slo_dashboard_uid(spec.service.name),
        title=f"{spec.service.title} SLOs",
        description=f"Service level objectives of {spec.service.title}, generated by rlmgen.",
        refresh=60.0,
        time_from="now-7d",
        tags=("slo",),
        variables=(),
        rows=tuple(_slo_row(spec, target) for target in spec.slos),
    )


def _panel(
    title: str,
    kind: str,
    queries: tuple[m.Query, ...],
    unit: str,
    thresholds: tuple[tuple[float | None, str], ...],
    width: int,
    description: str | None = None,
    decimals: int | None = None,
) -> m.Panel:
    return m.Panel(
        title=title,
        type=kind,
        description=description,
        metric=None,
        queries=queries,
        unit=unit,
        min=None,
        max=None,
        decimals=decimals,
        content=None,
        width=width,
        height=None,
        thresholds=thresholds,
    )


def _slo_row(spec: m.Spec, target: m.SLO) -> m.Row:
    selector = _filter(spec, target)
    period = window_text(target.period)
    on = f"on({ID_LABEL}, {SLO_LABEL}, {SERVICE_LABEL}) group_left"
    budget = f"slo:error_budget:ratio{selector}"
    kinds = {burn.kind for burn in target.alerts}
    factors = sorted(
        {float(factor(b, target.period)) for b in slo_lang.WINDOWS if b.alert in kinds}
    )
    colours = ("blue", "yellow", "orange", "red")
    burn_steps: tuple[tuple[float | None, str], ...] = (
        (None, "green"),
        *((f, colours[min(i, len(colours) - 1)]) for i, f in enumerate(factors)),
    )
    burn_queries = tuple(
        m.Query(f"{ratio_record(w)}{selector}\n/ {on}\n{budget}", window_text(w), None)
        for w in windows()
    )
    objective = target.objective
    # 99.95% must not show as 100.0%: one more decimal than the objective has
    decimals = len(target.objective_text.rstrip("%").partition(".")[2]) + 1
    return m.Row(
        title=f"{target.name}: {target.objective_text} over {period}",
        collapsed=False,
        panels=(
            _panel(
                "Objective",
                "stat",
                (m.Query(f"slo:objective:ratio{selector}", None, None),),
                "percentunit",
                ((None, "blue"),),
                4,
                decimals=decimals,
            ),
            _panel(
                f"Error budget left ({period})",
                "stat",
                (m.Query(f"slo:period_error_budget_remaining:ratio{selector}", None, None),),
                "percentunit",
                ((None, "red"), (0.0, "orange"), (0.25, "yellow"), (0.5, "green")),
                4,
                "1 - the period's burn rate: below 0, the objective is missed for the period",
            ),
            _panel(
                f"SLI over {period}",
                "stat",
                (m.Query(f"1 - {ratio_record(target.period)}{selector}", None, None),),
                "percentunit",
                ((None, "red"), (objective, "green")),
                4,
                decimals=decimals,
            ),
            _panel(
                "Burn rate by window",
                "timeseries",
                burn_queries,
                "none",
                burn_steps,
                12,
                "How many times faster than the objective allows the budget is spent; the "
                "thresholds are the alerts' factors",
            ),
        ),
    )
