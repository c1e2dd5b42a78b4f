"""The service: its names, labels and the intervals every `for` is measured against."""

from __future__ import annotations

import re

from rlmgen.lang.units import format_duration
from rlmgen.lang.versions import DEFAULT_ALERTMANAGER, DEFAULT_PROMETHEUS, parse_version
from rlmgen.model import types as m
from rlmgen.model.compile.labels import check_label_value, rule_labels
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.model.conventions import (
    DEFAULT_EVALUATION_INTERVAL,
    DEFAULT_SCRAPE_INTERVAL,
    SCRAPE_LABELS,
)


def compile_service(walk: Walk, node: Node) -> m.Service:
    """The service (with placeholders where the schema pass reported a missing key)."""
    intervals = {}
    for key, default in (
        ("scrapeInterval", DEFAULT_SCRAPE_INTERVAL),
        ("evaluationInterval", DEFAULT_EVALUATION_INTERVAL),
    ):
        seconds = node.duration(key)
        if seconds == 0:
            walk.error(node.at(key), f"'{key}' must be longer than 0s", check="durations/zero")
            seconds = None
        intervals[key] = seconds if seconds is not None else default
    if (team := node.text("team")) is not None:
        check_label_value(walk, node.at("team"), team)  # every alert's `team` label
    runbook_url = _base_url(walk, node, "runbookUrl") or ""
    grafana_url = _base_url(walk, node, "grafanaUrl")
    return m.Service(
        name=node.text("name") or "",
        title=node.text("title") or "",
        description=node.text("description") or "",
        namespace=node.text("namespace") or "",
        team=node.text("team") or "",
        runbook_url=runbook_url.rstrip("/"),
        grafana_url=grafana_url.rstrip("/") if grafana_url else None,
        labels=rule_labels(walk, node),
        scrape_interval=intervals["scrapeInterval"],
        evaluation_interval=intervals["evaluationInterval"],
        # a scrapeLabels that is not a list (reported by the schema) is as if not written:
        # read as no labels, every `up` selector and example would be reported again
        scrape_labels=node.strings("scrapeLabels")
        if node.is_list("scrapeLabels")
        else SCRAPE_LABELS,
        scrape_labels_declared=node.is_list("scrapeLabels"),
    )


def _base_url(walk: Walk, node: Node, key: str) -> str | None:
    """A URL that rlmgen extends (with #<alert anchor>, with /d/<uid>): one piece of text
    with no fragment of its own, and no `{{` that Prometheus would read as a template in
    the runbook_url annotations."""
    url = node.text(key)
    if url is None:
        return None
    for bad, why in (
        ("#", "rlmgen adds the fragment (#<alert>) itself"),
        ("{{", "Prometheus would read it as a template in every runbook_url"),
        ("}}", "Prometheus would read it as a template in every runbook_url"),
    ):
        if bad in url:
            walk.error_in_value(
                node.at(key),
                bad,
                f"a {key} cannot hold '{bad}': {why}",
                check="service/invalid-url",
            )
            return None
    if any(c.isspace() for c in url):
        walk.error(
            node.at(key),
            f"a {key} cannot hold spaces or line breaks",
            "write %20",
            check="service/invalid-url",
        )
        return None
    return url


def shortest_hold(service: m.Service) -> tuple[float, str]:
    """The shortest useful non-zero `for`: the longer of scrape and evaluation interval."""
    scrape, evaluation = service.scrape_interval, service.evaluation_interval
    return (scrape, "scrape") if scrape >= evaluation else (evaluation, "evaluation")


def check_hold(walk: Walk, node: Node, key: str, hold: float | None, service: m.Service) -> None:
    """Warn about a `for` too short to hold an alert back."""
    minimum, which = shortest_hold(service)
    if hold is not None and 0 < hold < minimum:
        walk.warning(
            node.at(key),
            f"'for: {node.value[key]}' is shorter than the {which} interval "
            f"({format_duration(minimum)}), so it cannot hold the alert back",
            f"use at least {format_duration(minimum)}, or 0s to fire at once",
            check="alerts/for-too-short",
        )


def compile_targets(node: Node) -> m.Targets:
    """The versions the output is deployed to (the schema checks their form)."""
    prometheus = parse_version(node.text("prometheus") or "")
    alertmanager = parse_version(node.text("alertmanager") or "")
    return m.Targets(
        prometheus=prometheus or DEFAULT_PROMETHEUS,
        alertmanager=alertmanager or DEFAULT_ALERTMANAGER,
        features=frozenset(node.strings("features")),
    )


_KUBERNETES_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


def compile_platform(walk: Walk, node: Node) -> m.Platform:
    """The cluster's monitoring stack as the spec describes it (defaults: the Operator
    chart's conventions)."""
    default = m.Platform()
    rule = node.mapping("prometheusRule")
    rule_labels = rule.labels("labels")
    for name, value in rule_labels.items():
        if not _KUBERNETES_LABEL_VALUE.fullmatch(value):
            walk.error(
                f"{rule.at('labels')}/{name}",
                f"'{value}' is not a Kubernetes label value",
                "at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
                "letter or digit",
                check="labels/invalid-value",
            )
    adapter = node.mapping("prometheusAdapter")
    grafana = node.mapping("grafana")
    sidecar = grafana.mapping("sidecar")
    return m.Platform(
        rule_labels=rule_labels,
        adapter_namespace=adapter.text("namespace") or default.adapter_namespace,
        adapter_config_map=adapter.text("configMap") or default.adapter_config_map,
        dashboards_path=(grafana.text("dashboardsPath") or default.dashboards_path).rstrip("/")
        or "/",
        sidecar=(
            m.GrafanaSidecar(
                namespace=sidecar.text("namespace") or "",
                label=sidecar.text("label") or "grafana_dashboard",
                label_value=sidecar.value.get("labelValue", "1")
                if isinstance(sidecar.value.get("labelValue", "1"), str)
                else "1",
                folder_annotation=sidecar.text("folderAnnotation") or "grafana_folder",
            )
            if "sidecar" in grafana
            else None
        ),
    )
