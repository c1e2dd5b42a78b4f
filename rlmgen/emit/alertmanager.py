"""Alertmanager routing from the spec: `alertmanager/alertmanager.yaml` and, for the
Prometheus Operator, `kubernetes/alertmanager-config.yaml`.

Every rule rlmgen emits carries a `route` label naming its receiver, so the route tree
matches that label exactly; severity routes follow for alerts from other rule files.
Secrets are never inline: the config reads them from the files the spec names (the
Operator variant from a Secret, keyed by those files' names)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from rlmgen.derive.kubernetes import metadata
from rlmgen.derive.rules import Rules
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.conventions import (
    ALERTMANAGER_CONFIG_PATH,
    ALERTMANAGER_PATH,
    SEVERITIES,
    SEVERITY_LABEL,
)
from rlmgen.model.routing import ROOT_TIMING, Route, default_receiver, group_by, routes
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


def config(routing: m.Routing) -> dict[str, Any]:
    return {
        "route": {
            "receiver": default_receiver(routing),
            "group_by": group_by(routing),
            **_timing(None, _TIMING_KEYS),
            "routes": [
                {
                    "receiver": r.receiver,
                    "matchers": [f'{r.label}="{r.value}"'],
                    **_timing(r, _TIMING_KEYS),
                }
                for r in routes(routing)
            ],
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
                "routes": [
                    {
                        "receiver": r.receiver,
                        "matchers": [matcher(r.label, r.value)],
                        **_timing(r, _OPERATOR_TIMING_KEYS),
                    }
                    for r in routes(routing)
                ],
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
        },
    }
