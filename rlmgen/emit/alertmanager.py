"""Alertmanager routing from the spec: `alertmanager/alertmanager.yaml` and, for the
Prometheus Operator, `kubernetes/alertmanager-config.yaml`.

Every rule rlmgen emits carries a `route` label naming its receiver, so the route tree
matches that label exactly; severity routes follow for alerts from other rule files.
Secrets are never inline: the config reads them from the files the spec names (the
Operator variant from a Secret, keyed by those files' names)."""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath
from typing import Any

from rlmgen.derive.kubernetes import metadata
from rlmgen.derive.rules import SEVERITY_ORDER
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.output.yamlout import dump

CONFIG_PATH = "alertmanager/alertmanager.yaml"
OPERATOR_PATH = "kubernetes/alertmanager-config.yaml"
DEFAULT_GROUP_BY = ("alertname", "service")
# Paging is fast and repeats often; email waits longer and repeats daily.
TIMING = {
    "critical": (30.0, 300.0, 4 * 3600.0),
    "warning": (60.0, 600.0, 12 * 3600.0),
    "info": (300.0, 1800.0, 24 * 3600.0),
}
ROOT_TIMING = TIMING["warning"]


def generate(spec: m.Spec) -> dict[str, str]:
    if spec.routing is None:
        return {}
    return {CONFIG_PATH: dump(config(spec)), OPERATOR_PATH: dump(operator_config(spec))}


def _timing(receiver: m.Receiver) -> tuple[float, float, float]:
    """The receiver's own timing, else that of the most severe severity it takes."""
    severities = sorted(receiver.severities, key=SEVERITY_ORDER.index)
    default = TIMING[severities[-1]] if severities else ROOT_TIMING
    return (
        receiver.group_wait or default[0],
        receiver.group_interval or default[1],
        receiver.repeat_interval or default[2],
    )


def _default_receiver(routing: m.Routing) -> str:
    return routing.default or routing.receivers[0].name


def _group_by(routing: m.Routing) -> list[str]:
    return list(routing.group_by or DEFAULT_GROUP_BY)


@dataclasses.dataclass(frozen=True)
class Route:
    receiver: str
    label: str
    value: str
    timing: tuple[str, str, str]  # group_wait, group_interval, repeat_interval


def _routes(routing: m.Routing) -> list[Route]:
    """The route label of each receiver first, then its severities, with its timing."""
    pairs = [(r, "route", r.name) for r in routing.receivers]
    pairs += [(r, "severity", s) for r in routing.receivers for s in r.severities]
    return [
        Route(r.name, label, value, tuple(format_duration(t) for t in _timing(r)))  # type: ignore[arg-type]
        for r, label, value in pairs
    ]


def config(spec: m.Spec) -> dict[str, Any]:
    assert spec.routing is not None
    routing = spec.routing
    wait, interval, repeat = ROOT_TIMING
    routes = [
        {
            "receiver": r.receiver,
            "matchers": [f'{r.label}="{r.value}"'],
            **dict(zip(("group_wait", "group_interval", "repeat_interval"), r.timing, strict=True)),
        }
        for r in _routes(routing)
    ]
    return {
        "route": {
            "receiver": _default_receiver(routing),
            "group_by": _group_by(routing),
            "group_wait": format_duration(wait),
            "group_interval": format_duration(interval),
            "repeat_interval": format_duration(repeat),
            "routes": routes,
        },
        "inhibit_rules": [
            {
                "source_matchers": [f'severity="{stronger}"'],
                "target_matchers": [f'severity="{weaker}"'],
                "equal": ["alertname", "service"],
            }
            for index, stronger in enumerate(SEVERITY_ORDER)
            for weaker in SEVERITY_ORDER[:index]
        ],
        "receivers": [_receiver(r) for r in routing.receivers],
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
        integration = {
            "webhook_configs": [{"url_file": settings["urlFile"], "send_resolved": True}]
        }
    return {"name": receiver.name, **integration}


# --- Prometheus Operator -----------------------------------------------------------------


def secret_name(spec: m.Spec) -> str:
    return f"{spec.service.name}-alertmanager"


def _secret(spec: m.Spec, path: str) -> dict[str, str]:
    """A file the spec names becomes the key of that name in the service's Secret."""
    return {"name": secret_name(spec), "key": PurePosixPath(path).name}


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
        "webhookConfigs": [{"urlSecret": _secret(spec, settings["urlFile"]), "sendResolved": True}],
    }


def operator_config(spec: m.Spec) -> dict[str, Any]:
    assert spec.routing is not None
    routing = spec.routing
    wait, interval, repeat = ROOT_TIMING
    routes = [
        {
            "receiver": r.receiver,
            "matchers": [{"name": r.label, "value": r.value, "matchType": "="}],
            **dict(zip(("groupWait", "groupInterval", "repeatInterval"), r.timing, strict=True)),
        }
        for r in _routes(routing)
    ]
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": metadata(spec, f"{spec.service.name}-routing", "alerting"),
        "spec": {
            "route": {
                "receiver": _default_receiver(routing),
                "groupBy": _group_by(routing),
                "groupWait": format_duration(wait),
                "groupInterval": format_duration(interval),
                "repeatInterval": format_duration(repeat),
                "routes": routes,
            },
            "inhibitRules": [
                {
                    "sourceMatch": [{"name": "severity", "value": stronger, "matchType": "="}],
                    "targetMatch": [{"name": "severity", "value": weaker, "matchType": "="}],
                    "equal": ["alertname", "service"],
                }
                for index, stronger in enumerate(SEVERITY_ORDER)
                for weaker in SEVERITY_ORDER[:index]
            ],
            "receivers": [_operator_receiver(spec, r) for r in routing.receivers],
        },
    }
