"""Checks of the whole model, after every part is compiled: what no single part can see."""

from __future__ import annotations

import math
import re
from typing import Any

import promql_parser

from rlmgen.lang import promql, versions
from rlmgen.lang.units import SeriesUnit
from rlmgen.model import types as m
from rlmgen.model.compile.walk import Walk
from rlmgen.model.conventions import SLO_NAME_LABEL, SLO_SEVERITY_LABEL, alert_anchor


def check_alert_identities(walk: Walk, spec: m.Spec) -> None:
    """No two alerts share a name and labels: Prometheus would keep one of them."""
    first: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}

    def register(pointer: str, name: str, labels: m.Labels, severity: str) -> None:
        identity = (name, tuple(sorted({**labels, "severity": severity}.items())))
        if identity in first:
            walk.error(
                pointer,
                f"alert '{name}' is defined twice with the same labels",
                f"first at line {walk.line_of(first[identity])}; give them different "
                "severities or labels",
                check="alerts/duplicate",
            )
        else:
            first[identity] = pointer

    for metric in spec.metrics:
        if metric.alert is not None:
            for level in metric.alert.levels:
                register(level.pointer, metric.alert.name, metric.alert.labels, level.severity)
    for alert in spec.alerts:
        register(f"{alert.pointer}/name", alert.name, alert.labels, alert.severity)
    for target in spec.slos:
        for burn in target.alerts:
            labels = {**target.labels, SLO_NAME_LABEL: target.name, SLO_SEVERITY_LABEL: burn.kind}
            register(burn.pointer or target.pointer, target.alert_name, labels, burn.severity)


def check_runbook_anchors(walk: Walk, spec: m.Spec) -> None:
    """Every alert's runbook_url ends in #<its name in lowercase>: no heading of the
    runbook may take that anchor before the alert's own section does."""
    declared_at: dict[str, tuple[str, bool]] = {}  # name -> (pointer, derived from a metric)
    for metric in spec.metrics:
        if metric.alert is not None:
            derived = not metric.alert.name_pointer.endswith("/alert/name")
            declared_at.setdefault(metric.alert.name, (metric.alert.name_pointer, derived))
    for alert in spec.alerts:
        declared_at.setdefault(alert.name, (f"{alert.pointer}/name", False))
    for target in spec.slos:
        declared_at.setdefault(target.alert_name, (f"{target.pointer}/alerts", False))
    headings = spec.outline.headings
    for heading in headings:
        if heading.kind != "alert" or heading.anchor == alert_anchor(heading.key):
            continue
        wanted = alert_anchor(heading.key)
        taken = next((h for h in headings if h.anchor == wanted), None)
        if taken is None or heading.key not in declared_at:
            continue  # a name the schema refuses (a line break in it): reported there
        pointer, derived = declared_at[heading.key]
        walk.error(
            pointer,
            f"alert '{heading.key}' needs the runbook anchor #{wanted}, which the runbook "
            f"heading {taken.text!r} has already: its runbook_url would open that section",
            "give the metric an alert.name" if derived else "rename the alert",
            check="runbook/anchor-taken",
        )


def check_base_namespace_selected(walk: Walk, namespace: str, base_namespace: str) -> None:
    """An environment whose service runs in a namespace of its own, with queries that still
    select the base's namespace by name: they were written for the base and read its
    series, or none, in this environment (its overlay changed the namespace, not them)."""
    if not namespace or not base_namespace or namespace == base_namespace:
        return
    for pointer, query in walk.queries.items():
        if "/examples/" in pointer:  # a test's input series, never queried in production
            continue
        if base_namespace in promql.equality_values(query.ast, "namespace"):
            walk.warning_in_value(
                pointer,
                f'"{base_namespace}"',
                f'selects namespace="{base_namespace}", the base\'s namespace, but this '
                f"environment's service runs in '{namespace}'",
                f'give the environment its own expression with namespace="{namespace}" in '
                "its overlay, or select the series by labels every environment shares",
                check="environment/base-namespace",
            )


