"""Routing: unique receivers, each severity taken by one receiver (per match; receivers
that continue take copies), declared time intervals, a declared default.
(One integration per receiver is the schema's oneOf.)"""

from __future__ import annotations

import posixpath
from types import MappingProxyType
from typing import Literal, cast

from rlmgen.lang import timezones
from rlmgen.lang.versions import WEBHOOK_URL_FILE, shown
from rlmgen.model import types as m
from rlmgen.model.compile import references
from rlmgen.model.compile.labels import check_label_value
from rlmgen.model.compile.references import Declared
from rlmgen.model.compile.walk import Node, Walk
from rlmgen.model.conventions import ALERT_LABELS, ALERTMANAGER_CONFIG_PATH, ROUTE_LABEL
from rlmgen.model.routing import (
    OPERATOR_SECRETS,
    SECRET_FILE_SETTINGS,
    secret_reference,
    service_secret,
)
from rlmgen.spec.suggest import did_you_mean

KINDS = ("pagerduty", "slack", "email", "webhook")


def compile_routing(
    walk: Walk, root: Node, declared: Declared, targets: m.Targets
) -> m.Routing | None:
    if "routing" not in root:
        return None
    node = root.mapping("routing")
    entries = node.items("receivers")
    references.unique(walk, entries, "name", "receiver")
    intervals = _time_intervals(walk, node)
    taken: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
    secrets: dict[tuple[str, str], str] = {}  # (Secret, key): the file read there
    service_name = root.mapping("service").text("name") or "?"
    receivers = []
    for entry in entries:
        name = entry.text("name")
        severities = entry.get("severities")
        match = tuple(sorted(entry.labels("match").items()))
        for label, value in match:  # Alertmanager matchers quote the value; no braces
            check_label_value(walk, f"{entry.at('match')}/{label}", value)
        continues = entry.flag("continue", False)
        if isinstance(severities.value, list) and not continues:
            for index, severity in enumerate(severities.value):
                if not isinstance(severity, str):
                    continue
                taker = (severity, match)
                if taker in taken and taken[taker] != (name or "?"):
                    walk.error(
                        f"{severities.pointer}/{index}",
                        f"severity '{severity}' is already routed to '{taken[taker]}'"
                        + (" for the same match" if match else ""),
                        f"to notify both, set continue: true on '{name}' (it then gets a copy "
                        f"of each alert it takes); to split them, give one a match; "
                        "or use 'route' on an alert to override",
                        check="routing/severity-taken",
                    )
                taken.setdefault(taker, name or "?")
        for key in ("activeTimeIntervals", "muteTimeIntervals"):
            for index, written in enumerate(entry.strings(key)):
                if written not in intervals:
                    walk.error(
                        f"{entry.at(key)}/{index}",
                        f"'{written}' is not a time interval of routing.timeIntervals",
                        did_you_mean(written, intervals)
                        or "declare it under routing.timeIntervals",
                        check="references/unknown-time-interval",
                    )
        if (receiver := _receiver(entry)) is not None:
            receivers.append(receiver)
            _check_version(walk, entry, receiver, targets)
            _check_secret_keys(walk, entry, receiver, service_secret(service_name), secrets)
    if default := node.text("default"):
        references.check_receiver(walk, declared, node.at("default"), default)
    if walk.route_label != node.text("routeLabel") and "routeLabel" in node:
        walk.error(
            node.at("routeLabel"),
            f"'{node.text('routeLabel')}' is a label rlmgen sets on every alert already "
            f"({', '.join(sorted(ALERT_LABELS))}) or Prometheus' own",
            "choose another name, such as receiver",
            check="labels/reserved",
        )
    return m.Routing(
        default=node.text("default"),
        group_by=node.strings("groupBy"),
        receivers=tuple(receivers),
        time_intervals=tuple(intervals.values()),
        route_label=walk.route_label,
    )


def route_label(routing: Node) -> str:
    """The label every alert names its receiver in: routing.routeLabel, unless that is
    one rlmgen or Prometheus sets otherwise (reported by compile_routing)."""
    name = routing.text("routeLabel")
    if name is None or (name in ALERT_LABELS and name != ROUTE_LABEL) or name.startswith("__"):
        return ROUTE_LABEL
    return name


