"""The compile walk: a loaded spec becomes the frozen model, or the diagnostics that say
why it cannot, never both and never an exception.

The document is checked against the JSON Schema (its shape), then walked once, part by
part (service, routing, metrics, alerts, dashboards, autoscaling, runbook): each value is
parsed into its typed form where it is read (levels, durations, quantities, PromQL) and
checked there, with its location. The walk goes on past problems so that one run reports
them all; whatever an emitter relies on is a check here, and the model is returned only
when no check found an error."""

from __future__ import annotations

import dataclasses

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.lang.labels import UNKNOWN, LabelSet
from rlmgen.lang.versions import NATIVE_HISTOGRAMS
from rlmgen.model import types as m
from rlmgen.model.compile import invariants, labels, references
from rlmgen.model.compile.alerts import compile_alert_groups
from rlmgen.model.compile.autoscaling import compile_autoscaling
from rlmgen.model.compile.dashboards import compile_dashboards
from rlmgen.model.compile.health import compile_health
from rlmgen.model.compile.metrics import compile_metrics
from rlmgen.model.compile.routing import compile_routing, route_label
from rlmgen.model.compile.runbook import compile_runbook
from rlmgen.model.compile.service import compile_platform, compile_service, compile_targets
from rlmgen.model.compile.slos import compile_slos
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.model.conventions import (
    SERIES_FIRST_LABELS,
    SLO_IDENTITY_LABELS,
    alert_label_names,
)
from rlmgen.model.outline import runbook_outline
from rlmgen.model.routing import ENTITY_LABELS, inhibit_equal
from rlmgen.spec.diagnostics import Diagnostic, sort_key
from rlmgen.spec.loader import LoadedSpec
from rlmgen.spec.schema_check import schema_diagnostics


@dataclass(frozen=True)
class Compilation:
    """The model (None when any diagnostic is an error) and every diagnostic, sorted."""

    model: m.Spec | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def compile_spec(
    loaded: LoadedSpec, source: str, *, strict: bool = False, base_namespace: str | None = None
) -> Compilation:
    """Compile one loaded spec; `source` is its path as generated headers name it, and
    `strict` adds warnings for what no test proves. `base_namespace`: for one environment
    of a spec, the namespace its base declares."""
    if not isinstance(loaded.data, dict):
        message = (
            f"a spec is a mapping of keys, got {type(loaded.data).__name__}"
            if loaded.data is not None
            else "the spec is empty"
        )
        return Compilation(None, (loaded.diagnostic("", message, check="schema/type"),))
    walk = Walk(loaded, strict=strict)
    spec = _walk(walk, source)
    if base_namespace is not None:
        invariants.check_base_namespace_selected(walk, spec.service.namespace, base_namespace)
    found = sorted({*schema_diagnostics(loaded), *walk.diagnostics}, key=sort_key)
    failed = any(d.severity == "error" for d in found)
    return Compilation(None if failed else spec, tuple(found))


