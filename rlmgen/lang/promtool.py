"""What promtool's unit tests can hold: its input series notation, how densely a long
window can be sampled, and how many rule evaluations a test can ask for."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rlmgen.compiled_dataclasses import dataclass

# Input samples every minute: well inside the 5m lookback of instant selectors.
SAMPLE_INTERVAL = 60.0
# promtool refuses queries that load more than 10,000 samples; a long window is sampled
# more sparsely, but never beyond the 5m lookback of instant selectors.
MAX_WINDOW_SAMPLES = 5000
MAX_SAMPLE_INTERVAL = 240.0
LONGEST_WINDOW = MAX_WINDOW_SAMPLES * MAX_SAMPLE_INTERVAL
# promtool evaluates every rule group at each evaluation interval up to a test's last
# eval_time: beyond this many evaluations a test takes minutes.
MAX_TEST_EVALUATIONS = 200_000
# Samples on the steady value before a level's test changes it (after its window is full).
WARMUP_SAMPLES = 10

_VALUES_TOKEN = re.compile(
    r"^(?:_|stale|_x\d+|[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:[-+](?:\d+(?:\.\d*)?|\.\d+)"
    r"(?:[eE][-+]?\d+)?x\d+|x\d+)?|[-+]?(?:Inf|NaN))$"
)


def sample_interval(window: float) -> float:
    """Seconds between input samples for a test that averages over `window` seconds:
    a minute, or whole minutes more for windows longer than MAX_WINDOW_SAMPLES minutes.
    Only defined for windows up to LONGEST_WINDOW."""
    if window / SAMPLE_INTERVAL <= MAX_WINDOW_SAMPLES:
        return SAMPLE_INTERVAL
    return math.ceil(window / MAX_WINDOW_SAMPLES / 60) * 60.0


# promtool's own sample interval of a test's input series, and how far back Prometheus
# looks for a sample of a series at an evaluation.
DEFAULT_INPUT_INTERVAL = 60.0
LOOKBACK = 300.0


def last_sample(values: str) -> int | None:
    """The index of the last sample a promtool `values` string gives (None: none does).
    `a+bxN` and `axN` give N + 1 samples, `_xN` N gaps, `_` and `stale` one slot."""
    position, last = 0, None
    for token in values.split():
        if token == "_" or token == "stale":
            position += 1
        elif token.startswith("_x"):
            position += int(token[2:])
        elif "x" in token and not token.lower().endswith(("inf", "nan")):
            count = int(token.rsplit("x", 1)[1])
            last = position + count
            position += count + 1
        else:
            last = position
            position += 1
    return last


_LEADING_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def first_values(values: str) -> Iterator[tuple[str, float]]:
    """Each token of a promtool `values` string that gives samples, with its first value
    (`1700000000+60x10`: 1700000000.0); gaps and stale markers give none."""
    for token in values.split():
        found = _LEADING_NUMBER.match(token)
        if found is not None:
            yield token, float(found.group())


def bad_values_token(values: str) -> str | None:
    """The first token of a promtool `values` string that is not series notation."""
    return next((t for t in values.split() if not _VALUES_TOKEN.match(t)), None)


@dataclass(frozen=True)
class LevelTestSpan:
    """The timeline of a level's promtool test (seconds from the first sample)."""

    interval: float  # between input samples
    start: float  # the first sample past the level
    horizon: float  # the last evaluation the test looks at
    # How long a relative level's condition must go on holding after `start` for its
    # alert to fire inside the test: `for`, up to an evaluation interval before the
    # condition is first seen and another before the alert is, and two samples of slack
    # for where the samples fall in the averaged window.
    needed_hold: float


def level_test_span(window: float, hold: float, evaluation: float) -> LevelTestSpan:
    """The span of the test of levels that average over `window` (0 for absolute levels)
    and whose alert holds for `hold`, evaluated every `evaluation` seconds."""
    interval = sample_interval(window)
    start = (math.ceil(window / interval) + WARMUP_SAMPLES) * interval  # on the sample grid
    horizon = start + hold + max(10 * interval, 2 * evaluation)
    return LevelTestSpan(interval, start, horizon, hold + 2 * evaluation + 2 * interval)


@dataclass(frozen=True)
class TestGroup:
    """One test group of a promtool test file and the spec value it proves: promtool names
    a failing group by its `name`, which `rlmgen test` maps back to `pointer`."""

    name: str
    pointer: str
    body: dict[str, Any]
    kind: str  # "level", "alert example", "recording example" or "slo"


def unique_names(groups: Iterable[TestGroup]) -> list[TestGroup]:
    """A name given twice gets its count: `(2)`, `(3)`."""
    return list(uniquely_named(groups))


def uniquely_named(groups: Iterable[TestGroup]) -> Iterator[TestGroup]:
    """unique_names, one group at a time (a name depends only on the names before it)."""
    unique = unique_namer()
    for group in groups:
        name = unique(group.name)
        yield dataclasses.replace(group, name=name, body={"name": name, **group.body})


def unique_namer() -> Callable[[str], str]:
    """A function giving each name in turn as unique_names does."""
    seen: dict[str, int] = {}

    def unique(name: str) -> str:
        count = seen[name] = seen.get(name, 0) + 1
        return name if count == 1 else f"{name} ({count})"

    return unique