def _time_intervals(walk: Walk, node: Node) -> dict[str, m.TimeInterval]:
    found: dict[str, m.TimeInterval] = {}
    entries = node.items("timeIntervals")
    references.unique(walk, entries, "name", "time interval")
    for entry in entries:
        name = entry.text("name")
        ranges = []
        for item in entry.items("intervals"):
            for time in item.items("times"):
                start, end = time.text("start"), time.text("end")
                if start and end and start >= end:
                    walk.error(
                        time.at("end"),
                        f"the range ends at {end}, not after its start {start}",
                        f"a range is within one day: across midnight, write two, {start}-24:00 "
                        f"and 00:00-{end}"
                        if start > end
                        else "a range is within one day and ends after its start",
                        check="routing/invalid-time-range",
                    )
            location = item.text("location")
            if location is not None:
                _check_location(walk, item.at("location"), location)
            if isinstance(item.value, dict):
                ranges.append(MappingProxyType(dict(item.value)))
        if name:
            found[name] = m.TimeInterval(name, tuple(ranges))
    return found


def _check_location(walk: Walk, pointer: str, location: str) -> None:
    """A location Alertmanager loads (it refuses the whole configuration otherwise), and
    what the Operator's copy makes of it."""
    if location not in timezones.known_zones():
        walk.error(
            pointer,
            f"'{location}' is not a time zone Alertmanager knows (the IANA time zone "
            "database): it would refuse the whole configuration",
            (
                f"'{location}' is an abbreviation: write the zone, such as "
                f"{timezones.ABBREVIATIONS[location]} (with its daylight saving time)"
            )
            if location in timezones.ABBREVIATIONS
            else did_you_mean(location, timezones.known_zones())
            or "a zone such as Europe/Berlin, America/New_York or UTC",
            check="routing/unknown-location",
        )
    elif not timezones.always_utc(location):
        walk.warning(
            pointer,
            "the Prometheus Operator's AlertmanagerConfig has no location (prometheus-operator "
            f"issue 5512): in {ALERTMANAGER_CONFIG_PATH} these times are UTC, not {location}",
            "if you deploy alertmanager/alertmanager.yaml or the environment's _cluster "
            "configuration, which keep it, disable this check here; else write the times in UTC",
            check="routing/operator-location",
        )


def _receiver(entry: Node) -> m.Receiver | None:
    name = entry.text("name")
    kinds = [kind for kind in KINDS if isinstance(entry.value.get(kind), dict)]
    wait, interval, repeat = (
        entry.duration(key) for key in ("groupWait", "groupInterval", "repeatInterval")
    )
    for key, seconds in (("groupInterval", interval), ("repeatInterval", repeat)):
        if seconds == 0:  # Alertmanager refuses a zero interval
            entry.walk.error(
                entry.at(key), f"'{key}' must be longer than 0s", check="durations/zero"
            )
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
        continues=entry.flag("continue", False),
        match=MappingProxyType(dict(sorted(entry.labels("match").items()))),
        active_intervals=entry.strings("activeTimeIntervals"),
        mute_intervals=entry.strings("muteTimeIntervals"),
    )


def _check_secret_keys(
    walk: Walk,
    entry: Node,
    receiver: m.Receiver,
    own_secret: str,
    secrets: dict[tuple[str, str], str],
) -> None:
    """Each Secret key an AlertmanagerConfig reads holds one file's secret: two different
    files that would be read from the same key would send one receiver's secret with
    another's notifications."""
    for setting in SECRET_FILE_SETTINGS:
        path = receiver.settings.get(setting)
        if path is None:
            continue
        secret, key = secret_reference(path)
        reference = (secret or own_secret, key)
        first = secrets.setdefault(reference, path)
        if posixpath.normpath(first) == posixpath.normpath(path):
            continue
        walk.error(
            f"{entry.at(receiver.kind)}/{setting}",
            f"'{path}' and '{first}' would both be read from key '{key}' of Secret "
            f"'{reference[0]}' (the Prometheus Operator's AlertmanagerConfig reads secrets "
            "from Secret keys)",
            f"name the files differently, or mount them as the Operator does: "
            f"{OPERATOR_SECRETS}/<secret>/<key> is key <key> of Secret <secret>",
            check="routing/secret-key-clash",
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
            check="routing/webhook-url-file",
        )
