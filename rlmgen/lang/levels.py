"""The threshold levels of a metric: `< 100ms`, `40-60%`, `> 20% increase`, `Growth`."""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal
from typing import Literal

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.lang.units import (
    PROMETHEUS_DURATION,
    Quantity,
    SeriesUnit,
    UnitError,
    check_dimension,
    parse_quantity_or_duration,
)

LevelKind = Literal[
    "above", "below", "exact", "band", "outside", "increase", "decrease", "qualitative"
]

_OPERATORS: dict[str, LevelKind] = {
    ">": "above",
    ">=": "above",
    "above": "above",
    "over": "above",
    "<": "below",
    "<=": "below",
    "below": "below",
    "under": "below",
}
_OP = r"(?P<op>>=|<=|>|<|above|below|over|under)"
# a number with a unit, or a Prometheus duration of several units (2h30m)
_QTY = (
    rf"(?P<qty>{PROMETHEUS_DURATION}(?![0-9A-Za-z])"
    r"|\$?[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*[A-Za-zµ%/]*)"
)
# a band's bound: a number may have an exponent (1e-3), and `e` and digits after a number
# are that exponent, never a unit (which would read `1e-3` as the band 1e to 3)
_BOUND = (
    rf"(?:{PROMETHEUS_DURATION}(?![0-9A-Za-z])"
    r"|\$?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*(?![eE][-+]?[0-9])[A-Za-zµ%/]*)"
)
_OF_LIMIT = r"(?P<limit>\s+(?:of\s+)?limit)?"
_ONE_SIDED = re.compile(rf"^{_OP}\s*{_QTY}{_OF_LIMIT}$", re.IGNORECASE)
_EXACT = re.compile(rf"^{_QTY}{_OF_LIMIT}$")
_BAND = re.compile(
    rf"^(?P<low>{_BOUND})\s*(?:-|–|\.\.|to)\s*(?P<high>{_BOUND})$",
    re.IGNORECASE,
)
_OUTSIDE = re.compile(r"^(?:outside|not in)\s+(?P<band>.+)$", re.IGNORECASE)
_CHANGE_WORDS: dict[str, LevelKind] = {
    "increase": "increase",
    "rise": "increase",
    "spike": "increase",
    "drop": "decrease",
    "decrease": "decrease",
    "fall": "decrease",
}
_CHANGE = r"(?P<change>increase|rise|spike|drop|decrease|fall)"
_PCT = r"(?P<pct>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*%"
_RELATIVE_AFTER = re.compile(rf"^(?:>|>=|above|over)?\s*{_PCT}\s+{_CHANGE}$", re.IGNORECASE)
_RELATIVE_BEFORE = re.compile(
    rf"^(?:sudden\s+)?{_CHANGE}\s*(?:of\s+|>=|>|above|over)?\s*{_PCT}$", re.IGNORECASE
)
_COMPARISON_LIKE = re.compile(r"^\s*([<>=!]|[0-9]|\$|above|below|over|under)", re.IGNORECASE)


@dataclass(frozen=True)
class Level:
    """A parsed level. `value`/`high` are in the metric's sample unit.

    above/below/exact: `value`; band (a target) and outside (an alert level, firing below
    `value` or above `high`): `value`..`high`; increase/decrease: `value` is
    the relative change as a ratio (0.2 for 20%); qualitative: text only.
    """

    text: str
    kind: LevelKind
    value: float | None = None
    high: float | None = None
    of_limit: bool = False
    inclusive: bool = False  # `>=` / `<=`: a value exactly on the level is past it

    @property
    def is_threshold(self) -> bool:
        return self.kind in ("above", "below", "outside", "increase", "decrease")


def _quantity(text: str, unit: SeriesUnit | None, of_limit: bool) -> float:
    quantity: Quantity = parse_quantity_or_duration(text)
    if of_limit:
        if quantity.dimension not in ("fraction", None):
            raise UnitError(
                f"{text!r}: a level of the limit is a percentage or a ratio", check="levels/limit"
            )
        if quantity.dimension is None and quantity.base > 1:
            raise UnitError(
                f"{text!r}: the levels of a metric with a limit are shares of the limit, "
                f"and a bare {text} is {text} times it",
                "write a percentage of the limit, such as 80%",
                check="levels/limit",
            )
        return quantity.base
    check_dimension(quantity, unit, text)
    value = quantity.in_unit(unit)
    if not math.isfinite(value):
        raise UnitError(
            f"{text!r} is too large in the metric's unit",
            "write a smaller level",
            check="levels/out-of-range",
        )
    return value


def parse_level(
    raw: str | int | float,
    unit: SeriesUnit | None,
    *,
    has_limit: bool | None = False,
    allow_qualitative: bool = False,
) -> Level:
    """Parse one level; raise UnitError with a user-facing message when it cannot be.

    `has_limit` None checks the shape only (the metric is not known yet).
    """
    return _parsed(raw, unit, has_limit, allow_qualitative)


