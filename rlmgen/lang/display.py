"""A measured value written the way the spec's author writes it: a latency whose levels
say `> 200ms` reads `45ms`, a ratio whose levels say `< 99.9%` reads `99.95%`."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from rlmgen.lang.units import _DATA, _TIME, SeriesUnit

_WRITTEN = re.compile(
    r"(?P<cur>\$)?[-+]?(?:\d+(?:\.(?P<decimals>\d*))?|\.(?P<frac>\d+))\s*(?P<unit>[A-Za-zµ%]*)"
)
# What a level's words may say after its number without naming a unit.
_WORDS = frozenset({"limit", "of", "increase", "rise", "spike", "drop", "decrease", "fall", "to"})
DURATION, DATA = "duration", "data"  # displays that pick their suffix by the value's size
SIZED_SUFFIXES = frozenset(_TIME) | frozenset(_DATA)  # `ms`, `h`, `d`, `KiB`, `GiB`...


def written_display(texts: Iterable[str], unit: SeriesUnit | None) -> tuple[str, int]:
    """The unit suffix the author writes the levels in (`ms`, `%`, `$`, `GiB`, or the
    unit's natural display when the levels are bare numbers), and the most decimals a
    level is written with."""
    suffix: str | None = None
    written_with: list[tuple[str, int]] = []  # (suffix, decimals) of every number
    for text in texts:
        for match in _WRITTEN.finditer(text):
            digits = match["decimals"] or match["frac"] or ""
            written = "$" if match["cur"] else match["unit"]
            if written in _WORDS:
                written = ""
            written_with.append((written, len(digits)))
            if suffix is None and written and _fits(written, unit):
                suffix = written
    if suffix is not None:
        display = suffix
    elif written_with and unit is not None and unit.dimension == "time":
        display = "ms" if unit.factor < 1 else "s"  # bare numbers: in the metric's own unit
    else:
        display = natural_display(unit)
    # decimals count where the number is written in the unit it is shown in
    shown_as = suffix if suffix is not None else ("" if display == "" else None)
    decimals = max((d for s, d in written_with if s == shown_as), default=0)
    return display, decimals


# Byte suffixes in powers of 1000 (SI): levels written in them read values that way too.
DECIMAL_BYTES = frozenset({"kB", "KB", "MB", "GB", "TB"})


def in_decimal_bytes(texts: Iterable[str], unit: SeriesUnit | None) -> bool:
    """Whether levels of a metric in bytes are written in SI units (`> 256MB`), so its
    values read best that way too (`300MB`, not `286.1MiB`)."""
    return (
        unit is not None
        and unit.dimension == "data"
        and written_display(texts, unit)[0] in DECIMAL_BYTES
    )


def _fits(suffix: str, unit: SeriesUnit | None) -> bool:
    if suffix == "%":
        return unit is None or unit.dimension == "fraction"
    if suffix == "$":
        return True
    if suffix in _TIME:
        return unit is not None and unit.dimension == "time"
    if suffix in _DATA:
        return unit is not None and unit.dimension == "data"
    return False


def natural_display(unit: SeriesUnit | None) -> str:
    """How a value of this unit reads when the spec writes no unit beside its levels."""
    if unit is None:
        return ""
    return {"fraction": "%", "time": DURATION, "data": DATA, "currency": "$"}.get(
        unit.dimension, ""
    )


def format_value(value: float, unit: SeriesUnit | None, display: str, decimals: int = 0) -> str:
    """`value`, in the metric's sample unit, in the display unit: at least three
    significant digits and as many decimals as the levels are written with."""
    text = _in_display(value, unit, display, decimals)
    if "Inf" in text and math.isfinite(value):  # too large to convert (a 1e308 sentinel)
        return f"{value:.3g}" + (f" {unit.name}" if unit else "")
    return text


def _in_display(value: float, unit: SeriesUnit | None, display: str, decimals: int) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    base = value * (unit.factor if unit else 1.0)
    if display in _TIME and base and abs(base / _TIME[display]) < 1e-3:
        display = DURATION  # 5ms of levels written in days reads better as 5ms
    elif display in _DATA and base and abs(base / _DATA[display]) < 1e-3:
        display = DATA
    if display == DURATION:
        display = "ms" if abs(base) < 1 else "s"
    elif display == DATA:
        display = next((s for s in ("TiB", "GiB", "MiB", "KiB") if abs(base) >= _DATA[s]), "B")
    if display == "%":
        return f"{_number(base * 100, decimals)}%"
    if display == "$":
        # cents, as money is written; smaller amounts (a cost per request) by digits
        return (
            f"${value:.{max(decimals, 2)}f}" if abs(value) >= 1 else f"${_number(value, decimals)}"
        )
    if display in _TIME:
        return f"{_number(base / _TIME[display], decimals)}{display}"
    if display in _DATA:
        return f"{_number(base / _DATA[display], decimals)}{display}"
    return _number(value, decimals)


def format_change(ratio: float) -> str:
    """A value's ratio to its baseline as a signed change: 1.12 -> `+12%`."""
    if not math.isfinite(ratio):
        return "NaN" if math.isnan(ratio) else "+Inf"
    text = _number((ratio - 1) * 100, 0)
    if text == "0":
        return "±0%"
    return f"{text}%" if text.startswith("-") else f"+{text}%"


def _number(value: float, decimals: int) -> str:
    """Three significant digits, or `decimals` if more; an exponent only beyond what
    plain digits read well (a sentinel such as 1e308)."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return "+Inf" if value > 0 else "-Inf" if value < 0 else "NaN"
    if abs(value) >= 1e15 or abs(value) < 1e-9:
        return f"{value:.3g}"
    magnitude = math.floor(math.log10(abs(value)))
    places = min(max(decimals, 2 - magnitude, 0), 12)
    text = f"{value:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
