"""Value-level checks plugged into JSON Schema `format`: each raises FormatProblem
with a message for the spec author, so they are reported with the schema errors."""

from __future__ import annotations

from jsonschema import FormatChecker

from rlmgen.lang import promql
from rlmgen.lang.levels import parse_level
from rlmgen.lang.units import UnitError, parse_duration, parse_quantity


class FormatProblem(Exception):
    def __init__(self, message: str, hint: str = "", fragment: str = "", occurrence: int = 0):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.fragment = fragment  # text inside the value to point at
        self.occurrence = occurrence


def _unit_problem(exc: UnitError) -> FormatProblem:
    return FormatProblem(exc.message, exc.hint)


def check_duration(value: object) -> bool:
    if isinstance(value, str):
        try:
            parse_duration(value)
        except UnitError as exc:
            raise _unit_problem(exc) from None
    return True


def check_promql(value: object) -> bool:
    if isinstance(value, str) and value.strip():
        problem = promql.check(value)
        if problem is not None:
            occurrence = value[: problem.offset].count(problem.fragment)
            raise FormatProblem(problem.message, problem.hint, problem.fragment, occurrence)
    return True


def _level_checker(allow_qualitative: bool):  # type: ignore[no-untyped-def]
    def check(value: object) -> bool:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            try:
                # Units are checked against the metric later; here only the shape.
                parse_level(value, None, has_limit=None, allow_qualitative=allow_qualitative)
            except UnitError as exc:
                raise _unit_problem(exc) from None
        return True

    return check


def check_quantity(value: object) -> bool:
    if isinstance(value, str):
        try:
            parse_quantity(value)
        except UnitError as exc:
            raise _unit_problem(exc) from None
    return True


def format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("duration", raises=FormatProblem)(check_duration)
    checker.checks("promql", raises=FormatProblem)(check_promql)
    checker.checks("level", raises=FormatProblem)(_level_checker(False))
    checker.checks("target-level", raises=FormatProblem)(_level_checker(True))
    checker.checks("quantity", raises=FormatProblem)(check_quantity)
    return checker
