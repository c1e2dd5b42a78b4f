"""The compiled spec: frozen dataclasses that every emitter reads.

The compile walk (rlmgen.model.compile) fills them once: durations are seconds, levels
and scaling targets are numbers in the metric's sample unit (Prometheus base units unless
the metric says otherwise), PromQL is parsed, names are derived, defaults applied and
references resolved (every alert knows its receiver). Emitters never parse strings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from rlmgen.compiled_dataclasses import frozen
from rlmgen.lang.labels import UNKNOWN, LabelSet
from rlmgen.lang.levels import Level
from rlmgen.lang.units import SeriesUnit
from rlmgen.lang.versions import DEFAULT_ALERTMANAGER, DEFAULT_PROMETHEUS, Version
from rlmgen.model.conventions import ROUTE_LABEL

Labels = Mapping[str, str]


@frozen
class Targets:
    """The versions the output is deployed to."""

    prometheus: Version = DEFAULT_PROMETHEUS
    alertmanager: Version = DEFAULT_ALERTMANAGER
    features: frozenset[str] = frozenset()  # Prometheus' --enable-feature flags


@frozen
class Service:
    name: str
    title: str
    description: str
    namespace: str
    team: str
    runbook_url: str  # without a trailing slash
    grafana_url: str | None  # without a trailing slash
    labels: Labels
    scrape_interval: float
    evaluation_interval: float
    scrape_labels: tuple[str, ...] = ()  # what the scrape adds to declared metrics' series
    scrape_labels_declared: bool = False  # written in the spec, not the default


@frozen
class Levels:
    target: Level | None
    info: Level | None
    warning: Level | None
    critical: Level | None
    baseline: float | None  # seconds; the window relative levels compare against

    def alerting(self) -> tuple[tuple[str, Level], ...]:
        """(severity, level) for each level that raises an alert, least severe first."""
        pairs = (("info", self.info), ("warning", self.warning), ("critical", self.critical))
        return tuple((name, level) for name, level in pairs if level is not None)

    def written(self) -> tuple[str, ...]:
        """The levels as the spec writes them, the alerting ones first, most severe first
        (the unit a value is read in is the first one written)."""
        order = (self.critical, self.warning, self.info, self.target)
        return tuple(level.text for level in order if level is not None)


@frozen
class LevelAlert:
    """One alerting level of a metric, as the alert it raises sees it."""

    severity: str
    level: Level
    receiver: str | None  # resolved: the receiver its severity reaches, or the default
    for_seconds: float | None = None  # the level's own `for` (None: the alert's)
    labels: Labels = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    pointer: str = dataclasses.field(default="", compare=False, repr=False)  # in the spec


@frozen
class LevelAlerts:
    """The alert a metric's levels raise: one name, a rule per level told apart by severity."""

    name: str  # the spec's alert.name, or derived from the metric and the direction
    name_pointer: str = dataclasses.field(compare=False, repr=False)  # alert.name, or name
    for_seconds: float
    summary: str | None  # the spec's template; None: rlmgen writes one
    labels: Labels
    playbook: str | None
    levels: tuple[LevelAlert, ...]  # least severe first

    def hold(self, level: LevelAlert) -> float:
        """How long the level's condition must hold: its own `for`, else the alert's."""
        return self.for_seconds if level.for_seconds is None else level.for_seconds

    def longest_hold(self) -> float:
        return max((self.hold(level) for level in self.levels), default=self.for_seconds)


@frozen
class ExampleSeries:
    series: str
    values: str  # promtool expanding notation


@frozen
class RecordingExample:
    """Input series and the value a recording rule must produce from them."""

    name: str | None
    interval: float | None
    series: tuple[ExampleSeries, ...]
    at: float
    value: float
    labels: Labels
    pointer: str = dataclasses.field(default="", compare=False, repr=False)  # in the spec


@frozen
class InputSeries:
    """A series a test feeds: its name, what is known of its labels, and the values its
    selector fixes (`pool="main"`)."""

    name: str
    labels: LabelSet
    fixed: Labels


