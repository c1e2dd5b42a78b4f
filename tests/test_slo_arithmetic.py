"""The burn-rate arithmetic SLO alerts are built on: the workbook's factors for any
period, and error ratios predicted bit for bit as promtool computes them (judged by
promtool), with one case derived by hand."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rlmgen.lang import slo
from tests.conftest import require_tool


def test_factors_are_the_workbooks_for_30_days_and_scale_with_the_period() -> None:
    assert [round(w.factor(30 * slo.DAY), 9) for w in slo.WINDOWS] == [14.4, 6, 3, 1]
    assert [round(w.factor(28 * slo.DAY), 9) for w in slo.WINDOWS] == [
        13.44,
        5.6,
        2.8,
        round(28 / 30, 9),
    ]


def counter(per_minute: list[float]) -> list[slo.Sample]:
    """Samples every minute of a counter that grows by each minute's amount."""
    value, samples = 0.0, [(0.0, 0.0)]
    for minute, amount in enumerate(per_minute, start=1):
        value += amount
        samples.append((minute * 60.0, value))
    return samples


# two hours of healthy traffic (60 requests a minute), then every request fails
HEALTHY, FAILING = 120, 60
TOTAL = counter([60.0] * (HEALTHY + FAILING))
BAD = counter([0.0] * HEALTHY + [60.0] * FAILING)


def test_the_page_alert_fires_one_minute_after_a_full_outage_begins_by_hand() -> None:
    """Objective 99.9% over 30d: the page condition is 5m and 1h error ratios above
    14.4 x 0.1% = 1.44%. At 120m30s (a 30s evaluation) the last sample is still the
    healthy one at 120m: both ratios are 0. At 121m the 1h range [61m, 121m] holds 61
    samples: 60 failed of 3600 requests, and neither counter is extrapolated (the
    failures counter starts at 0 at the range's first sample; the range starts on a
    sample), so the ratio is 60/3600 = 1.67% > 1.44%, and the 5m ratio is 60/300 = 20%:
    the alert (for: 0) fires at the evaluation at minute 121."""
    threshold = slo.WINDOWS[0].factor(30 * slo.DAY) * slo.error_budget(0.999)
    assert slo.error_ratio(BAD, TOTAL, 120.5 * 60, 3600) == 0
    assert slo.error_ratio(BAD, TOTAL, 121 * 60, 3600) == pytest.approx(60 / 3600)
    assert slo.error_ratio(BAD, TOTAL, 121 * 60, 300) == pytest.approx(0.2)
    assert 60 / 3600 > threshold > 0


def promtool_notation(samples: list[slo.Sample]) -> str:
    return " ".join(repr(v) for _, v in samples)


@pytest.mark.parametrize("window", ["5m", "1h", "2h"])
def test_predicted_error_ratios_are_promtools_bit_for_bit(window: str, tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    seconds = {"5m": 300, "1h": 3600, "2h": 7200}[window]
    expr = f"sum(rate(bad_total[{window}])) / sum(rate(requests_total[{window}]))"
    times = [m * 60 + s for m in (3, 61, 119, 120, 121, 122, 125, 150, 179) for s in (0, 30)]
    cases = []
    for at in times:
        ratio = slo.error_ratio(BAD, TOTAL, at, seconds)
        samples = [] if ratio is None else [{"labels": "{}", "value": ratio}]
        cases.append({"expr": expr, "eval_time": f"{at}s", "exp_samples": samples})
    (tmp_path / "rules.yaml").write_text("groups: []\n")
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "30s",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": "bad_total", "values": promtool_notation(BAD)},
                    {"series": "requests_total", "values": promtool_notation(TOTAL)},
                ],
                "promql_expr_test": cases,
            }
        ],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    run = subprocess.run(
        [promtool, "test", "rules", str(tmp_path / "tests.yaml")], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=40),
    interval=st.sampled_from([15.0, 30.0, 60.0]),
    start=st.integers(-120, 2400),
    width=st.integers(1, 2400),
)
def test_counters_sampled_together_each_rate_as_they_would_alone(
    steps: list[tuple[int, int]], interval: float, start: int, width: int
) -> None:
    """SLO scenarios find a range's samples once for all their counters: each counter's
    rate must still be its own (its zero point, its increase), as one Counter gives it
    (which promtool judges above)."""
    times = [k * interval for k in range(len(steps) + 1)]
    first = [0.0, *itertools.accumulate(float(a) for a, _ in steps)]
    second = [3.0, *itertools.accumulate((float(b) for _, b in steps), initial=3.0)][1:]
    together = slo.Counters(times, [first, second]).rates(float(start), float(start + width))
    alone = [
        slo.Counter(list(zip(times, values, strict=True))).rate(float(start), float(start + width))
        for values in (first, second)
    ]
    assert together == (None if alone[0] is None else alone)
