"""Units a person writes (`100ms`, `99.9%`, `512MiB`, `5m`) and what they mean in
Prometheus base units (seconds, ratios 0-1, bytes).

Every parser raises `UnitError` with a message fit to show the spec author.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Literal

from rlmgen.compiled_dataclasses import dataclass

Dimension = Literal["time", "fraction", "data", "currency", "rate", "count"]


class UnitError(ValueError):
    """A value that is not what its field reads; `check` is the id of the check
    (rlmgen.spec.checks) that reports it."""

    def __init__(self, message: str, hint: str = "", *, check: str = "units/invalid"):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.check = check


@dataclass(frozen=True)
class SeriesUnit:
    """The unit a metric's samples are in: `factor` converts one sample to base units."""

    name: str
    dimension: Dimension
    factor: float
    grafana: str  # Grafana unit id, for dashboards


SERIES_UNITS: dict[str, SeriesUnit] = {
    u.name: u
    for u in (
        SeriesUnit("seconds", "time", 1.0, "s"),
        SeriesUnit("milliseconds", "time", 1e-3, "ms"),
        SeriesUnit("ratio", "fraction", 1.0, "percentunit"),
        SeriesUnit("percent", "fraction", 0.01, "percent"),
        SeriesUnit("bytes", "data", 1.0, "bytes"),
        SeriesUnit("count", "count", 1.0, "short"),
        SeriesUnit("requests-per-second", "rate", 1.0, "reqps"),
        SeriesUnit("ops-per-second", "rate", 1.0, "ops"),
        SeriesUnit("usd", "currency", 1.0, "currencyUSD"),
    )
}

# Suffixes of quantity literals, as (dimension, factor to base unit).
_TIME = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_DATA = {
    "B": 1.0,
    "KB": 1e3,
    "kB": 1e3,
    "MB": 1e6,
    "GB": 1e9,
    "TB": 1e12,
    "KiB": 1024.0,
    "MiB": 1024.0**2,
    "GiB": 1024.0**3,
    "TiB": 1024.0**4,
}
_QUANTITY = re.compile(
    r"^(?P<cur>\$)?(?P<num>[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*(?P<unit>[A-Za-zµ%/]*)$"
)


@dataclass(frozen=True)
class Quantity:
    """A literal such as `100ms`: `base` is in base units; dimension None means a bare number."""

    base: float
    dimension: Dimension | None

    def in_unit(self, unit: SeriesUnit | None) -> float:
        """The value in the metric's own sample unit (bare numbers are already in it)."""
        if self.dimension is None or unit is None:
            return self.base
        return _clean(self.base / unit.factor)


def _clean(value: float) -> float:
    """Round away binary noise (0.999/0.01 = 99.89999...) so outputs stay readable."""
    return float(f"{value:.12g}")


