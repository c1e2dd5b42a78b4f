"""The names, defaults and labels rlmgen derives, in one place: what a spec leaves unsaid
is decided here (routing's own defaults, who an alert reaches and when Alertmanager
sends, are in rlmgen.model.routing), so that the compile walk, every emitter and the
reviews agree."""

from __future__ import annotations

from rlmgen.output.markdown import github_slug

# --- severities -------------------------------------------------------------------------
SEVERITIES = ("info", "warning", "critical")  # least to most severe


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


# --- defaults ---------------------------------------------------------------------------
DEFAULT_SCRAPE_INTERVAL = 60.0  # Prometheus' own defaults
DEFAULT_EVALUATION_INTERVAL = 60.0
DEFAULT_LEVEL_FOR = 300.0  # long enough to ride out one bad scrape, short enough to page
DEFAULT_TIME_FROM = "now-6h"
DEFAULT_TARGET_API_VERSION = "apps/v1"
DEFAULT_MIN_REPLICAS = 1

# --- alert and rule names ---------------------------------------------------------------
_KIND_SUFFIX = {
    "above": "High",
    "below": "Low",
    "outside": "OutOfRange",
    "increase": "Increase",
    "decrease": "Drop",
}
RECORDING_GROUP = "recording"
LEVELS_GROUP = "levels"


def camel(name: str) -> str:
    """`rlm_api_latency_p99` -> `RlmApiLatencyP99`."""
    return "".join(
        part[:1].upper() + part[1:] for part in name.replace(":", "_").split("_") if part
    )


def level_alert_name(metric_name: str, kind: str, explicit: str | None = None) -> str:
    """The alert a metric's levels raise: the spec's `alert.name`, else derived from the
    metric and the direction (`RlmQueueDepthHigh`). Every level shares it; severity tells
    them apart, as Alertmanager inhibition expects."""
    return explicit or camel(metric_name) + _KIND_SUFFIX.get(kind, "")


def rule_group_name(service: str, group: str) -> str:
    return f"{service}.{group}"


# --- labels every rule carries ----------------------------------------------------------
SEVERITY_LABEL = "severity"
TEAM_LABEL = "team"
# Every alert names the receiver it reaches, so the Alertmanager route tree matches it exactly.
ROUTE_LABEL = "route"
# Every alert says which service and namespace it is about (the spec's values, unless its
# labels say otherwise): Alertmanager groups and inhibits by service, and the Prometheus
# Operator hands an AlertmanagerConfig only the alerts of its own namespace.
SERVICE_LABEL = "service"
NAMESPACE_LABEL = "namespace"
# The labels rlmgen puts on every alert (and Prometheus' own alertname).
ALERT_LABELS = (
    "alertname",
    SEVERITY_LABEL,
    TEAM_LABEL,
    ROUTE_LABEL,
    SERVICE_LABEL,
    NAMESPACE_LABEL,
)


def alert_label_names(route_label: str) -> frozenset[str]:
    """ALERT_LABELS with the route label as routing.routeLabel names it."""
    return frozenset(ALERT_LABELS) - {ROUTE_LABEL} | {route_label}


# The labels above that an alert's series keep when they carry their own: overwriting
# them could merge two series into one, which Prometheus refuses.
SERIES_FIRST_LABELS = frozenset({SERVICE_LABEL, NAMESPACE_LABEL, TEAM_LABEL})
# What Prometheus' scrape adds to every series (service.scrapeLabels adds others).
SCRAPE_LABELS = ("job", "instance")


# --- the runbook ------------------------------------------------------------------------
def alert_anchor(alert_name: str) -> str:
    """The anchor of an alert's own section in the runbook: its heading is the alert name,
    and the compile walk makes sure no other heading takes that anchor first."""
    return github_slug(alert_name)


def runbook_link(runbook_url: str, alert_name: str) -> str:
    return f"{runbook_url}#{alert_anchor(alert_name)}"


# --- Kubernetes -------------------------------------------------------------------------
def kubernetes_labels(service: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": service,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "rlmgen",
    }


def kubernetes_metadata(
    service: str, namespace: str, name: str, component: str
) -> dict[str, str | dict[str, str]]:
    return {"name": name, "namespace": namespace, "labels": kubernetes_labels(service, component)}


def hpa_name(workload: str) -> str:
    return f"{workload}-hpa"


def adapter_labels(source: str, described_kind: str | None) -> tuple[str, ...]:
    """The labels by which the metrics adapter ties a scaling metric's series to
    Kubernetes objects (its rule's resource overrides): the namespace, and the pod or the
    described object."""
    if source == "object" and described_kind:
        return ("namespace", described_kind.lower())
    return ("namespace", "pod") if source == "pods" else ("namespace",)


def served_metric_name(metric: str) -> str:
    """The name the custom/external metrics API serves a metric under (the adapter's)."""
    return metric


# --- the layout of out/<service>/ -------------------------------------------------------
# Emitters write these paths and the runbook links to them; names in them are identifiers
# the JSON Schema restricts to [a-z0-9-], so a path never leaves its directory.
RULES_PATH = "prometheus/rules.yaml"
TESTS_PATH = "prometheus/tests.yaml"
# The labels of an SLO's series and alerts: Sloth's, so its dashboards and routes work.
SLO_ID_LABEL, SLO_SERVICE_LABEL, SLO_NAME_LABEL, SLO_WINDOW_LABEL = (
    "sloth_id",
    "sloth_service",
    "sloth_slo",
    "sloth_window",
)
SLO_SEVERITY_LABEL = "sloth_severity"  # page or ticket
SLO_IDENTITY_LABELS = frozenset({SLO_ID_LABEL, SLO_SERVICE_LABEL, SLO_NAME_LABEL})


def slo_dashboard_uid(service: str) -> str:
    """The SLO dashboard's uid: `<service>-slos`, within Grafana's 40 characters."""
    return f"{service[:35].rstrip('-')}-slos"


# SLO rules in a file of their own: their tests run days of samples, which the other
# rules (a 7d baseline reads every sample) would make slow to evaluate.
def slo_rules_path(slo: str) -> str:
    """Each SLO's rules in a file of their own, so that its tests evaluate only them."""
    return f"prometheus/slo-{slo}.yaml"


def slo_tests_path(slo: str) -> str:
    return f"prometheus/slo-{slo}.tests.yaml"


PROMETHEUS_RULE_PATH = "kubernetes/prometheusrule.yaml"
ALERTMANAGER_PATH = "alertmanager/alertmanager.yaml"
ALERTMANAGER_CONFIG_PATH = "kubernetes/alertmanager-config.yaml"
ADAPTER_PATH = "kubernetes/prometheus-adapter.yaml"
DASHBOARDS_DIR = "grafana"
PROVISIONING_PATH = f"{DASHBOARDS_DIR}/provisioning.yaml"
RUNBOOK_PATH = "runbook/README.md"


def dashboard_path(uid: str) -> str:
    return f"{DASHBOARDS_DIR}/{uid}.json"


# An environment's cluster-level outputs, beside its services: out/<environment>/_cluster/
# (a service name cannot start with '_').
CLUSTER_DIR = "_cluster"
ADAPTER_HELM_VALUES_PATH = "prometheus-adapter/values.yaml"


def sidecar_config_map_path(service: str, uid: str) -> str:
    return f"kubernetes/dashboards/{service}-{uid}.yaml"


def hpa_path(workload: str) -> str:
    return f"kubernetes/hpa-{workload}.yaml"


def script_path(check_id: str) -> str:
    return f"scripts/{check_id}.sh"
