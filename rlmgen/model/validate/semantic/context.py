"""Shared state of the semantic checks: the document, indexes of what it declares,
and defensive accessors (the schema pass may have found wrong types anywhere)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from rlmgen.lang import promql
from rlmgen.lang.units import SERIES_UNITS, SeriesUnit, UnitError, format_duration, parse_duration
from rlmgen.spec.diagnostics import Diagnostic, join_pointer
from rlmgen.spec.loader import LoadedSpec

# Series every Prometheus has, which no spec needs to declare.
BUILTIN_SERIES = frozenset(
    {
        "up",
        "ALERTS",
        "ALERTS_FOR_STATE",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    }
)
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def items(value: Any, base: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(pointer, mapping) for each mapping in a list; anything else is skipped."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield join_pointer(base, index), item


def mapping_at(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """The mapping under `key`, or an empty one when it is absent or not a mapping."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def text(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) and value else None


class Context:
    def __init__(self, spec: LoadedSpec, *, strict: bool = False):
        self.spec = spec
        self.strict = strict
        # (alert name, sorted labels) -> pointer of the first alert with them
        self.alert_identities: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
        self.doc: dict[str, Any] = spec.data
        self.found: list[Diagnostic] = []
        self.metrics: dict[str, dict[str, Any]] = {}
        self.series: set[str] = set()  # names an expression may select
        self.receivers: dict[str, dict[str, Any]] = {}
        self.playbooks: set[str] = set()
        # Without a metrics list (absent, or misspelled and reported by the schema pass)
        # every reference would be "undeclared": check references only against a list.
        self.checks_references = isinstance(self.doc.get("metrics"), list)
        self._index()

    def _index(self) -> None:
        for _, metric in items(self.doc.get("metrics"), "/metrics"):
            name = text(metric, "name")
            if name is None:
                continue
            self.metrics.setdefault(name, metric)
            self.series.add(name)
            if metric.get("type") in ("histogram", "summary"):
                self.series.update(name + suffix for suffix in _HISTOGRAM_SUFFIXES)
            if metric.get("type") == "counter" and not name.endswith("_total"):
                self.series.add(name + "_total")
            if record := text(metric, "record"):
                self.series.add(record)
        routing = self.doc.get("routing")
        if isinstance(routing, dict):
            for _, receiver in items(routing.get("receivers"), "/routing/receivers"):
                if name := text(receiver, "name"):
                    self.receivers.setdefault(name, receiver)
        runbook = self.doc.get("runbook")
        if isinstance(runbook, dict):
            for _, playbook in items(runbook.get("playbooks"), "/runbook/playbooks"):
                if pid := text(playbook, "id"):
                    self.playbooks.add(pid)

    # --- reporting ------------------------------------------------------------------
    def error(self, pointer: str, message: str, hint: str = "", *, at_key: bool = False) -> None:
        self.found.append(self.spec.diagnostic(pointer, message, hint, at_key=at_key))

    def warning(self, pointer: str, message: str, hint: str = "") -> None:
        self.found.append(self.spec.diagnostic(pointer, message, hint, severity="warning"))

    def error_at(self, pointer: str, fragment: str, message: str, hint: str = "") -> None:
        line, col = self.spec.position_in_value(pointer, fragment)
        self.found.append(Diagnostic(self.spec.path, line, col, pointer, message, hint))

    # --- shared checks ----------------------------------------------------------------
    def unit_of(self, metric: dict[str, Any]) -> SeriesUnit | None:
        unit = metric.get("unit")
        return SERIES_UNITS.get(unit) if isinstance(unit, str) else None

    def duration(self, mapping: dict[str, Any], key: str) -> float | None:
        """Seconds of a well-formed duration field (malformed ones were already reported)."""
        value = mapping.get(key)
        if not isinstance(value, str):
            return None
        try:
            return parse_duration(value)
        except UnitError:
            return None

    def unique(self, entries: Iterator[tuple[str, dict[str, Any]]], key: str, what: str) -> None:
        """Report every entry whose `key` repeats an earlier one's."""
        seen: dict[str, str] = {}
        for pointer, entry in entries:
            value = text(entry, key)
            if value is None:
                continue
            if value in seen:
                first = self.spec.source_map.value(join_pointer(seen[value], key))
                self.error(
                    join_pointer(pointer, key),
                    f"duplicate {what} '{value}'",
                    f"first used at line {first[0]}",
                )
            else:
                seen[value] = pointer

    def check_series(self, pointer: str, expr: str) -> None:
        """Every series a valid expression selects must be declared under metrics."""
        if not self.checks_references or promql.check(expr) is not None:
            return  # nothing to check against, or reported by the schema pass
        for name in promql.series_names(expr):
            if name in self.series or name in BUILTIN_SERIES:
                continue
            close = difflib.get_close_matches(name, sorted(self.series), n=1, cutoff=0.75)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else f"declare it under metrics: - name: {name}"
            )
            self.error_at(pointer, name, f"'{name}' is not a declared metric", hint)

    def min_hold(self) -> tuple[float, str]:
        """The shortest useful non-zero `for`: the longer of scrape and evaluation interval."""
        service = self.doc.get("service")
        service = service if isinstance(service, dict) else {}
        scrape = self.duration(service, "scrapeInterval") or 60.0
        evaluation = self.duration(service, "evaluationInterval") or 60.0
        return (scrape, "scrape") if scrape >= evaluation else (evaluation, "evaluation")

    def check_hold(self, pointer: str, value: object, minimum: float, which: str) -> None:
        hold = None
        if isinstance(value, str):
            try:
                hold = parse_duration(value)
            except UnitError:
                return
        if hold is not None and 0 < hold < minimum:
            self.warning(
                pointer,
                f"'for: {value}' is shorter than the {which} interval "
                f"({format_duration(minimum)}), so it cannot hold the alert back",
                f"use at least {format_duration(minimum)}, or 0s to fire at once",
            )

    def register_alert(self, pointer: str, name: str, labels: dict[str, str]) -> None:
        """Report a second alert with the same name and labels as an earlier one."""
        identity = (name, tuple(sorted(labels.items())))
        if identity in self.alert_identities:
            first = self.spec.source_map.value(self.alert_identities[identity])
            self.error(
                pointer,
                f"alert '{name}' is defined twice with the same labels",
                f"first at line {first[0]}; give them different severities or labels",
            )
        else:
            self.alert_identities[identity] = pointer

    def check_receiver(self, pointer: str, name: str) -> None:
        if name in self.receivers:
            return
        if not self.receivers:
            self.error(
                pointer,
                f"route '{name}' refers to a receiver, but the spec declares none",
                "declare it under routing.receivers",
            )
            return
        close = difflib.get_close_matches(name, sorted(self.receivers), n=1, cutoff=0.6)
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else f"declared receivers: {', '.join(sorted(self.receivers))}"
        )
        self.error(pointer, f"'{name}' is not a declared receiver", hint)

    def check_playbook(self, pointer: str, name: str) -> None:
        if name not in self.playbooks:
            close = difflib.get_close_matches(name, sorted(self.playbooks), n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else "declare it under runbook.playbooks"
            self.error(pointer, f"'{name}' is not a declared playbook", hint)

    def check_metric_ref(self, pointer: str, name: str) -> dict[str, Any] | None:
        if name in self.metrics or not self.checks_references:
            return self.metrics.get(name)
        close = difflib.get_close_matches(name, sorted(self.metrics), n=1, cutoff=0.75)
        hint = (
            f"did you mean '{close[0]}'?" if close else f"declare it under metrics: - name: {name}"
        )
        self.error(pointer, f"'{name}' is not a declared metric", hint)
        return None