def _walk(walk: Walk, source: str) -> m.Spec:
    """The model of whatever parts of the document compile, checked as a whole."""
    root = walk.root()
    targets = compile_targets(root.mapping("targets"))
    walk.targets = targets
    walk.route_label = route_label(root.mapping("routing"))
    declared = references.index(root)
    service = compile_service(walk, root.mapping("service"))
    routing = compile_routing(walk, root, declared, targets)
    metrics = compile_metrics(walk, root, service, routing, declared)
    recorded = {
        metric.record: query
        for metric in metrics
        if metric.record and (query := walk.queries.get(f"{metric.pointer}/expr"))
    }
    native = NATIVE_HISTOGRAMS in targets.features
    service_node = root.mapping("service")
    scrape_known = "scrapeLabels" not in service_node or service_node.is_list("scrapeLabels")
    index = labels.LabelIndex(
        metrics, service, recorded, native_histograms=native, scrape_known=scrape_known
    )
    metrics = tuple(labels.with_labels(metric, index, walk) for metric in metrics)
    by_name = {metric.name: metric for metric in metrics}
    spec = m.Spec(
        source=source,
        service=service,
        metrics=metrics,
        alert_groups=compile_alert_groups(walk, root, service, routing, declared),
        routing=routing,
        dashboards=compile_dashboards(walk, root, by_name, declared),
        autoscaling=compile_autoscaling(walk, root, by_name, declared),
        runbook=compile_runbook(walk, root, declared),
        targets=targets,
        slos=compile_slos(walk, root, routing, declared, by_name),
        platform=compile_platform(walk, root.mapping("platform")),
    )
    spec = dataclasses.replace(spec, outline=runbook_outline(spec))
    carried, alert_labels = _check_labels(walk, root, spec, index)
    spec = dataclasses.replace(spec, alert_groups=_with_series_labels(spec, alert_labels))
    spec = dataclasses.replace(spec, health=compile_health(walk, root, metrics, spec.alerts))
    if spec.slos:  # an SLO's alerts are told apart by the SLO they burn
        carried = carried | SLO_IDENTITY_LABELS
    if spec.routing is not None:
        equal = inhibit_equal(carried, spec.routing.route_label)
        routing = dataclasses.replace(spec.routing, inhibit_equal=equal)
        spec = dataclasses.replace(spec, routing=routing)
    invariants.check_bucket_labels(walk)
    invariants.check_levels_within_buckets(walk, spec)
    invariants.check_alert_identities(walk, spec)
    invariants.check_runbook_anchors(walk, spec)
    return spec


def _with_series_labels(
    spec: m.Spec, alert_labels: dict[str, LabelSet]
) -> tuple[m.AlertGroup, ...]:
    return tuple(
        dataclasses.replace(
            group,
            alerts=tuple(
                dataclasses.replace(a, series_labels=alert_labels.get(a.pointer, UNKNOWN))
                for a in group.alerts
            ),
        )
        for group in spec.alert_groups
    )


