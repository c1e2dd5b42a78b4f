from __future__ import annotations

import pytest

from rlmgen.lang.levels import parse_level
from rlmgen.lang.units import (
    SERIES_UNITS,
    UnitError,
    format_duration,
    parse_duration,
    parse_quantity,
)

SECONDS, RATIO, PERCENT, COUNT = (SERIES_UNITS[n] for n in ("seconds", "ratio", "percent", "count"))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h30m", 5400),
        ("100ms", 0.1),
        ("7d", 604800),
        ("1w", 604800),
        ("1y", 31536000),
        ("0s", 0),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("5 min", "'5 min' is not a duration", "write 5m"),
        ("5 minutes", "'5 minutes' is not a duration", "write 5m"),
        ("2 hours", "'2 hours' is not a duration", "write 2h"),
        ("5 m", "'5 m' is not a duration", "write 5m"),
        ("1h 30m", "'1h 30m' is not a duration", "write 1h30m"),
        ("5 fortnights", "'5 fortnights' is not a duration", "write it like 30s, 5m or 1h30m"),
        (
            "1m1h",
            "'1m1h' is not a duration: units must go from largest to smallest, each once",
            "write it like 1h30m",
        ),
        ("10", "'10' is not a duration", "add a unit: 10s or 10m"),
        ("1.5h", "'1.5h' is not a duration", "write it like 30s"),
    ],
)
def test_bad_durations(text: str, message: str, hint: str) -> None:
    with pytest.raises(UnitError) as caught:
        parse_duration(text)
    assert caught.value.message == message
    assert caught.value.hint.startswith(hint)


def test_format_duration_round_trips() -> None:
    for seconds in (0.1, 30, 90, 3600, 5400, 86400 * 8):
        assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "base", "dimension"),
    [
        ("100ms", 0.1, "time"),
        ("99.9%", 0.999, "fraction"),
        ("512MiB", 536870912, "data"),
        ("1KB", 1000, "data"),
        ("$0.05", 0.05, "currency"),
        ("1000", 1000, None),
    ],
)
def test_quantities_normalise_to_base_units(text: str, base: float, dimension: str | None) -> None:
    quantity = parse_quantity(text)
    assert (quantity.base, quantity.dimension) == (pytest.approx(base), dimension)


def test_levels_are_converted_to_the_metric_unit() -> None:
    assert parse_level("> 200ms", SECONDS).value == 0.2
    assert parse_level("> 30s", SERIES_UNITS["milliseconds"]).value == 30000
    assert parse_level("< 99.9%", RATIO).value == 0.999
    assert parse_level("< 99.9%", PERCENT).value == 99.9


@pytest.mark.parametrize(
    ("text", "kind", "value", "high"),
    [
        ("< 99%", "below", 0.99, None),
        ("> 80%", "above", 0.8, None),
        ("above 80%", "above", 0.8, None),
        ("99.99%", "exact", 0.9999, None),
        ("40-60%", "band", 0.4, 0.6),
        ("40% - 60%", "band", 0.4, 0.6),
        ("outside 30-70%", "outside", 0.3, 0.7),
        ("not in 10% - 90%", "outside", 0.1, 0.9),
        ("> 20% increase", "increase", 0.2, None),
        ("drop > 50%", "decrease", 0.5, None),
        ("Sudden drop > 50%", "decrease", 0.5, None),
        # a number's exponent is never a unit or a band's dash
        ("< 1e-3", "below", 0.001, None),
        ("1e-3", "exact", 0.001, None),
        ("1e-3 - 2e-3", "band", 0.001, 0.002),
        ("5e-1-6e-1", "band", 0.5, 0.6),
        ("outside 1e-3-1e-2", "outside", 0.001, 0.01),
    ],
)
def test_level_forms(text: str, kind: str, value: float, high: float | None) -> None:
    level = parse_level(text, RATIO)
    assert (level.kind, level.value, level.high) == (
        kind,
        pytest.approx(value),
        high and pytest.approx(high),
    )


def test_levels_of_a_limit_are_fractions_whatever_the_metric_unit() -> None:
    level = parse_level("< 80% limit", COUNT, has_limit=True)
    assert (level.kind, level.value, level.of_limit) == ("below", 0.8, True)
    assert parse_level("> 95%", COUNT, has_limit=True).value == 0.95


def test_qualitative_targets_only_where_allowed() -> None:
    assert parse_level("Trending down", RATIO, allow_qualitative=True).kind == "qualitative"
    with pytest.raises(UnitError):
        parse_level("Trending down", RATIO)


@pytest.mark.parametrize(
    ("text", "unit", "message"),
    [
        ("> 20%", SECONDS, "'20%' is a fraction value but the metric's unit is 'seconds'"),
        ("> 2 min", SECONDS, "unknown unit 'min' in '2 min'"),
        ("60-40%", RATIO, "'60-40%': the low end of a band must be below the high end"),
        (
            "< 80% limit",
            COUNT,
            "'< 80% limit' refers to a limit, but the metric declares no 'limit'",
        ),
        ("sometimes", RATIO, "'sometimes' is not a level"),
    ],
)
def test_level_errors(text: str, unit, message: str) -> None:
    with pytest.raises(UnitError) as caught:
        parse_level(text, unit)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("text", "unit", "hint"),
    [
        ("> 2h 30m", SECONDS, 'write "> 2h30m" or "> 150m"'),
        ("> 2h30", SECONDS, 'write "> 2h30m" or "> 150m"'),
        ("> 1d12", SECONDS, 'write "> 1d12h" or "> 2160m"'),
        ("≥ 4h", SECONDS, 'write ">= 4h"'),
        ("≤ 99.9%", RATIO, 'write "<= 99.9%"'),
        ("=> 200ms", SECONDS, 'write ">= 200ms"'),
        ("> 4 hours", SECONDS, "write 4h: rlmgen writes hours as h"),
        ("< 99.9 percent", RATIO, "write 99.9%: rlmgen writes percent as %"),
        ("> 2 fortnights", SECONDS, "known units: %, ns, us"),
        ("> 90s 5", SECONDS, 'write "> 200ms", "< 99.9%"'),
    ],
)
def test_level_error_hints_say_what_was_meant(text: str, unit, hint: str) -> None:
    with pytest.raises(UnitError) as caught:
        parse_level(text, unit)
    assert caught.value.hint.startswith(hint)