@frozen
class Metric:
    name: str
    group: str | None
    description: str | None
    type: str | None
    unit: SeriesUnit | None
    expr: str | None
    record: str | None
    limit: str | None
    levels: Levels | None
    alert: LevelAlerts | None  # None when no level alerts
    examples: tuple[RecordingExample, ...]
    # What the levels compare and a panel of the metric shows: the series, or its
    # fraction of the limit when the levels are fractions of a limit.
    measured: str
    labels: tuple[str, ...] | None = None  # declared: the labels the metric's series carry
    scrape_labels: tuple[str, ...] | None = None  # its own, else service.scrapeLabels
    # What is known of the labels of `series` (rlmgen.lang.labels), and the series the
    # limit expression reads: what the level scenarios feed, shaped like production's.
    series_labels: LabelSet = UNKNOWN
    limit_input: InputSeries | None = None
    buckets: tuple[float, ...] = ()  # a histogram's declared le bounds, in its unit
    pointer: str = dataclasses.field(default="", compare=False, repr=False)  # in the spec

    @property
    def series(self) -> str:
        """What a query selects to read this metric: its recording rule if it has one."""
        return self.record or self.name

    @property
    def of_limit(self) -> bool:
        """Whether the levels (and a panel of the metric) measure a fraction of the limit."""
        return self.measured != self.series


@frozen
class AlertExample:
    name: str | None
    interval: float | None
    series: tuple[ExampleSeries, ...]
    at: float
    fires: bool
    labels: Labels
    value: float | None  # the expression's value when it fires, for $value in annotations
    pointer: str = dataclasses.field(default="", compare=False, repr=False)  # in the spec


@frozen
class Alert:
    name: str
    group: str
    expr: str
    for_seconds: float
    severity: str
    receiver: str | None  # resolved: the alert's route, its group's, its severity's, or the default
    labels: Labels  # group labels overlaid with the alert's own
    summary: str
    description: str | None
    meaning: str | None
    playbook: str | None
    examples: tuple[AlertExample, ...]
    comparison: tuple[str, float] | None  # a top-level `expr > number`, for reviews
    compared: str | None = dataclasses.field(default=None, kw_only=True)  # that `expr`
    pointer: str = dataclasses.field(default="", compare=False, repr=False)  # in the spec
    series_labels: LabelSet = UNKNOWN  # what is known of the labels of `expr`'s series


@frozen
class AlertGroup:
    name: str
    title: str | None
    description: str | None
    interval: float | None
    alerts: tuple[Alert, ...]


@frozen
class Receiver:
    name: str
    title: str | None
    kind: Literal["pagerduty", "slack", "email", "webhook"]
    settings: Mapping[str, str]
    severities: tuple[str, ...]
    group_wait: float | None
    group_interval: float | None
    repeat_interval: float | None
    # a copy of every alert it takes goes here, whichever receiver the alert is routed to
    continues: bool = False
    match: Labels = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    active_intervals: tuple[str, ...] = ()
    mute_intervals: tuple[str, ...] = ()

    def takes(self, severity: str, labels: Mapping[str, str]) -> bool:
        """Whether an alert of this severity with these labels matches this receiver."""
        return severity in self.severities and all(
            labels.get(name) == value for name, value in self.match.items()
        )


@frozen
class TimeRange:
    start: str  # HH:MM
    end: str


@frozen
class TimeInterval:
    """Alertmanager's time_interval: one entry per `intervals` item of the spec."""

    name: str
    intervals: tuple[Mapping[str, object], ...]  # weekdays, times, daysOfMonth, months, location


@frozen
class Routing:
    default: str | None
    group_by: tuple[str, ...]
    receivers: tuple[Receiver, ...]
    time_intervals: tuple[TimeInterval, ...] = ()
    # The labels a firing alert and the less severe alerts it holds back share: the
    # alert's name, the service, and every label that tells its series apart.
    inhibit_equal: tuple[str, ...] = ("alertname", "service")
    # The label every alert names its receiver in (routing.routeLabel)
    route_label: str = ROUTE_LABEL