# A spec repeats its levels (`> 80%` on many metrics): each distinct one is parsed once.
# Typed: 1 and 1.0 are different texts. Errors are not cached; they are raised again.
@functools.lru_cache(maxsize=4096, typed=True)
def _parsed(
    raw: str | int | float,
    unit: SeriesUnit | None,
    has_limit: bool | None,
    allow_qualitative: bool,
) -> Level:
    if isinstance(raw, bool):
        raise UnitError(
            f"{raw!r} is not a level",
            'write it like "> 200ms" or "< 99.9%"',
            check="levels/invalid",
        )
    if isinstance(raw, int | float):
        try:
            value = float(raw)
        except OverflowError:  # an integer of hundreds of digits
            value = math.inf
        if not math.isfinite(value):
            raise UnitError(
                f"{_short(str(raw))} is not a level",
                "a level is a finite number",
                check="levels/invalid",
            )
        return Level(str(raw), "exact", value)
    text = " ".join(raw.split())
    if match := _RELATIVE_AFTER.match(text) or _RELATIVE_BEFORE.match(text):
        return Level(text, _CHANGE_WORDS[match["change"].lower()], float(match["pct"]) / 100)
    if match := _ONE_SIDED.match(text):
        of_limit = _check_limit(match, text, has_limit)
        kind = _OPERATORS[match["op"].lower()]
        value = _quantity(match["qty"], unit, of_limit)
        inclusive = match["op"] in (">=", "<=")
        return Level(text, kind, value, of_limit=of_limit, inclusive=inclusive)
    band_text, limit_written = _without_limit(text)
    if match := _BAND.match(band_text):
        of_limit = _band_of_limit(limit_written, text, has_limit)
        low, high = _band_bounds(match["low"], match["high"], None if of_limit else unit, text)
        return Level(text, "band", low, high, of_limit=of_limit)
    if (match := _OUTSIDE.match(band_text)) and (band := _BAND.match(match["band"])):
        of_limit = _band_of_limit(limit_written, text, has_limit)
        low, high = _band_bounds(band["low"], band["high"], None if of_limit else unit, text)
        return Level(text, "outside", low, high, of_limit=of_limit)
    if match := _EXACT.match(text):
        of_limit = _check_limit(match, text, has_limit)
        return Level(text, "exact", _quantity(match["qty"], unit, of_limit), of_limit=of_limit)
    if allow_qualitative and not _COMPARISON_LIKE.match(text):
        return Level(text, "qualitative")
    raise UnitError(
        f"{text!r} is not a level",
        _spaced_duration_hint(text, unit)
        or 'write "> 200ms", "< 99.9%", a band "40-60%" (a target) or "outside 30-70%", or '
        'a change "> 20% increase" / "drop > 50%"',
        check="levels/invalid",
    )


def _spaced_duration_hint(text: str, unit: SeriesUnit | None) -> str:
    """What was most likely meant, when a small rewrite makes `text` a level: `> 2h 30m`
    and `> 2h30` as Prometheus writes a duration (and in minutes), `≥ 4h` with `>=`."""
    for rewritten in _rewrites(text):
        if rewritten == text:
            continue
        try:
            level = parse_level(rewritten, unit, has_limit=None)
        except UnitError:
            continue
        match = _ONE_SIDED.match(rewritten)
        if level.value is None or match is None or (unit is not None and unit.dimension != "time"):
            return f'write "{rewritten}"'
        seconds = level.value * (unit.factor if unit is not None else 1.0)
        if seconds % 60 or not re.search(r"[0-9][a-z]+[0-9]", rewritten):
            return f'write "{rewritten}"'
        return f'write "{rewritten}" or "{match["op"]} {seconds / 60:g}m"'
    return ""


# A duration's next smaller unit: the one `2h30` leaves out.
_NEXT_UNIT = {"w": "d", "d": "h", "h": "m", "m": "s"}
_SIGNS = {"≥": ">=", "≤": "<=", "=>": ">=", "=<": "<=", "⩾": ">=", "⩽": "<="}


def _rewrites(text: str) -> list[str]:
    signed = re.sub("|".join(map(re.escape, _SIGNS)), lambda m: _SIGNS[m.group()], text)
    joined = re.sub(r"(?<=[a-z])\s+(?=[0-9])", "", signed)
    completed = re.sub(
        r"(?<=[0-9])(?P<unit>[wdhm])(?P<rest>[0-9]+)$",
        lambda m: f"{m['unit']}{m['rest']}{_NEXT_UNIT[m['unit']]}",
        joined,
    )
    return [signed, joined, completed]


def _short(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:20]}...{text[-10:]} ({len(text)} digits)"


def _check_limit(match: re.Match[str], text: str, has_limit: bool | None) -> bool:
    if has_limit is None:
        return bool(match["limit"])
    if match["limit"] and not has_limit:
        raise UnitError(
            f"{text!r} refers to a limit, but the metric declares no 'limit'",
            "add limit: <PromQL of the capacity> to the metric",
            check="levels/limit",
        )
    return bool(match["limit"]) or has_limit


