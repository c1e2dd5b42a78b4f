"""Examples: the input series and times of the promtool tests a spec writes by hand, for
recording rules and hand-written alerts."""

from __future__ import annotations

import math
import re

from rlmgen.lang import promql, promtool
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.compile.walk import Node, Walk


def compile_series(walk: Walk, example: Node) -> tuple[m.ExampleSeries, ...] | None:
    """An example's input series (None when one of them is reported)."""
    found: list[m.ExampleSeries] = []
    complete = True
    for node in example.items("series"):
        query = node.promql("series")
        if query is not None and not promql.is_plain_selector(query.ast):
            walk.error(
                node.at("series"),
                'an input series is a plain selector such as name{label="value"}',
                check="examples/invalid-series",
            )
            query = None
        values = node.value.get("values")
        if isinstance(values, str) and "\n" in values.strip():
            walk.error(
                node.at("values"),
                "promtool reads a series' values from one line",
                check="examples/invalid-series",
            )
            values = None
        elif isinstance(values, str) and (bad := promtool.bad_values_token(values)) is not None:
            walk.error_in_value(
                node.at("values"),
                bad,
                f"'{bad}' is not promtool series notation",
                "write values like 1 2 3, 0+60x20 (start+step x count), _ or stale",
                check="examples/invalid-series",
            )
            values = None
        if query is None or not isinstance(values, str) or not values.strip():
            complete = False
            continue
        found.append(m.ExampleSeries(query.text.strip(), values.strip()))
    return tuple(found) if complete else None


def labels_not_a_mapping(example: Node) -> bool:
    """Whether the example writes `labels` as something else than a mapping: the schema
    reports it, and the example is left out (read as no labels, its series would be
    reported as lacking every label they carry)."""
    return "labels" in example and not isinstance(example.value.get("labels"), dict)


def sample_interval(walk: Walk, example: Node) -> tuple[bool, float | None]:
    """(valid, seconds) of an example's own sample interval (None: promtool's default)."""
    interval = example.duration("interval")
    if interval == 0:
        walk.error(
            example.at("interval"),
            "an example's sample interval must be longer than 0s",
            check="durations/zero",
        )
    return interval != 0 and not (interval is None and "interval" in example), interval


def check_sample_spacing(
    walk: Walk,
    example: Node,
    series: tuple[m.ExampleSeries, ...],
    interval: float | None,
    at: float,
    query: promql.Query | None,
    evaluation: float,
    hold: float = 0.0,
) -> None:
    """Input samples further apart than Prometheus' lookback leave a series read at an
    instant without a value between them: the condition breaks off (a `for` starts
    again), and there is no value to check at a time in a gap. A range shorter than the
    samples' spacing never holds the two samples rate() and its kind need."""
    if interval is None or query is None:
        return
    fed = {_name(s.series) for s in series}
    lookback = format_duration(promtool.LOOKBACK)
    for function, name, seconds in promql.ranges_read(query.ast):
        if name in fed and function in _TWO_SAMPLES and seconds < interval:
            walk.warning(
                example.at("interval"),
                f"samples {format_duration(interval)} apart: {function}({name}"
                f"[{format_duration(seconds)}]) never holds the two samples it needs, so it "
                "gives nothing",
                f"sample at least every {format_duration(seconds)}, or read a longer range",
                check="examples/sparse-samples",
            )
            return
    if interval <= promtool.LOOKBACK:
        return
    instant = [name for name in promql.instant_selectors(query.ast) if name in fed]
    in_gap = at % interval > promtool.LOOKBACK
    if not instant or not (in_gap or (hold > 0 and _gaps(interval, evaluation))):
        return
    effect = (
        "the rule's condition breaks off, and its `for` starts again"
        if hold > 0
        else f"at {format_duration(at)} there is none"
    )
    walk.warning(
        example.at("interval"),
        f"samples {format_duration(interval)} apart: more than {lookback} after each one "
        f"(Prometheus' lookback) '{instant[0]}' has no value, so {effect}",
        f"sample every {lookback} or less; promtool's notation keeps a long series short: "
        f"500x288 is a day of {lookback} samples",
        check="examples/sparse-samples",
    )


def _gaps(interval: float, evaluation: float) -> bool:
    """Whether some evaluation falls more than the lookback after the last sample (samples
    every `interval`, evaluations every `evaluation`, both from 0)."""
    sample, step = round(interval * 1000), round(evaluation * 1000)
    lookback = round(promtool.LOOKBACK * 1000)
    cycle = sample * step // math.gcd(sample, step)  # the two grids meet again
    return any(time % sample > lookback for time in range(0, min(cycle, 10**9), step))


def _name(selector: str) -> str:
    """The metric name a plain selector (`x{a="b"}`) selects."""
    found = re.match(r"[a-zA-Z_:][\w:]*", selector.strip())
    return found.group() if found else ""