def check_bucket_labels(walk: Walk) -> None:
    """From Prometheus 3.0 a histogram's le and a summary's quantile are stored as floats
    (le="1.0"): a query or an example's series that names a whole-number value finds
    nothing, or feeds a test series production never has."""
    target = walk.targets.prometheus
    if target < versions.LE_NORMALISED:
        return
    for pointer, query in walk.queries.items():
        for label in ("le", "quantile"):
            for operator, value in promql.label_matchers(query.ast, label):
                # a regex is read when it is an alternation of numbers (le=~"1|2.5")
                if operator in ("=~", "!~") and not re.fullmatch(
                    r"[0-9.eE+\-]+(\|[0-9.eE+\-]+)*", value
                ):
                    continue
                written = value.split("|") if operator in ("=~", "!~") else [value]
                stored = [_stored(one, target) or one for one in written]
                if stored == written:
                    continue
                fixed = "|".join(stored)
                walk.warning_in_value(
                    pointer,
                    f'{label}{operator}"{value}"',
                    _bucket_message(
                        label, operator, written, stored, target, pointer.endswith("/series")
                    ),
                    f'write {label}{operator}"{fixed}"',
                    check="promql/bucket-label",
                )


def _bucket_message(
    label: str,
    operator: str,
    written: list[str],
    stored: list[str],
    target: versions.Version,
    input_series: bool,
) -> str:
    pairs = ", ".join(
        f'{label}="{one}" as {label}="{form}"'
        for one, form in zip(written, stored, strict=True)
        if one != form
    )
    if input_series:  # an example's: what the test feeds, not a selector
        return (
            f"Prometheus {versions.shown(target)} stores {pairs}: this input series is one "
            "production never has, and the rules' selectors of the stored form miss it"
        )
    effect = {
        "=": "this selects nothing",
        "!=": "this excludes nothing",
        "=~": "this regex misses it",
        "!~": "this regex keeps it",
    }[operator]
    return f"Prometheus {versions.shown(target)} stores {pairs}: {effect}"


def _stored(value: str, target: versions.Version) -> str | None:
    """The float form Prometheus `target` stores for a whole-number label value, or None
    when it stores the value as written."""
    try:
        number = float(value)
    except ValueError:
        return None
    stored = promql.bucket_label(number, target)
    return stored if stored != value else None


def check_levels_within_buckets(walk: Walk, spec: m.Spec) -> None:
    """A level above every quantile a histogram can give: histogram_quantile never returns
    more than the largest finite bucket bound (a quantile in the +Inf bucket is that bound),
    so `> 1s` on the p99 of a histogram whose top bucket is 1s never fires. Read where a
    metric records histogram_quantile of one declared histogram with buckets."""
    by_name = {metric.name: metric for metric in spec.metrics}
    for metric in spec.metrics:
        if metric.alert is None or metric.expr is None:
            continue
        query = walk.queries.get(f"{metric.pointer}/expr")
        histogram = _quantile_of(query.ast, by_name) if query is not None else None
        if histogram is None or not _same_dimension(metric.unit, histogram.unit):
            continue
        top = max(histogram.buckets)
        top_base = top * (histogram.unit.factor if histogram.unit else 1.0)
        for alerting in metric.alert.levels:
            level = alerting.level
            if level.kind != "above" or level.value is None or level.of_limit:
                continue
            value_base = level.value * (metric.unit.factor if metric.unit else 1.0)
            at_top = math.isclose(value_base, top_base, rel_tol=1e-12)
            if value_base < top_base or (at_top and level.inclusive):
                continue
            unit = f" ({histogram.unit.name})" if histogram.unit else ""
            walk.warning(
                alerting.pointer,
                f"{alerting.severity} level {level.text!r} can never fire: histogram_quantile "
                f"gives at most {top:g}{unit}, the largest finite bucket of {histogram.name}",
                f"add a bucket above the level to {histogram.name} (and to its buckets), or "
                "lower the level",
                check="levels/beyond-buckets",
            )


def _quantile_of(ast: Any, metrics: dict[str, m.Metric]) -> m.Metric | None:
    """The declared histogram with buckets whose quantile `ast` is, if it is one."""
    ast = promql.unwrapped(ast)
    if not isinstance(ast, promql_parser.Call) or ast.func.name != "histogram_quantile":
        return None
    names = {
        name.removesuffix("_bucket")
        for name in promql.series_names(ast.args[1])
        if name.endswith("_bucket")
    }
    found = [metrics[name] for name in names if name in metrics and metrics[name].buckets]
    return found[0] if len(found) == 1 and len(names) == 1 else None


def _same_dimension(one: SeriesUnit | None, other: SeriesUnit | None) -> bool:
    if one is None or other is None:
        return one is other
    return one.dimension == other.dimension