_LIMIT_SUFFIX = re.compile(r"\s+(?:of\s+)?limit$", re.IGNORECASE)


def _without_limit(text: str) -> tuple[str, bool]:
    """A band's text without its `of limit` ending, and whether it had one."""
    stripped = _LIMIT_SUFFIX.sub("", text)
    return stripped, stripped != text


def _band_of_limit(written: bool, text: str, has_limit: bool | None) -> bool:
    """Whether a band is of the limit: as for one-sided levels, every level of a metric
    with a limit is a fraction of it."""
    if has_limit is None:
        return written
    if written and not has_limit:
        raise UnitError(
            f"{text!r} refers to a limit, but the metric declares no 'limit'",
            "add limit: <PromQL of the capacity> to the metric",
            check="levels/limit",
        )
    return written or has_limit


def _band_bounds(
    low_text: str, high_text: str, unit: SeriesUnit | None, text: str
) -> tuple[float, float]:
    low_q, high_q = parse_quantity_or_duration(low_text), parse_quantity_or_duration(high_text)
    if low_q.dimension is None and high_q.dimension is not None:
        # `40-60%`: the unit written once applies to both ends.
        low_q = parse_quantity_or_duration(low_text + high_text.lstrip("$0123456789.+-eE "))
    for q, t in ((low_q, low_text), (high_q, high_text)):
        check_dimension(q, unit, t)
    low, high = low_q.in_unit(unit), high_q.in_unit(unit)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise UnitError(
            f"{text!r} is too large in the metric's unit",
            "write a smaller band",
            check="levels/out-of-range",
        )
    if low >= high:
        raise UnitError(
            f"{text!r}: the low end of a band must be below the high end", check="levels/invalid"
        )
    return low, high


# --- relative levels over time ---------------------------------------------------------
# A relative level compares the value with its own average over the baseline window. After
# a sustained step change the average catches up, so the condition holds only for a share
# of the window: an increase of v that the value exceeds by `change` holds while the new
# value fills less than (change - v) / (change * (1 + v)) of the window (at most 1/(1 + v),
# for an infinite step); a drop holds while (change - v) / (change * (1 - v)) (at most the
# whole window, for a drop to zero).


def relative_factor(kind: LevelKind, change: float) -> float:
    """What a relative level multiplies the baseline average by: 1 + change for an
    increase, 1 - change for a drop, in decimal (a drop of 80% is 0.2, not 1 - 0.8's
    0.19999999999999996)."""
    step = Decimal(repr(change))
    return float(1 + step if kind == "increase" else 1 - step)


def hold_fraction(kind: LevelKind, threshold: float, change: float) -> float:
    """The share of the baseline window a relative level's condition holds after a step
    change of `change` (0.5: +50% for an increase, -50% for a drop)."""
    if change <= threshold:
        return 0.0
    other = 1 + threshold if kind == "increase" else 1 - threshold
    return (change - threshold) / (change * other)


def longest_hold_fraction(kind: LevelKind, threshold: float) -> float:
    """The supremum of `hold_fraction` over every step (a drop can go no lower than zero)."""
    return 1 / (1 + threshold) if kind == "increase" else 1.0


def change_for_hold(kind: LevelKind, threshold: float, fraction: float) -> float:
    """The step change whose condition holds for `fraction` of the window (the inverse of
    `hold_fraction`); `fraction` must be below `longest_hold_fraction`."""
    other = 1 + threshold if kind == "increase" else 1 - threshold
    return threshold / (1 - fraction * other)


def is_past(level: Level, value: float) -> bool:
    """Whether a value is past an alerting level, as the level's alert compares it: the
    measured value, or for a relative level its ratio to the baseline average."""
    if level.kind in ("increase", "decrease"):
        factor = relative_factor(level.kind, level.value or 0.0)
        return value > factor if level.kind == "increase" else value < factor
    low = level.value if level.value is not None else math.nan
    if level.kind == "outside":
        return value < low or value > (level.high if level.high is not None else math.nan)
    if level.kind == "above":
        return value >= low if level.inclusive else value > low
    if level.kind == "below":
        return value <= low if level.inclusive else value < low
    return False  # exact and qualitative levels raise no alert


def is_within(target: Level, value: float) -> bool | None:
    """Whether a value meets a target; None when the target is words (`Growth`) or a
    change, which one reading cannot judge."""
    low = target.value
    if low is None or target.kind in ("qualitative", "increase", "decrease"):
        return None
    if target.kind == "band":
        return low <= value <= (target.high if target.high is not None else low)
    if target.kind == "outside":
        return not (low <= value <= (target.high if target.high is not None else low))
    if target.kind == "above":
        return value >= low if target.inclusive else value > low
    if target.kind == "below":
        return value <= low if target.inclusive else value < low
    return math.isclose(value, low, rel_tol=1e-9)