# Functions of a range that need two samples in it to give anything.
_TWO_SAMPLES = frozenset({"rate", "irate", "increase", "delta", "idelta", "deriv"})


def example_time(walk: Walk, example: Node, evaluation: float) -> float | None:
    """When the example is checked; promtool evaluates every rule up to that time."""
    at = example.duration("at")
    if at is not None and round(at * 1000) % round(evaluation * 1000):
        grid = math.floor(at / evaluation) * evaluation
        walk.error(
            example.at("at"),
            f"promtool evaluates the rules every {format_duration(evaluation)} (the "
            f"evaluation interval): at {format_duration(at)} it would check what they were "
            f"at {format_duration(grid)}",
            f"check at a multiple of {format_duration(evaluation)}, such as "
            f"{format_duration(grid + evaluation)}",
            check="examples/off-grid",
        )
        return None
    if at is not None and at / evaluation > promtool.MAX_TEST_EVALUATIONS:
        walk.error(
            example.at("at"),
            f"at {format_duration(at)} promtool would evaluate the rules "
            f"{at / evaluation:,.0f} times (at the {format_duration(evaluation)} evaluation "
            f"interval); rlmgen writes tests of at most {promtool.MAX_TEST_EVALUATIONS:,}",
            "check the example at an earlier time",
            check="tests/too-large",
        )
        return None
    return at


def check_at_within_inputs(
    walk: Walk,
    example: Node,
    series: tuple[m.ExampleSeries, ...],
    at: float,
    interval: float | None,
    expects_output: bool,
) -> bool:
    """An example checked after its inputs have ended tests rules on no data (and makes
    promtool evaluate the rules up to then), unless it means to (absent()): an error when
    it expects an alert or a recorded value (its test would fail), else a warning (it
    would pass, proving nothing). False on an error."""
    step = interval or promtool.DEFAULT_INPUT_INTERVAL
    ends = [promtool.last_sample(s.values) for s in series]
    last = max((e for e in ends if e is not None), default=None)
    end = (last or 0) * step
    if last is not None and at <= end + promtool.LOOKBACK:
        return True
    report = walk.error if expects_output else walk.warning
    report(
        example.at("at"),
        f"at {format_duration(at)} no input series has a sample: "
        + (f"the last is at {format_duration(end)}" if last is not None else "none has any")
        + f", and Prometheus looks back {format_duration(promtool.LOOKBACK)}",
        "check the example while its inputs run, or extend them",
        check="examples/after-inputs" if expects_output else "examples/vacuous",
    )
    return not expects_output


# The Unix time of 2001-09-09: an input sample this large, in an example of a rule that
# reads time(), is a timestamp of the real clock, not of the test's.
_REAL_CLOCK = 1e9
_REAL_CLOCK_MS = 1e11  # past 1973 in seconds: a timestamp of today in milliseconds
# A series of times by its name (`*_timestamp_seconds`, `*_last_schedule_time`).
_TIMESTAMP_NAME = re.compile(r"(time|timestamp|seconds|_ts)(_|$)")
_YEAR = 365.25 * 86400


def reads_clock(query: promql.Query) -> bool:
    """Whether the expression reads the evaluation's clock: time(), or timestamp()."""
    return promql.calls(query.ast, "time") or promql.calls(query.ast, "timestamp")


def check_test_clock(
    walk: Walk,
    example: Node,
    series: tuple[m.ExampleSeries, ...],
    at: float,
    query: promql.Query | None,
) -> None:
    """promtool's clock starts at 0 (1970): in a test, time() is the seconds since its
    start. An example of a rule that reads time() written with today's Unix timestamps
    compares them with a time() decades before them: a warning at the first such value
    (the test fails, or passes proving nothing)."""
    if query is None or not (
        reads_clock(query) or walk.clock_records.intersection(promql.series_names(query.ast))
    ):
        return
    for node, input_series in zip(example.items("series"), series, strict=True):
        if not _TIMESTAMP_NAME.search(_name(input_series.series)):
            continue  # 2,000,000,000 bytes are no date
        for token, value in promtool.first_values(input_series.values):
            if value >= _REAL_CLOCK:
                seconds = value / 1000 if value >= _REAL_CLOCK_MS else value
                written = " in milliseconds" if value >= _REAL_CLOCK_MS else ""
                walk.warning_in_value(
                    node.at("values"),
                    token,
                    "promtool's clock starts at 0 (1970): at "
                    f"{format_duration(at)} the test's time() is {at:g}, so this timestamp"
                    f"{written} is {(seconds - at) / _YEAR:.0f} years ahead of it",
                    "write times in seconds from the test's start: 0x60 is a success at the "
                    "start and none after it, 0+60x60 one every minute",
                    check="examples/unix-time",
                )
                return