def _check_labels(
    walk: Walk, root: Node, spec: m.Spec, index: labels.LabelIndex
) -> tuple[frozenset[str], dict[str, LabelSet]]:
    """Every PromQL text against the labels its series carry; legends and annotations
    against the labels their query keeps; rules against the labels they overwrite;
    alerts against routing's grouping. Returns the labels alert series are known to
    carry (inhibition tells alerts apart by them) and what is known of each hand-written
    alert's, by its pointer."""
    results = labels.check_queries(walk, index, list(walk.queries.items()))
    by_name = {metric.name: metric for metric in spec.metrics}
    recorded_as = {m.name: m.record for m in spec.metrics if m.record and m.record != m.name}
    for dashboard in root.items("dashboards"):
        for variable in dashboard.items("variables"):
            labels.check_variable_labels(walk, variable, index, recorded_as)
        panels = dashboard.items("panels") + [
            p for row in dashboard.items("rows") for p in row.items("panels")
        ]
        for panel in panels:
            targets = [(panel, "query")] + [(q, "expr") for q in panel.items("queries")]
            for node, key in targets:
                legend = node.text("legend")
                if legend and node.at(key) in results:
                    labels.check_legend(walk, node.at("legend"), legend, results[node.at(key)])
            # a `metric:` panel shows the metric's own series
            shown = by_name.get(panel.text("metric") or "")
            legend = panel.text("legend")
            if shown is not None and legend and "query" not in panel and not panel.items("queries"):
                labels.check_legend(walk, panel.at("legend"), legend, shown.series_labels)
    group_by = spec.routing.group_by if spec.routing else ()
    service_labels = spec.service.labels
    routed_by = spec.routing.route_label if spec.routing and spec.routing.receivers else None
    # without routing no alert gets a receiver, so none carries the route label
    set_on_alerts = alert_label_names(walk.route_label) - ({walk.route_label} - {routed_by})
    added_to_all = frozenset(service_labels) | set_on_alerts
    carried: set[str] = set()
    unknown = False  # whether some alert's series may carry labels nobody declared
    grouped: dict[str, LabelSet] = {}  # what each alert's series carry, by alert name

    def at_service(name: str) -> str:
        return f"/service/labels/{name}"

    for alert in spec.alerts:
        result = results.get(f"{alert.pointer}/expr")
        if result is None:
            continue
        carried.update(result.names)
        unknown = unknown or not result.exact
        added = added_to_all | frozenset(alert.labels)
        labels.check_annotation_labels(walk, alert, result, added)
        _grouped(grouped, alert.name, LabelSet(result.names | added, result.exact))
        rule = f"the alert {alert.name}"

        def at_alert(name: str, alert: m.Alert = alert) -> str:
            own = f"{alert.pointer}/labels/{name}"
            if walk.spec.has(own):
                return own
            return f"{alert.pointer.rsplit('/alerts/', 1)[0]}/labels/{name}"

        labels.check_overwritten(walk, alert.labels, at_alert, result, index.scrape, rule)
        labels.check_set_by_rlmgen(
            walk,
            f"{alert.pointer}/expr",
            result,
            rule,
            routed_by,
            walk.queries.get(f"{alert.pointer}/expr"),
        )
        # what the rule sets: its own labels, and rlmgen's where the series carry none
        set_by_rule = (
            frozenset(service_labels)
            | frozenset(alert.labels)
            | set_on_alerts.difference(SERIES_FIRST_LABELS & result.names)
        )
        for example in alert.examples:
            if example.fires:
                labels.check_example_labels(
                    walk, example.pointer, example.labels, result, set_by_rule
                )
        labels.check_overwritten(walk, service_labels, at_service, result, index.scrape, rule)
    for metric in spec.metrics:
        recorded = results.get(f"{metric.pointer}/expr") if metric.record else None
        if recorded is not None:
            rule = f"the recording rule {metric.record}"
            labels.check_overwritten(walk, service_labels, at_service, recorded, index.scrape, rule)
            for recording_example in metric.examples:
                labels.check_example_labels(
                    walk,
                    recording_example.pointer,
                    recording_example.labels,
                    recorded,
                    frozenset(service_labels),
                )
        if metric.alert is None:
            continue
        series = metric.series_labels
        carried.update(series.names)
        unknown = unknown or not series.exact
        if metric.record:  # the recording rule has set the service's labels already
            series = LabelSet(series.names - frozenset(service_labels), series.exact)
        added = added_to_all | frozenset(metric.alert.labels)
        for level in metric.alert.levels:  # a rule each, with its level's own labels too
            carried_by_rule = series.names | added | frozenset(level.labels)
            _grouped(grouped, metric.alert.name, LabelSet(carried_by_rule, series.exact))
        rule = f"the alert {metric.alert.name}"

        def at_metric(name: str, metric: m.Metric = metric) -> str:
            return f"{metric.pointer}/alert/labels/{name}"

        labels.check_overwritten(walk, metric.alert.labels, at_metric, series, index.scrape, rule)
        recorded_by = walk.queries.get(f"{metric.pointer}/expr") if metric.record else None
        at = f"{metric.pointer}/expr" if recorded_by is not None else f"{metric.pointer}/levels"
        labels.check_set_by_rlmgen(walk, at, series, rule, routed_by, recorded_by)
        if not metric.record:
            labels.check_overwritten(walk, service_labels, at_service, series, index.scrape, rule)
    labels.check_grouping(walk, root.mapping("routing"), group_by, grouped)
    alert_labels = {
        alert.pointer: results[f"{alert.pointer}/expr"]
        for alert in spec.alerts
        if f"{alert.pointer}/expr" in results
    }
    if unknown:  # then inhibition also compares the labels that usually name an entity
        carried.update(ENTITY_LABELS)
    return frozenset(carried | index.scrape), alert_labels


def _grouped(grouped: dict[str, LabelSet], name: str, carried: LabelSet) -> None:
    """What every alert of a name carries (rules of one name may differ)."""
    if name in grouped:
        known = grouped[name]
        carried = LabelSet(known.names & carried.names, known.exact and carried.exact)
    grouped[name] = carried