@frozen
class Query:
    expr: str
    legend: str | None
    grouping: tuple[str, ...] | None  # labels of a top-level `by` aggregation


@frozen
class Panel:
    title: str
    type: str
    description: str | None
    metric: Metric | None
    queries: tuple[Query, ...]
    unit: str | None  # a Grafana unit id given in the spec, else None (use the metric's)
    min: float | None
    max: float | None
    decimals: int | None
    content: str | None
    width: int | None
    height: int | None
    # Threshold steps (lower bound, colour) rlmgen sets itself (an SLO's burn-rate
    # factors); None: from the metric's levels.
    thresholds: tuple[tuple[float | None, str], ...] | None = None


@frozen
class Row:
    title: str | None  # None: the panels before the first row
    collapsed: bool
    panels: tuple[Panel, ...]


@frozen
class Variable:
    name: str
    label: str | None
    query: str
    multi: bool
    include_all: bool


@frozen
class Dashboard:
    uid: str
    title: str
    description: str | None
    refresh: float | None
    time_from: str
    tags: tuple[str, ...]
    variables: tuple[Variable, ...]
    rows: tuple[Row, ...]

    @property
    def panels(self) -> tuple[Panel, ...]:
        return tuple(panel for row in self.rows for panel in row.panels)


@frozen
class ScalingPolicy:
    type: Literal["Percent", "Pods"]
    value: int
    period_seconds: int


@frozen
class ScalingRules:
    stabilization_window_seconds: int | None
    select_policy: str | None
    policies: tuple[ScalingPolicy, ...]


@frozen
class ScalingTarget:
    kind: Literal["Utilization", "AverageValue", "Value"]
    value: float  # Utilization: percent; otherwise in the metric's sample unit
    text: str  # as written in the spec


@frozen
class ObjectReference:
    kind: str
    name: str
    api_version: str | None


@frozen
class ScalingMetric:
    source: Literal["resource", "pods", "external", "object"]
    name: str  # cpu/memory, or the metric name
    metric: Metric | None
    described_object: ObjectReference | None
    selector: Labels
    label: str
    target: ScalingTarget
    scale_down_below: ScalingTarget | None


@frozen
class Workload:
    name: str
    title: str
    target: ObjectReference
    min_replicas: int
    max_replicas: int
    metrics: tuple[ScalingMetric, ...]
    scale_up: ScalingRules | None
    scale_down: ScalingRules | None


@frozen
class SeverityLevel:
    name: str
    criteria: str
    response_time: str
    escalation: str


@frozen
class PlaybookStep:
    step: str
    run: str | None


@frozen
class Playbook:
    id: str
    title: str
    severity: str | None
    steps: tuple[PlaybookStep, ...]


@frozen
class Command:
    description: str
    run: str


@frozen
class Checklist:
    title: str
    items: tuple[str, ...]


@frozen
class ScheduledCheck:
    id: str
    title: str
    section: Literal["capacity-planning", "on-call"]
    schedule: str
    run: str | None
    script: str | None
    expected_output: str | None
    health: bool = False  # runs `rlmgen health`: the runbook shows the command and its checks


@frozen
class HealthCheck:
    """One line of `rlmgen health`: a query whose value is judged against levels.

    `query` gives what the levels compare (a metric's measured series, or the left side
    of the alerts' comparisons); `change_query`, for relative levels, gives the value as
    a ratio to its baseline average."""

    label: str
    query: str
    levels: Levels
    unit: SeriesUnit | None
    display: str  # the unit the author writes the levels in: ms, %, s, $, GiB or ""
    decimals: int = 0  # the most decimals a level is written with (99.99% -> 2)
    change_query: str | None = None
    metric: str | None = None  # the metric it reads, when it is one
    alerts: tuple[str, ...] = ()  # the alerts whose levels it takes, when it is those
    pointer: str = dataclasses.field(default="", compare=False, repr=False)


@frozen
class Health:
    """What `rlmgen health` checks: the spec's `health.checks`, else every metric with
    levels; `prometheus_url` the server it asks unless the command names one."""

    checks: tuple[HealthCheck, ...]
    prometheus_url: str | None = None
    chosen: bool = False  # the spec lists its checks (else: every metric with levels)


