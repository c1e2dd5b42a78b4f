"""Names rlmgen derives, in one place so validation and generators agree."""

from __future__ import annotations

_KIND_SUFFIX = {
    "above": "High",
    "below": "Low",
    "outside": "OutOfRange",
    "increase": "Increase",
    "decrease": "Drop",
}


def camel(name: str) -> str:
    """`rlm_api_latency_p99` -> `RlmApiLatencyP99`."""
    return "".join(
        part[:1].upper() + part[1:] for part in name.replace(":", "_").split("_") if part
    )


def threshold_alert_name(metric_name: str, kind: str, explicit: str | None = None) -> str:
    """The alert a metric's levels raise: the spec's `alert.name`, else derived from the
    metric and the direction (`RlmQueueDepthHigh`). Every level shares it; severity tells
    them apart, as Alertmanager inhibition expects."""
    return explicit or camel(metric_name) + _KIND_SUFFIX.get(kind, "")


def rule_group_name(service: str, group: str) -> str:
    return f"{service}.{group}"


RECORDING_GROUP = "recording"
LEVELS_GROUP = "levels"
