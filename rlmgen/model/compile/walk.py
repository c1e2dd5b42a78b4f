"""The state of one compile walk: the document with its source map, the diagnostics found
so far, and typed, located access to values that the schema pass may have found wrong.

Every accessor returns None (or an empty value) for a value of the wrong type: the JSON
Schema pass has reported it, and the walk goes on so that one run reports everything.
Values with a language of their own (durations, PromQL) are parsed here, once, and a
problem with them is reported where it is, inside the value when it can be."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from rlmgen.lang import promql
from rlmgen.lang.units import UnitError, parse_duration
from rlmgen.lang.versions import EXPERIMENTAL_FUNCTIONS, PROMTOOL_EXPERIMENTAL, shown
from rlmgen.model.conventions import ROUTE_LABEL
from rlmgen.model.types import Targets
from rlmgen.spec.diagnostics import Diagnostic, Severity, join_pointer
from rlmgen.spec.loader import LoadedSpec

Labels = Mapping[str, str]
EMPTY_LABELS: Labels = MappingProxyType({})


# The checks a walk makes only when strict (what no test proves): a run without --strict
# does not report a suppression of one of them as unused.
STRICT_ONLY_CHECKS = frozenset({"alerts/untested", "metrics/untested", "slo/untested"})


class Walk:
    """Where diagnostics go, and how they are located."""

    def __init__(self, spec: LoadedSpec, *, strict: bool = False) -> None:
        self.spec = spec
        self.strict = strict
        self.diagnostics: list[Diagnostic] = []
        # every PromQL text parsed, by pointer: the label checks read them, not reparse
        self.queries: dict[str, promql.Query] = {}
        # recorded series whose rule reads the clock (time(), timestamp()), by name
        self.clock_records: set[str] = set()
        self.targets = Targets()  # the PromQL a text is checked as
        self.route_label = ROUTE_LABEL  # the label alerts name their receiver in

    def report(
        self,
        pointer: str,
        message: str,
        hint: str = "",
        *,
        check: str,
        at_key: bool = False,
        severity: Severity = "error",
    ) -> None:
        self.diagnostics.append(
            self.spec.diagnostic(
                pointer, message, hint, check=check, at_key=at_key, severity=severity
            )
        )

    def error(
        self, pointer: str, message: str, hint: str = "", *, check: str, at_key: bool = False
    ) -> None:
        self.report(pointer, message, hint, check=check, at_key=at_key)

    def warning(self, pointer: str, message: str, hint: str = "", *, check: str) -> None:
        self.report(pointer, message, hint, check=check, severity="warning")

    def error_in_value(
        self,
        pointer: str,
        fragment: str,
        message: str,
        hint: str = "",
        occurrence: int = 0,
        *,
        check: str,
    ) -> None:
        """An error located at `fragment` inside the scalar at `pointer`."""
        self.diagnostics.append(
            self.spec.diagnostic_in_value(pointer, fragment, message, hint, occurrence, check=check)
        )

    def warning_in_value(
        self, pointer: str, fragment: str, message: str, hint: str = "", *, check: str
    ) -> None:
        """A warning located at `fragment` inside the scalar at `pointer`."""
        self.diagnostics.append(
            self.spec.diagnostic_in_value(
                pointer, fragment, message, hint, check=check, severity="warning"
            )
        )

    def line_of(self, pointer: str) -> int:
        return self.spec.line_of(pointer)

    def root(self) -> Node:
        return Node(self, self.spec.data, "")


class Node:
    """A value of the document and its JSON pointer."""

    __slots__ = ("pointer", "value", "walk")

    def __init__(self, walk: Walk, value: Any, pointer: str) -> None:
        self.walk = walk
        self.value = value
        self.pointer = pointer

    # --- structure --------------------------------------------------------------------
    def at(self, key: str) -> str:
        """The pointer of `key` under this node."""
        return join_pointer(self.pointer, key)

    def __contains__(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value

    def get(self, key: str) -> Node:
        """The child `key` (its value None when absent or when this is not a mapping)."""
        value = self.value.get(key) if isinstance(self.value, dict) else None
        return Node(self.walk, value, self.at(key))

    def mapping(self, key: str) -> Node:
        """The child `key` when it is a mapping, else an empty mapping."""
        child = self.get(key)
        return child if isinstance(child.value, dict) else Node(self.walk, {}, child.pointer)

    def items(self, key: str) -> list[Node]:
        """The mappings in the list under `key` (anything else in it is skipped)."""
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if not isinstance(value, list):
            return []
        base = self.at(key)
        return [
            Node(self.walk, item, join_pointer(base, index))
            for index, item in enumerate(value)
            if isinstance(item, dict)
        ]

    def is_list(self, key: str) -> bool:
        return isinstance(self.value, dict) and isinstance(self.value.get(key), list)

    # --- scalars ----------------------------------------------------------------------
    def text(self, key: str) -> str | None:
        """A non-empty string."""
        value = self.value.get(key) if isinstance(self.value, dict) else None
        return value if isinstance(value, str) and value else None

    def flag(self, key: str, default: bool) -> bool:
        value = self.value.get(key) if isinstance(self.value, dict) else None
        return value if isinstance(value, bool) else default

    def integer(self, key: str) -> int | None:
        """A whole number; YAML's `100.0` is the integer JSON Schema takes it for."""
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if isinstance(value, bool):
            return None
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) else None

    def number(self, key: str) -> float | None:
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if not isinstance(value, list):
            return ()
        return tuple(item for item in value if isinstance(item, str))

    def labels(self, key: str) -> Labels:
        """A label mapping, sorted by name."""
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if not isinstance(value, dict) or not value:
            return EMPTY_LABELS
        return MappingProxyType(
            dict(sorted((k, v) for k, v in value.items() if isinstance(v, str)))
        )

    # --- values with a language of their own --------------------------------------------
    def duration(self, key: str) -> float | None:
        """Seconds of the duration under `key`; None (reported) when it is not one."""
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if not isinstance(value, str):
            return None
        try:
            return parse_duration(value)
        except UnitError as exc:
            self.walk.error(self.at(key), exc.message, exc.hint, check=exc.check)
            return None

    def promql(self, key: str, *, dashboard: bool = False) -> promql.Query | None:
        """The parsed PromQL under `key`; None (reported inside the value) when invalid.
        A dashboard's query may hold Grafana's macros and variables; a rule's may not."""
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if not isinstance(value, str) or not value.strip():
            return None
        if not dashboard and (macro := promql.GRAFANA_MACRO.search(value)):
            self.walk.error_in_value(
                self.at(key),
                macro.group(),
                f"'{macro.group()}' is Grafana's: it works in dashboards, never in rules",
                "write a duration, such as [5m]",
                check="promql/grafana-macro",
            )
            return None
        text = promql.for_dashboards(value) if dashboard else value
        targets = self.walk.targets
        result = promql.analyse(text, targets.prometheus)
        if text != value and isinstance(result, promql.Query):
            result = dataclasses.replace(result, text=value)
        if isinstance(result, promql.PromQLProblem):
            occurrence = value[: result.offset].count(result.fragment)
            self.walk.error_in_value(
                self.at(key),
                result.fragment,
                result.message,
                result.hint,
                occurrence,
                check=result.check,
            )
            return None
        if result.experimental and EXPERIMENTAL_FUNCTIONS not in targets.features:
            self.walk.error_in_value(
                self.at(key),
                result.experimental[0],
                f"'{result.experimental[0]}' is experimental: Prometheus refuses it unless "
                f"started with --enable-feature={EXPERIMENTAL_FUNCTIONS}",
                f"if yours is, list {EXPERIMENTAL_FUNCTIONS} in targets.features",
                check="promql/experimental",
            )
            return None
        self.walk.queries[self.at(key)] = result
        if not dashboard and (variable := promql.dashboard_variable(value)):
            self.walk.warning_in_value(
                self.at(key),
                variable,
                f"'{variable}' is a dashboard variable: outside a dashboard it is the literal "
                "text, so this matcher compares series with it",
                'write the values the rule needs (several: a regex, =~"a|b"), or drop the matcher',
                check="promql/dashboard-variable",
            )
        if result.experimental and targets.prometheus < PROMTOOL_EXPERIMENTAL:
            self.walk.warning(
                self.at(key),
                f"'{result.experimental[0]}' is experimental: promtool check rules rejects "
                f"it before Prometheus {shown(PROMTOOL_EXPERIMENTAL)}, whatever the flags",
                "so the rules and their tests cannot be checked by the target's promtool",
                check="promql/experimental",
            )
        return result
