"""The compile walk's checks of levels and the scenarios that prove them agree: a level the
walk accepts fires in its scenario, and promtool agrees with rlmgen's simulation on
specs unlike the seed (relative levels, odd evaluation intervals, long `for`)."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlmgen.derive import scenarios
from rlmgen.derive.rules import derive_rules
from rlmgen.derive.scenarios import edges, scenario
from rlmgen.pipeline import artifacts, compile_specs, compile_texts
from tests.conftest import REPO, assert_promtool_proves

SPEC = """apiVersion: rlmgen/v1
service:
  name: levels
  title: Levels
  namespace: levels
  team: sre
  runbookUrl: https://runbooks.example.com/levels
  scrapeInterval: {scrape}
  evaluationInterval: {evaluation}
metrics:
  - name: app_value
    description: The value
    unit: {unit}
    alert: {{for: {hold}}}
    levels:
{levels}
routing:
  default: oncall
  receivers:
    - name: oncall
      pagerduty: {{routingKeyFile: /etc/secrets/key}}
"""


def _spec(
    levels: dict[str, str], *, unit: str = "count", hold: str = "5m", evaluation: str = "1m"
) -> str:
    body = "\n".join(f"      {key}: {value!r}" for key, value in levels.items())
    return SPEC.format(scrape=evaluation, evaluation=evaluation, unit=unit, hold=hold, levels=body)


RELATIVE = st.tuples(
    st.sampled_from(("increase", "decrease")),
    st.lists(st.integers(1, 99), min_size=1, max_size=3, unique=True).map(sorted),
    st.sampled_from(("0s", "1m", "5m", "30m", "1h", "6h", "1d", "3d")),  # alert.for
    st.sampled_from(("2m", "10m", "1h", "2h", "1d", "7d", "13d")),  # baseline
    st.sampled_from(("15s", "59s", "1m", "7m")),  # evaluation interval
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RELATIVE)
def test_a_relative_level_the_walk_accepts_fires_in_its_scenario(case) -> None:  # type: ignore[no-untyped-def]
    kind, changes, hold, baseline, evaluation = case
    severities = ("info", "warning", "critical")[-len(changes) :]
    word = "> {}% increase" if kind == "increase" else "drop > {}%"
    levels = {s: word.format(c) for s, c in zip(severities, changes, strict=True)}
    levels["baseline"] = baseline
    [result] = compile_texts({"spec.yaml": _spec(levels, hold=hold, evaluation=evaluation)})
    if result.model is None:
        reasons = {d.message.split(":")[0] for d in result.errors}
        assert all("can never fire" in m or "would evaluate the rules" in m for m in reasons), (
            reasons
        )
        return
    rules = derive_rules(result.model).alerts
    for rule in rules:
        _assert_proves(rule, scenario(rule, rules, result.model.service.evaluation_interval))


ABSOLUTE = st.tuples(
    st.sampled_from(("above", "below", "outside")),
    st.sampled_from((1e-9, 0.001, 1.0, 1e6, 1e15)),  # scale
    st.sampled_from((1e-11, 1e-6, 0.01, 2.0)),  # gap between levels, relative
    st.integers(1, 3),
    st.sampled_from(("0s", "1m", "59s", "1h")),
    st.sampled_from(("1s", "15s", "59s", "1m", "5m")),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ABSOLUTE)
def test_an_absolute_level_the_walk_accepts_fires_in_its_scenario(case) -> None:  # type: ignore[no-untyped-def]
    kind, scale, gap, count, hold, evaluation = case
    severities = ("info", "warning", "critical")[-count:]
    values = [scale * (1 + gap) ** i for i in range(count)]
    if kind == "above":
        levels = {s: f"> {v!r}" for s, v in zip(severities, values, strict=True)}
    elif kind == "below":
        levels = {s: f"< {v!r}" for s, v in zip(severities, reversed(values), strict=True)}
    else:
        # bands in plain decimals (a band takes no exponent), wider with severity
        levels = {
            s: f"outside {_plain(scale / (1 + gap) ** (i + 1))}-"
            f"{_plain(scale * (1 + gap) ** (i + 1))}"
            for i, s in enumerate(severities)
        }
    [result] = compile_texts({"spec.yaml": _spec(levels, hold=hold, evaluation=evaluation)})
    if result.model is None:
        # levels closer than the 12 digits a level keeps are the same level
        assert all("must be" in d.message for d in result.errors), result.errors
        return
    rules = derive_rules(result.model).alerts
    for rule in rules:
        for edge in edges(rule):
            case_ = scenario(rule, rules, result.model.service.evaluation_interval, edge)
            _assert_proves(rule, case_)
            value, level = case_.checkpoints[-1].value, rule.level
            assert level is not None and level.value is not None
            past = {  # the value at the firing checkpoint is past the level, by the level's text
                "above": value > level.value,
                "below": value < level.value,
                "outside": value < level.value or value > (level.high or 0.0),
            }
            assert past[level.kind], (value, level)


# name: (levels, alert.for, evaluation interval, a change of one rule's threshold in
# rules.yaml that the generated tests must catch: by 0.1% for absolute levels, which
# their scenarios pin; by a lot for relative ones, whose scenarios step well past)
PROMTOOL_CASES = {
    "drops in their natural order": (
        {"warning": "drop > 50%", "critical": "drop > 90%", "baseline": "1h"},
        "5m",
        "1m",
        ("app_value < 0.5 *", "app_value < 0.25 *"),
    ),
    "drops whose factors binary floats miss (1 - 0.7, 1 - 0.8)": (
        {"warning": "drop > 70%", "critical": "drop > 80%", "baseline": "1h"},
        "5m",
        "1m",
        ("app_value < 0.3 *", "app_value > 0.3 *"),
    ),
    "a long for against its baseline": (
        {"warning": "drop > 50%", "baseline": "1h5m"},
        "1h",
        "1m",
        ("app_value < 0.5 *", "app_value < 0.005 *"),
    ),
    "increases, 59s evaluations": (
        {"info": "> 10% increase", "warning": "> 30% increase", "baseline": "2h"},
        "10m",
        "59s",
        ("app_value > 1.3 *", "app_value > 2.6 *"),
    ),
    "an outside band, 7s evaluations": (
        {"warning": "outside 10-20", "critical": "outside 5-25"},
        "1m",
        "7s",
        ("app_value > 25\n", "app_value > 25.5\n"),
    ),
    "a baseline off the minute grid": (
        {"warning": "drop > 50%", "baseline": "1h7m13s"},
        "5m",
        "1m",
        ("app_value < 0.5 *", "app_value < 0.005 *"),
    ),
    "inclusive levels": (
        {"warning": ">= 80", "critical": ">= 100"},
        "1m",
        "1m",
        ("app_value >= 100\n", "app_value >= 100.5\n"),
    ),
    "levels 1e-6 apart": (
        {"warning": "> 1", "critical": "> 1.000001"},
        "0s",
        "1m",
        ("app_value > 1\n", "app_value > 1.0000008\n"),
    ),
}


@pytest.mark.parametrize("name", PROMTOOL_CASES)
def test_promtool_agrees_with_the_simulation(name: str, tmp_path: Path) -> None:
    """The generated tests pass on the generated rules, and fail when one threshold moves."""
    levels, hold, evaluation, (before, after) = PROMTOOL_CASES[name]
    assert_promtool_proves(tmp_path, _spec(levels, hold=hold, evaluation=evaluation), before, after)


def proven_levels(files: dict[str, bytes]) -> set[tuple[str, str, str | None]]:
    """(alert, severity, edge) of every level scenario in tests.yaml, read from the tests
    themselves: the severity that fires at the last checkpoint and not at the first, and,
    for a band, the side its input goes past."""
    bands = {
        (r["alert"], r["labels"]["severity"]): [
            float(n) for n in re.findall(r"[<>] ([^ ]+)", r["expr"])
        ]
        for g in yaml.safe_load(files["prometheus/rules.yaml"])["groups"]
        for r in g["rules"]
        if "alert" in r and " or " in r["expr"]
    }
    proven = set()
    for group in yaml.safe_load(files["prometheus/tests.yaml"])["tests"]:
        checks = group.get("alert_rule_test", [])
        if not checks:
            continue
        first, last = (
            {a["exp_labels"]["severity"] for a in c["exp_alerts"]} for c in (checks[0], checks[-1])
        )
        for severity in last - first:
            key = (checks[-1]["alertname"], severity)
            edge = None
            if key in bands:
                values = [
                    float(s["values"].split()[-1].split("+")[0]) for s in group["input_series"]
                ]
                value = values[0] / values[1] if len(values) == 2 else values[0]
                edge = "low" if value < bands[key][0] else "high"
            proven.add((*key, edge))
    return proven


def level_rules(files: dict[str, bytes]) -> set[tuple[str, str, str | None]]:
    """(alert, severity, edge) of every level rule in rules.yaml."""
    found = set()
    for group in yaml.safe_load(files["prometheus/rules.yaml"])["groups"]:
        if group["name"].endswith(".levels"):
            for rule in group["rules"]:
                edges_ = ("low", "high") if " or " in rule["expr"] else (None,)
                found |= {(rule["alert"], rule["labels"]["severity"], e) for e in edges_}
    return found


@pytest.mark.parametrize("name", PROMTOOL_CASES)
def test_every_level_and_edge_has_its_own_scenario(name: str) -> None:
    levels, hold, evaluation, _ = PROMTOOL_CASES[name]
    [result] = compile_texts({"s.yaml": _spec(levels, hold=hold, evaluation=evaluation)})
    assert result.model is not None
    files = artifacts(result.model)
    assert proven_levels(files) == level_rules(files)
    assert len(level_rules(files)) == sum(k in levels for k in ("info", "warning", "critical")) * (
        2 if "outside" in str(levels) else 1
    )


def test_every_seed_level_has_its_own_scenario(compiled_seed) -> None:  # type: ignore[no-untyped-def]
    assert proven_levels(compiled_seed) == level_rules(compiled_seed)
    assert len(level_rules(compiled_seed)) == 19


def _plain(value: float) -> str:
    return format(Decimal(repr(value)), "f")


def _assert_proves(rule, case) -> None:  # type: ignore[no-untyped-def]
    """What a scenario must show, read from its input series and checkpoints rather than
    from the simulation: the first checkpoint is before the value goes past; the rule
    fires no sooner than `for` after it does, and is pending (not firing) on a checkpoint
    in between when `for` is not zero."""
    safe_count = int(case.series[0][1].split()[0].split("x")[1]) + 1  # "a+0xN b+0xM"
    went_past = safe_count * case.interval
    first, last = case.checkpoints[0], case.checkpoints[-1]
    assert first.at < went_past and rule not in first.firing
    assert rule in last.firing and last.at >= went_past + rule.for_seconds
    if rule.for_seconds:
        pending = [p for p in case.checkpoints[1:-1] if went_past <= p.at]
        assert pending and all(rule not in p.firing for p in pending)


@pytest.mark.parametrize(
    ("unit", "levels", "before", "after"),
    [
        # Prometheus' durations of several units, in the metric's own unit
        ("seconds", {"warning": "> 1h30m", "critical": "> 2h30m"}, "app_value > 9000\n",
         "app_value > 9090\n"),
        ("milliseconds", {"warning": "> 45m", "critical": "> 1h30m15s"},
         "app_value > 5415000\n", "app_value > 5469150\n"),
        ("seconds", {"warning": "> 1d", "critical": "> 1w1d"}, "app_value > 691200\n",
         "app_value > 698112\n"),
    ],
)  # fmt: skip
def test_a_compound_duration_level_is_the_duration_promtool_reads(
    unit: str, levels: dict[str, str], before: str, after: str, tmp_path: Path
) -> None:
    """`> 2h30m` on a metric of durations is 9000 seconds (or 9000000 in milliseconds),
    as Prometheus reads the duration: the generated tests pass on the generated rules and
    fail when the threshold moves."""
    assert_promtool_proves(tmp_path, _spec(levels, unit=unit), before, after)


def _firing_step_by_step(times: list[float], held: list[bool], hold: float) -> list[bool]:
    """Prometheus' rule manager, one evaluation at a time: active from the first evaluation
    the condition holds, firing once held for `hold`, reset when it fails."""
    firing, since = [], None
    for t, holding in zip(times, held, strict=True):
        if not holding:
            since = None
        elif since is None:
            since = t
        firing.append(since is not None and t - since >= hold)
    return firing


@settings(max_examples=400, deadline=None)
@given(
    held=st.lists(st.booleans(), max_size=200),
    evaluation=st.sampled_from([1.0, 15.0, 30.0, 60.0, 0.1]),
    hold=st.sampled_from([0.0, 15.0, 30.0, 60.0, 90.0, 300.0, 0.3, 1e9]),
)
def test_firing_is_found_run_by_run_as_step_by_step(
    held: list[bool], evaluation: float, hold: float
) -> None:
    times = [index * evaluation for index in range(len(held))]
    assert scenarios._firing(times, held, hold) == _firing_step_by_step(times, held, hold)


def test_averages_are_the_prefix_sums_of_the_window() -> None:
    """Each evaluation (every 30 s) averages the samples (every 90 s) of its window."""
    samples = [float(v % 7) for v in range(700)]
    times = [index * 30.0 for index in range(2000)]
    for window in (90.0, 3600.0, 7 * 86400.0):
        expected = []
        for t in times:
            last = int(t // 90.0)
            first = max(0, math.ceil((t - window) / 90.0))
            expected.append(sum(samples[first : last + 1]) / (last + 1 - first))
        assert scenarios._averages(samples, 90.0, window, times) == pytest.approx(expected)


def _level_scenarios(model) -> list:  # type: ignore[no-untyped-def]
    rules = derive_rules(model)
    alerts = [rule for rule in rules.alerts if rule.origin == "levels"]
    found = []
    for rule in alerts:
        siblings = tuple(other for other in alerts if other.metric is rule.metric)
        for edge in edges(rule):
            evaluation = model.service.evaluation_interval
            found.append((rule, siblings, evaluation, edge, model.service.labels))
    return found


def test_a_simulation_shared_by_equal_levels_is_the_one_each_would_compute() -> None:
    """Simulations are memoised by the levels they depend on, across metrics and
    environments: each scenario equals the one computed with nothing memoised (the seed's
    staging changes a level and a `for` of production's; the cases add bands, relative
    levels and limits)."""
    paths = [*sorted((REPO / "specs").glob("*.yaml"))]
    paths += sorted((REPO / "tests" / "cases" / "valid").glob("*.yaml"))
    cases = [
        case
        for path in paths
        for unit in compile_specs([path], Path("out"), generate=False)
        if unit.model is not None
        for case in _level_scenarios(unit.model)
    ]
    assert len(cases) > 80
    scenarios._timeline.cache_clear()
    shared = [scenario(*case) for case in cases]
    assert scenarios._timeline.cache_info().hits > 20
    for case, memoised in zip(cases, shared, strict=True):
        scenarios._timeline.cache_clear()
        assert scenario(*case) == memoised, case[0].name


def test_levels_on_a_rule_that_needs_no_input_get_no_colliding_test(tmp_path: Path) -> None:
    """Its rule writes the recorded series itself (`or vector(0)`): a level test feeding that
    series would fail in promtool with a duplicate sample, so there is none, and the rest
    of the tests pass."""
    import subprocess

    from rlmgen.pipeline import compile_specs
    from tests.conftest import require_tool

    promtool = require_tool("promtool")
    case = REPO / "tests" / "cases" / "invalid" / "levels-on-a-rule-that-needs-no-input.yaml"
    [result] = compile_specs([case], tmp_path / "out")
    assert not result.errors
    (tmp_path / "prometheus").mkdir()
    for path in ("prometheus/rules.yaml", "prometheus/tests.yaml"):
        (tmp_path / path).write_bytes(result.files[path])
    tests = (tmp_path / "prometheus" / "tests.yaml").read_text()
    assert (
        "alert: ShopOrdersSinceLastPushHigh" in (tmp_path / "prometheus" / "rules.yaml").read_text()
    )
    assert "ShopOrdersSinceLastPushHigh" not in tests and "ShopLatencyP99High" in tests
    run = subprocess.run(
        [promtool, "test", "rules", str(tmp_path / "prometheus" / "tests.yaml")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
