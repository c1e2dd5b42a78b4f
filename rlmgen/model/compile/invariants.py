"""Checks of the whole model, after every part is compiled: what no single part can see."""

from __future__ import annotations

import re

from rlmgen.lang import promql, versions
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
            walk.diagnostics.append(
                walk.spec.diagnostic_in_value(
                    pointer,
                    f'"{base_namespace}"',
                    f'selects namespace="{base_namespace}", the base\'s namespace, but this '
                    f"environment's service runs in '{namespace}'",
                    f'give the environment its own expression with namespace="{namespace}" '
                    "in its overlay, or select the series by labels every environment shares",
                    check="environment/base-namespace",
                    severity="warning",
                )
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
                walk.diagnostics.append(
                    walk.spec.diagnostic_in_value(
                        pointer,
                        f'{label}{operator}"{value}"',
                        _bucket_message(label, operator, value, written, stored, target),
                        f'write {label}{operator}"{fixed}"',
                        check="promql/bucket-label",
                        severity="warning",
                    )
                )


def _bucket_message(
    label: str,
    operator: str,
    value: str,
    written: list[str],
    stored: list[str],
    target: versions.Version,
) -> str:
    pairs = ", ".join(
        f'{label}="{one}" as {label}="{form}"'
        for one, form in zip(written, stored, strict=True)
        if one != form
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
