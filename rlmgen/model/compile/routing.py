"""Routing: unique receivers, each severity taken by one receiver, a declared default.
(One integration per receiver is the schema's oneOf.)"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal, cast

from rlmgen.lang.versions import WEBHOOK_URL_FILE, shown
from rlmgen.model import types as m
from rlmgen.model.compile import references
from rlmgen.model.compile.references import Declared
from rlmgen.model.compile.walk import Node, Walk

KINDS = ("pagerduty", "slack", "email", "webhook")


def compile_routing(
    walk: Walk, root: Node, declared: Declared, targets: m.Targets
) -> m.Routing | None:
    if "routing" not in root:
        return None
    node = root.mapping("routing")
    entries = node.items("receivers")
    references.unique(walk, entries, "name", "receiver")
    taken: dict[str, str] = {}
    receivers = []
    for entry in entries:
        name = entry.text("name")
        severities = entry.get("severities")
        if isinstance(severities.value, list):
            for index, severity in enumerate(severities.value):
                if not isinstance(severity, str):
                    continue
                if severity in taken and taken[severity] != (name or "?"):
                    walk.error(
                        f"{severities.pointer}/{index}",
                        f"severity '{severity}' is already routed to '{taken[severity]}'",
                        "give each severity one receiver; use 'route' on an alert to override",
                    )
                taken.setdefault(severity, name or "?")
        if (receiver := _receiver(entry)) is not None:
            receivers.append(receiver)
            _check_version(walk, entry, receiver, targets)
    if default := node.text("default"):
        references.check_receiver(walk, declared, node.at("default"), default)
    return m.Routing(
        default=node.text("default"),
        group_by=node.strings("groupBy"),
        receivers=tuple(receivers),
    )


def _receiver(entry: Node) -> m.Receiver | None:
    name = entry.text("name")
    kinds = [kind for kind in KINDS if isinstance(entry.value.get(kind), dict)]
    wait, interval, repeat = (
        entry.duration(key) for key in ("groupWait", "groupInterval", "repeatInterval")
    )
    for key, seconds in (("groupInterval", interval), ("repeatInterval", repeat)):
        if seconds == 0:  # Alertmanager refuses a zero interval
            entry.walk.error(entry.at(key), f"'{key}' must be longer than 0s")
    if name is None or len(kinds) != 1:
        return None  # the schema pass reported the form
    kind = cast(Literal["pagerduty", "slack", "email", "webhook"], kinds[0])
    settings = {k: v for k, v in entry.value[kind].items() if isinstance(v, str)}
    return m.Receiver(
        name=name,
        title=entry.text("title"),
        kind=kind,
        settings=MappingProxyType(dict(sorted(settings.items()))),
        severities=entry.strings("severities"),
        group_wait=wait,
        group_interval=interval,
        repeat_interval=repeat,
    )


def _check_version(walk: Walk, entry: Node, receiver: m.Receiver, targets: m.Targets) -> None:
    """A receiver reads its secrets from files the targeted Alertmanager can read."""
    if (
        receiver.kind == "webhook"
        and "urlFile" in receiver.settings
        and targets.alertmanager < WEBHOOK_URL_FILE
    ):
        walk.error(
            entry.at("webhook") + "/urlFile",
            f"Alertmanager {shown(targets.alertmanager)} reads a webhook's URL only from its "
            f"configuration (url_file came in {shown(WEBHOOK_URL_FILE)}), and rlmgen keeps "
            "secrets out of what it writes",
            f"set targets.alertmanager to {shown(WEBHOOK_URL_FILE)} or later; or, if the URL "
            "holds no secret, write url: instead of urlFile",
        )
