"""Alertmanager routing from the spec: `alertmanager/alertmanager.yaml` and, for the
Prometheus Operator, `kubernetes/alertmanager-config.yaml`.

Every rule rlmgen emits carries a `route` label naming its receiver, so the route tree
matches that label exactly; severity routes follow for alerts from other rule files.
Secrets are never inline: the config reads them from the files the spec names (the
Operator variant from Secret keys: a file in the Operator's mount layout is its own Secret
and key, any other the key of its name in the service's Secret)."""

from __future__ import annotations

from typing import Any

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.derive.kubernetes import metadata
from rlmgen.derive.rules import Rules
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.conventions import (
    ALERTMANAGER_CONFIG_PATH,
    ALERTMANAGER_PATH,
    SERVICE_LABEL,
    SEVERITIES,
    SEVERITY_LABEL,
)
from rlmgen.model.routing import (
    DEFAULT_GROUP_BY,
    ROOT_TIMING,
    Route,
    default_receiver,
    group_by,
    routes,
    secret_reference,
    service_secret,
)
from rlmgen.output.yamlout import dump

_TIMING_KEYS = ("group_wait", "group_interval", "repeat_interval")
_OPERATOR_TIMING_KEYS = ("groupWait", "groupInterval", "repeatInterval")


def emit(spec: m.Spec, rules: Rules) -> dict[str, str]:
    if spec.routing is None:
        return {}
    return {
        ALERTMANAGER_PATH: dump(config(spec.routing)),
        ALERTMANAGER_CONFIG_PATH: dump(operator_config(spec, spec.routing)),
    }


def _timing(route: Route | None, keys: tuple[str, str, str]) -> dict[str, str]:
    seconds = route.timing if route is not None else ROOT_TIMING
    return {key: format_duration(value) for key, value in zip(keys, seconds, strict=True)}


def _inhibitions() -> list[tuple[str, str]]:
    """(stronger, weaker) severity pairs."""
    return [
        (stronger, weaker)
        for index, stronger in enumerate(SEVERITIES)
        for weaker in SEVERITIES[:index]
    ]


def _route(route: Route, prefix: str = "") -> dict[str, Any]:
    data: dict[str, Any] = {
        "receiver": prefix + route.receiver,
        "matchers": [f'{label}{op}"{value}"' for label, op, value in route.matchers],
        **_timing(route, _TIMING_KEYS),
    }
    if route.active_intervals:
        data["active_time_intervals"] = [prefix + name for name in route.active_intervals]
    if route.mute_intervals:
        data["mute_time_intervals"] = [prefix + name for name in route.mute_intervals]
    if route.continues:
        data["continue"] = True
    return data


def time_intervals(routing: m.Routing, prefix: str = "") -> list[dict[str, Any]]:
    return [
        {
            "name": prefix + interval.name,
            "time_intervals": [_interval(entry) for entry in interval.intervals],
        }
        for interval in routing.time_intervals
    ]


