"""The compile walk's checks of levels and the scenarios that prove them agree: a level the
walk accepts fires in its scenario, and promtool agrees with rlmgen's simulation on
specs unlike the seed (relative levels, odd evaluation intervals, long `for`)."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlmgen.derive.rules import derive_rules
from rlmgen.derive.scenarios import edges, scenario
from rlmgen.pipeline import compile_specs, compile_texts
from tests.conftest import require_tool

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
        case_ = scenario(rule, rules, result.model.service.evaluation_interval)
        assert rule in case_.checkpoints[-1].firing
        assert rule not in case_.checkpoints[0].firing


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
            assert rule in case_.checkpoints[-1].firing
            assert rule not in case_.checkpoints[0].firing


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
    promtool = require_tool("promtool")
    levels, hold, evaluation, (before, after) = PROMTOOL_CASES[name]
    spec = tmp_path / "levels.yaml"
    spec.write_text(_spec(levels, hold=hold, evaluation=evaluation))
    [result] = compile_specs([spec], tmp_path / "out")
    assert not result.errors, [d.format() for d in result.errors]
    (tmp_path / "prometheus").mkdir()
    for path in ("prometheus/rules.yaml", "prometheus/tests.yaml"):
        (tmp_path / path).write_bytes(result.files[path])
    tests = str(tmp_path / "prometheus" / "tests.yaml")
    run = subprocess.run([promtool, "test", "rules", tests], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    rules = tmp_path / "prometheus" / "rules.yaml"
    assert before in rules.read_text()
    rules.write_text(rules.read_text().replace(before, after))
    run = subprocess.run([promtool, "test", "rules", tests], capture_output=True, text=True)
    assert run.returncode != 0, after


def test_the_scenarios_of_every_case_are_in_the_tests_file(tmp_path: Path) -> None:
    levels, hold, evaluation, _ = PROMTOOL_CASES["drops in their natural order"]
    [result] = compile_texts({"s.yaml": _spec(levels, hold=hold, evaluation=evaluation)})
    assert result.model is not None
    from rlmgen.pipeline import artifacts

    tests = yaml.safe_load(artifacts(result.model)["prometheus/tests.yaml"])["tests"]
    assert len(tests) == 2  # one scenario per level


def _plain(value: float) -> str:
    return format(Decimal(repr(value)), "f")