# Kubernetes' resource.Quantity: a number, then a binary (Ki..Ei), decimal (n, u, m, k,
# M..E) or exponent suffix. `m` is milli here, where rlmgen's own units read minutes.
_KUBERNETES_QUANTITY = re.compile(
    r"^(?P<num>[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<binary>[KMGTPE]i)|(?P<decimal>[numkMGTPE])|[eE](?P<exp>[-+]?[0-9]+))?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_kubernetes_quantity(text: str) -> float | None:
    """A Kubernetes quantity (`500m`, `2`, `1.5`, `512Mi`, `1G`, `1e3`) as the number it
    stands for (0.5 for `500m`), or None when `text` is not one."""
    match = _KUBERNETES_QUANTITY.match(text.strip())
    if match is None:
        return None
    number = float(match["num"])
    if match["binary"]:
        return number * _BINARY[match["binary"]]
    if match["decimal"]:
        return _clean(number * 10.0 ** _DECIMAL[match["decimal"]])
    if match["exp"]:
        exponent = int(match["exp"])
        return number * 10.0**exponent if abs(exponent) < 300 else math.inf
    return number


def parse_quantity(text: str) -> Quantity:
    match = _QUANTITY.match(text.strip())
    if not match:
        raise UnitError(
            f"{text!r} is not a number with a unit", "write it like 200ms, 99.9%, 512MiB or 1000"
        )
    number = float(match["num"])
    unit = match["unit"]
    quantity = _quantity(number, unit, match["cur"] is not None, text)
    if not math.isfinite(quantity.base):
        raise UnitError(f"{text!r} is too large to be a number", "write a finite number")
    return quantity


def _quantity(number: float, unit: str, currency: bool, text: str) -> Quantity:
    if currency:
        if unit:
            raise UnitError(f"{text!r}: a currency amount takes no unit suffix")
        return Quantity(number, "currency")
    if not unit:
        return Quantity(number, None)
    if unit == "%":
        return Quantity(_clean(number / 100), "fraction")
    if unit in _TIME:
        return Quantity(_clean(number * _TIME[unit]), "time")
    if unit in _DATA:
        return Quantity(_clean(number * _DATA[unit]), "data")
    if unit in ("/s", "rps", "ops"):
        return Quantity(number, "rate")
    known = ", ".join(["%", *_TIME, *_DATA, "/s"])
    meant = _UNIT_WORDS.get(unit.lower().rstrip("."))
    number_text = text.strip()[: -len(unit)].strip()
    raise UnitError(
        f"unknown unit {unit!r} in {text!r}",
        f"write {number_text}{meant}: rlmgen writes {unit} as {meant}"
        if meant
        else f"known units: {known}",
        check="units/unknown",
    )


# Unit names as people write them, and rlmgen's (Prometheus') suffix for each.
_UNIT_WORDS = {
    **dict.fromkeys(("nanosecond", "nanoseconds", "nsec"), "ns"),
    **dict.fromkeys(("microsecond", "microseconds", "usec"), "us"),
    **dict.fromkeys(("millisecond", "milliseconds", "msec", "msecs", "millis"), "ms"),
    **dict.fromkeys(("sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("day", "days"), "d"),
    **dict.fromkeys(("wk", "wks", "week", "weeks"), "w"),
    **dict.fromkeys(("percent", "pct"), "%"),
    **dict.fromkeys(("byte", "bytes"), "B"),
}


def check_dimension(quantity: Quantity, unit: SeriesUnit | None, text: str) -> None:
    if quantity.dimension is None or unit is None:
        return
    if quantity.dimension != unit.dimension:
        raise UnitError(
            f"{text!r} is a {quantity.dimension} value but the metric's unit is {unit.name!r}",
            f"write the level in {unit.dimension} units, or fix the metric's unit",
            check="units/mismatch",
        )


# --- Prometheus durations -------------------------------------------------------------

_DURATION_UNITS = {
    "y": 31536000.0,
    "w": 604800.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}
_DURATION_PART = re.compile(r"([0-9]+)(ms|y|w|d|h|m|s)")
# Prometheus holds a duration as int64 nanoseconds: about 292 years.
MAX_DURATION = (2**63 - 1) / 1e9
_DURATION_ORDER = list(_DURATION_UNITS)


# A Prometheus duration as a pattern: units from largest to smallest, each at most once.
PROMETHEUS_DURATION = (
    r"(?=[0-9])(?:[0-9]+y)?(?:[0-9]+w)?(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m(?!s))?(?:[0-9]+s)?"
    r"(?:[0-9]+ms)?"
)
_WHOLE_DURATION = re.compile(rf"{PROMETHEUS_DURATION}$")


def parse_quantity_or_duration(text: str) -> Quantity:
    """parse_quantity, and where a value may be a duration, every form Prometheus accepts
    (`2h30m`, `1y`) that rlmgen's single-unit quantities do not."""
    try:
        return parse_quantity(text)
    except UnitError:
        stripped = text.strip()
        if stripped and _WHOLE_DURATION.match(stripped):
            return Quantity(parse_duration(stripped), "time")
        raise


def parse_duration(text: str) -> float:
    """A Prometheus duration (`30s`, `5m`, `1h30m`) in seconds."""
    if not isinstance(text, str) or not text:
        raise UnitError(
            f"{text!r} is not a duration",
            "write it like 30s, 5m or 1h30m",
            check="durations/invalid",
        )
    position = 0
    millis = 0  # exact, whatever the number of digits
    last_rank = -1
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        rank = _DURATION_ORDER.index(match[2])
        if rank <= last_rank:
            raise UnitError(
                f"{text!r} is not a duration: units must go from largest to smallest, each once",
                "write it like 1h30m",
                check="durations/invalid",
            )
        last_rank = rank
        millis += int(match[1]) * round(_DURATION_UNITS[match[2]] * 1000)
        position = match.end()
    if position != len(text) or position == 0:
        hint = "write it like 30s, 5m or 1h30m (units ms, s, m, h, d, w, y; whole numbers only)"
        # `5 minutes`, `5min`, `5 m`: the unit as a duration writes it
        worded = re.fullmatch(r"([0-9]+)\s*([A-Za-z]+)\.?", text.strip())
        unit = worded and _UNIT_WORDS.get(worded[2].lower(), worded[2])
        if re.fullmatch(r"[0-9]+", text):
            hint = f"add a unit: {text}s or {text}m"
        elif worded and unit in _DURATION_UNITS:
            hint = f"write {worded[1]}{unit}"
        elif (compact := re.sub(r"\s+", "", text)) != text and _is_duration(compact):
            hint = f"write {compact}"
        raise UnitError(f"{text!r} is not a duration", hint, check="durations/invalid")
    if millis > MAX_DURATION * 1000:  # compared as integers: any number of digits is fine
        raise UnitError(
            f"{text!r} is longer than a Prometheus duration can be (292y)",
            "write a shorter duration",
            check="durations/invalid",
        )
    return millis / 1000


def _is_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except UnitError:
        return False
    return True


@functools.cache  # a large build formats the same few durations 100,000 times
def format_duration(seconds: float) -> str:
    """A Prometheus duration as people write it (`90` -> `1m30s`, `604800` -> `7d`):
    days at most, since `1w` reads worse than `7d` and both parse."""
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    parts = []
    for unit, size in _DURATION_UNITS.items():
        if unit in ("y", "w"):
            continue
        size_ms = round(size * 1000)
        count, millis = divmod(millis, size_ms)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