def _interval(entry: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if "times" in entry:
        data["times"] = [{"start_time": t["start"], "end_time": t["end"]} for t in entry["times"]]
    for key, name in (
        ("weekdays", "weekdays"),
        ("daysOfMonth", "days_of_month"),
        ("months", "months"),
        ("location", "location"),
    ):
        if key in entry:
            data[name] = entry[key]
    return data


def config(routing: m.Routing) -> dict[str, Any]:
    return {
        "route": {
            "receiver": default_receiver(routing),
            "group_by": group_by(routing),
            **_timing(None, _TIMING_KEYS),
            "routes": [_route(r) for r in routes(routing)],
        },
        "inhibit_rules": [
            {
                "source_matchers": [f'{SEVERITY_LABEL}="{stronger}"'],
                "target_matchers": [f'{SEVERITY_LABEL}="{weaker}"'],
                "equal": list(routing.inhibit_equal),
            }
            for stronger, weaker in _inhibitions()
        ],
        "receivers": [_receiver(r) for r in routing.receivers],
        **({"time_intervals": time_intervals(routing)} if routing.time_intervals else {}),
    }


def _receiver(receiver: m.Receiver) -> dict[str, Any]:
    settings = receiver.settings
    if receiver.kind == "pagerduty":
        integration = {
            "pagerduty_configs": [
                {"routing_key_file": settings["routingKeyFile"], "send_resolved": True}
            ]
        }
    elif receiver.kind == "slack":
        integration = {
            "slack_configs": [
                {
                    "api_url_file": settings["apiUrlFile"],
                    "channel": settings["channel"],
                    "send_resolved": True,
                }
            ]
        }
    elif receiver.kind == "email":
        email: dict[str, Any] = {
            "to": settings["to"],
            "from": settings["from"],
            "smarthost": settings["smarthost"],
        }
        if "authUsername" in settings:
            email["auth_username"] = settings["authUsername"]
        if "authPasswordFile" in settings:
            email["auth_password_file"] = settings["authPasswordFile"]
        email["send_resolved"] = True
        integration = {"email_configs": [email]}
    else:
        webhook: dict[str, Any] = (
            {"url": settings["url"]} if "url" in settings else {"url_file": settings["urlFile"]}
        )
        integration = {"webhook_configs": [{**webhook, "send_resolved": True}]}
    return {"name": receiver.name, **integration}


# --- Prometheus Operator -----------------------------------------------------------------


def secret_name(spec: m.Spec) -> str:
    return service_secret(spec.service.name)


def _secret(spec: m.Spec, path: str) -> dict[str, str]:
    """The Secret key that holds what the file the spec names holds (secret_reference)."""
    secret, key = secret_reference(path)
    return {"name": secret or secret_name(spec), "key": key}


def _operator_receiver(spec: m.Spec, receiver: m.Receiver) -> dict[str, Any]:
    settings = receiver.settings
    if receiver.kind == "pagerduty":
        return {
            "name": receiver.name,
            "pagerdutyConfigs": [
                {"routingKey": _secret(spec, settings["routingKeyFile"]), "sendResolved": True}
            ],
        }
    if receiver.kind == "slack":
        return {
            "name": receiver.name,
            "slackConfigs": [
                {
                    "apiURL": _secret(spec, settings["apiUrlFile"]),
                    "channel": settings["channel"],
                    "sendResolved": True,
                }
            ],
        }
    if receiver.kind == "email":
        email: dict[str, Any] = {
            "to": settings["to"],
            "from": settings["from"],
            "smarthost": settings["smarthost"],
            "sendResolved": True,
        }
        if "authUsername" in settings:
            email["authUsername"] = settings["authUsername"]
        if "authPasswordFile" in settings:
            email["authPassword"] = _secret(spec, settings["authPasswordFile"])
        return {"name": receiver.name, "emailConfigs": [email]}
    return {
        "name": receiver.name,
        "webhookConfigs": [
            {
                **(
                    {"url": settings["url"]}
                    if "url" in settings
                    else {"urlSecret": _secret(spec, settings["urlFile"])}
                ),
                "sendResolved": True,
            }
        ],
    }


_MATCH_TYPES = {"=": "=", "=~": "=~"}


def _operator_route(route: Route) -> dict[str, Any]:
    data: dict[str, Any] = {
        "receiver": route.receiver,
        "matchers": [
            {"name": label, "value": value, "matchType": _MATCH_TYPES[op]}
            for label, op, value in route.matchers
        ],
        **_timing(route, _OPERATOR_TIMING_KEYS),
    }
    if route.active_intervals:
        data["activeTimeIntervals"] = list(route.active_intervals)
    if route.mute_intervals:
        data["muteTimeIntervals"] = list(route.mute_intervals)
    if route.continues:
        data["continue"] = True
    return data


def _operator_interval(entry: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if "times" in entry:
        data["times"] = [{"startTime": t["start"], "endTime": t["end"]} for t in entry["times"]]
    for key in ("weekdays", "daysOfMonth", "months"):
        if key in entry:
            data[key] = entry[key]
    return data


def operator_config(spec: m.Spec, routing: m.Routing) -> dict[str, Any]:
    def matcher(name: str, value: str) -> dict[str, str]:
        return {"name": name, "value": value, "matchType": "="}

    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": metadata(spec, f"{spec.service.name}-routing", "alerting"),
        "spec": {
            "route": {
                "receiver": default_receiver(routing),
                "groupBy": group_by(routing),
                **_timing(None, _OPERATOR_TIMING_KEYS),
                "routes": [_operator_route(r) for r in routes(routing)],
            },
            "inhibitRules": [
                {
                    "sourceMatch": [matcher(SEVERITY_LABEL, stronger)],
                    "targetMatch": [matcher(SEVERITY_LABEL, weaker)],
                    "equal": list(routing.inhibit_equal),
                }
                for stronger, weaker in _inhibitions()
            ],
            "receivers": [_operator_receiver(spec, r) for r in routing.receivers],
            **(
                {
                    "muteTimeIntervals": [
                        {
                            "name": interval.name,
                            "timeIntervals": [_operator_interval(e) for e in interval.intervals],
                        }
                        for interval in routing.time_intervals
                    ]
                }
                if routing.time_intervals
                else {}
            ),
        },
    }


# --- an environment's one Alertmanager -----------------------------------------------------

UNROUTED = "unrouted"


def receiver_name(service: str, receiver: str) -> str:
    """A receiver's name in an environment's combined configuration: unique per service."""
    return f"{service}/{receiver}"


@dataclass(frozen=True)
class ClusterPart:
    """What one service adds to its environment's Alertmanager."""

    sub_route: dict[str, Any]
    inhibitions: list[dict[str, Any]]
    receivers: list[dict[str, Any]]
    intervals: list[dict[str, Any]]


def cluster_part(spec: m.Spec) -> ClusterPart | None:
    """A sub-route (matched by the service's `service` label) holding its route tree,
    its receivers and time intervals named `<service>/<name>`, and its inhibition
    limited to its own alerts; None for a service without routing."""
    routing = spec.routing
    if routing is None:
        return None
    prefix = receiver_name(spec.service.name, "")
    own = f'{SERVICE_LABEL}="{spec.service.name}"'
    return ClusterPart(
        sub_route={
            "receiver": prefix + default_receiver(routing),
            "matchers": [own],
            "group_by": group_by(routing),
            **_timing(None, _TIMING_KEYS),
            "routes": [_route(r, prefix) for r in routes(routing)],
        },
        inhibitions=[
            {
                "source_matchers": [f'{SEVERITY_LABEL}="{stronger}"', own],
                "target_matchers": [f'{SEVERITY_LABEL}="{weaker}"', own],
                "equal": list(routing.inhibit_equal),
            }
            for stronger, weaker in _inhibitions()
        ],
        receivers=[{**_receiver(r), "name": prefix + r.name} for r in routing.receivers],
        intervals=time_intervals(routing, prefix),
    )


def emit_cluster(parts: list[ClusterPart | None]) -> dict[str, str]:
    """One Alertmanager configuration for every service of an environment (their parts,
    in service order). What matches no service reaches `unrouted`, which notifies
    nobody."""
    routed = [part for part in parts if part is not None]
    if not routed:
        return {}
    sub_routes = [part.sub_route for part in routed]
    inhibitions = [rule for part in routed for rule in part.inhibitions]
    receivers = [{"name": UNROUTED}, *(r for part in routed for r in part.receivers)]
    intervals = [interval for part in routed for interval in part.intervals]
    config: dict[str, Any] = {
        "route": {
            "receiver": UNROUTED,
            "group_by": list(DEFAULT_GROUP_BY),
            **_timing(None, _TIMING_KEYS),
            "routes": sub_routes,
        },
        "inhibit_rules": inhibitions,
        "receivers": receivers,
    }
    if intervals:
        config["time_intervals"] = intervals
    return {ALERTMANAGER_PATH: dump(config)}