@frozen
class Contact:
    label: str
    value: str
    url: str | None


@frozen
class Runbook:
    severity_levels: tuple[SeverityLevel, ...]
    playbooks: tuple[Playbook, ...]
    commands: tuple[Command, ...]
    checklists: tuple[Checklist, ...]
    scheduled_checks: tuple[ScheduledCheck, ...]
    contacts: tuple[Contact, ...]


@frozen
class Heading:
    level: int  # 1 for the title, 2 for the sections, ...
    text: str
    anchor: str
    kind: str  # section, metric-group, dashboard, receiver, alert, playbook, workload, ...
    key: str  # what it is about: a group, a dashboard uid, a receiver or alert name, an id


@frozen
class Outline:
    headings: tuple[Heading, ...]
    # receiver ("" for unrouted) -> the alerts whose own section sits under its heading
    alert_sections: tuple[tuple[str, tuple[str, ...]], ...]

    def anchor(self, kind: str, key: str) -> str:
        return next(h.anchor for h in self.headings if h.kind == kind and h.key == key)


EMPTY_OUTLINE = Outline((), ())


@frozen
class SLI:
    """How an SLO's error ratio is read, as PromQL with `{window}` where the range goes:
    `bad` and `total` are rates over the window (both None for a raw ratio)."""

    kind: str  # "events", "latency" or "raw"
    error_ratio: str  # the ratio of bad to all events over {window}
    bad: str | None = None  # sum(rate(<bad events>[{window}])) (events: 1 - good/total)
    total: str | None = None
    # The counters a test feeds: (role, metric name, label matchers), role bad, good or
    # total, each matcher (label, operator, value).
    inputs: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = ()


@frozen
class BurnAlert:
    """The page or the ticket alert of an SLO."""

    kind: str  # "page" or "ticket"
    severity: str
    receiver: str | None
    for_seconds: float
    pointer: str = dataclasses.field(default="", compare=False, repr=False)


@frozen
class SLO:
    name: str
    description: str | None
    objective: float  # the share of good events, 0.999
    objective_text: str  # as written: 99.9%
    period: float  # seconds, whole days
    sli: SLI
    alert_name: str
    alerts: tuple[BurnAlert, ...]  # the enabled ones, page first
    labels: Labels
    summary: str | None
    description_template: str | None
    playbook: str | None
    pointer: str = dataclasses.field(default="", compare=False, repr=False)

    @property
    def error_budget(self) -> float:
        return 1.0 - self.objective


@frozen
class GrafanaSidecar:
    namespace: str
    label: str
    label_value: str
    folder_annotation: str


@frozen
class Platform:
    """How the cluster runs the monitoring stack: what the cluster-level outputs of an
    environment need (the same in every spec of the environment), and the labels the
    Operator selects this spec's PrometheusRule by."""

    rule_labels: Labels = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    adapter_namespace: str = "monitoring"
    adapter_config_map: str = "prometheus-adapter"
    dashboards_path: str = "/var/lib/grafana/dashboards"
    sidecar: GrafanaSidecar | None = None


@frozen
class Spec:
    source: str  # the spec's path as the generated headers name it
    service: Service
    metrics: tuple[Metric, ...]
    alert_groups: tuple[AlertGroup, ...]
    routing: Routing | None
    dashboards: tuple[Dashboard, ...]
    autoscaling: tuple[Workload, ...]
    runbook: Runbook
    outline: Outline = EMPTY_OUTLINE  # the runbook's headings (rlmgen.model.outline)
    targets: Targets = Targets()
    slos: tuple[SLO, ...] = ()
    platform: Platform = Platform()
    health: Health = Health(())
    environment: str | None = None  # the environment this model is of, if the spec has them

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)

    def receiver(self, name: str | None) -> Receiver | None:
        if self.routing is None or name is None:
            return None
        return next((r for r in self.routing.receivers if r.name == name), None)

    @property
    def alerts(self) -> tuple[Alert, ...]:
        return tuple(alert for group in self.alert_groups for alert in group.alerts)
