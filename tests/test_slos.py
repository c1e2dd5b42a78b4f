"""SLOs end to end: the generated rules fire when a hand computation says (judged by
promtool on rules rlmgen wrote), the generated scenarios predict that same minute, and
the rules, scenarios, dashboard and runbook section are consistent for the seed."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
import yaml

from rlmgen.derive import slo_scenarios
from rlmgen.pipeline import artifacts, compile_texts
from tests.conftest import MINIMAL_SPEC, require_tool

SLO = """
slos:
  - name: availability
    objective: 99.9%
    period: 30d
    sli:
      events:
        bad: shop_errors
        total: shop_requests
"""


def compiled(evaluation: str = "30s"):  # type: ignore[no-untyped-def]
    text = MINIMAL_SPEC.read_text().replace(
        "  team: shop-sre\n", f"  team: shop-sre\n  evaluationInterval: {evaluation}\n"
    )
    [result] = compile_texts({"shop.yaml": text + SLO})
    assert result.model is not None, [d.format() for d in result.diagnostics]
    return result.model


# By hand: 99.9% over 30d pages when both the 5m and 1h error ratios exceed 14.4 x 0.1%
# = 1.44%. Requests arrive at 1/s (60 a minute, sampled every minute); from minute 120
# every request fails. At 120m30s the last sample is still the healthy one at 120m:
# both ratios are 0. At 121m the 1h range [61m, 121m] holds 61 samples and 60 failures
# of 3600 requests (neither counter is extrapolated: the failures counter is 0 on the
# range's first sample, and the range starts on a sample): 1.67% > 1.44%; the 5m ratio
# is 60/300 = 20%. So with a 30s evaluation interval the page alert (for: 0) fires at
# the evaluation at minute 121, one minute after the outage begins, and not before.
FIRES_AT = 121 * 60


def test_the_generated_page_alert_fires_at_the_minute_computed_by_hand(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    model = compiled()
    files = artifacts(model)
    (tmp_path / "slos.yaml").write_bytes(files["prometheus/slo-availability.yaml"])
    failed = " ".join(["0"] * 121 + [str(60 * k) for k in range(1, 61)])
    requests = " ".join(str(60 * k) for k in range(181))

    page_rule = next(
        r
        for r in yaml.safe_load(files["prometheus/slo-availability.yaml"])["groups"][0]["rules"]
        if r.get("labels", {}).get("sloth_severity") == "page"
    )

    def page_at(seconds: int) -> dict:  # type: ignore[type-arg]
        firing = seconds >= FIRES_AT
        return {
            "eval_time": f"{seconds}s",
            "alertname": "AvailabilityErrorBudgetBurn",
            "exp_alerts": [
                {
                    "exp_labels": {
                        "namespace": "shop",
                        "route": "pagerduty-oncall",
                        "service": "shop",
                        "severity": "critical",
                        "sloth_id": "shop-availability",
                        "sloth_service": "shop",
                        "sloth_severity": "page",
                        "sloth_slo": "availability",
                        "team": "shop-sre",
                    },
                    "exp_annotations": page_rule["annotations"],  # plain text here
                }
            ]
            if firing
            else [],
        }

    tests = {
        "rule_files": ["slos.yaml"],
        "evaluation_interval": "30s",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": "shop_errors", "values": failed},
                    {"series": "shop_requests", "values": requests},
                ],
                # the ticket alert fires too (its 6h/3d pair sees the same outage): the
                # test checks the page rule only, through its severity's labels
                "alert_rule_test": [],
            }
        ],
    }
    for seconds in (FIRES_AT - 30, FIRES_AT):
        tests["tests"][0]["alert_rule_test"].append(page_at(seconds))
    # keep only the page rule, so the expected alerts are exactly the page's
    rules = yaml.safe_load(files["prometheus/slo-availability.yaml"])
    group = rules["groups"][0]
    group["rules"] = [
        r for r in group["rules"] if r.get("labels", {}).get("sloth_severity") != "ticket"
    ]
    (tmp_path / "slos.yaml").write_text(yaml.safe_dump(rules))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    run = subprocess.run(
        [promtool, "test", "rules", str(tmp_path / "tests.yaml")], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr


def test_the_scenario_simulation_predicts_the_same_minute() -> None:
    model = compiled()
    target = model.slos[0]
    roles = slo_scenarios.concrete_inputs(target.sli)
    assert roles == (("shop_errors", "bad"), ("shop_requests", "total"))
    # every request fails from minute 120: the simulation's own schedule notation
    fed = slo_scenarios._feed(roles, ((120 * 60.0, 0.0), (60 * 60.0, 1.0)), 60.0)
    limits, holds = slo_scenarios.alerting(target)
    states = dict(slo_scenarios._states(dict(limits), dict(holds), fed, 30.0, 180 * 60.0))
    assert [kind for kind, _ in states[FIRES_AT - 30]] == []
    assert "page" in [kind for kind, _ in states[FIRES_AT]]


def test_a_bucket_bound_is_written_as_go_clients_write_le() -> None:
    from rlmgen.lang.promtemplate import go_float

    assert [go_float(b) for b in (0.3, 1.0, 2.5, 1000.0, 1e6, 0.00005)] == [
        "0.3", "1", "2.5", "1000", "1e+06", "5e-05",
    ]  # fmt: skip


LATENCY_SLO = """
slos:
  - name: latency
    objective: 99%
    sli:
      latency:
        histogram: shop_request_duration_seconds
        threshold: 1s
"""
HISTOGRAM = """  - name: shop_request_duration_seconds
    type: histogram
    buckets: [0.25, 0.5, 1, 2.5]
"""


@pytest.mark.parametrize(("target", "le"), [("2.53", "1"), ("3.0", "1.0")])
def test_a_latency_slo_selects_the_le_its_target_prometheus_stores(
    tmp_path: Path, target: str, le: str
) -> None:
    """Prometheus 3 stores le="1" as le="1.0": the SLO's rules select, and its tests feed,
    the value the target stores; promtool passes the tests on the rules."""
    promtool = require_tool("promtool")
    text = MINIMAL_SPEC.read_text().replace(
        "apiVersion: rlmgen/v1\n", f'apiVersion: rlmgen/v1\ntargets: {{prometheus: "{target}"}}\n'
    )
    text = text.replace("metrics:\n", "metrics:\n" + HISTOGRAM, 1) + LATENCY_SLO
    [result] = compile_texts({"shop.yaml": text})
    assert result.model is not None, [d.format() for d in result.diagnostics]
    files = artifacts(result.model)
    rules, tests = (
        files[f"prometheus/slo-latency{suffix}.yaml"].decode() for suffix in ("", ".tests")
    )
    assert f'shop_request_duration_seconds_bucket{{le="{le}"}}' in rules
    assert f'shop_request_duration_seconds_bucket{{le="{le}"}}' in tests
    other = "1.0" if le == "1" else '1"'
    assert f'le="{other}' not in rules + tests
    for name, content in (("slo-latency.yaml", rules), ("slo-latency.tests.yaml", tests)):
        (tmp_path / name).write_text(content)
    run = subprocess.run(
        [promtool, "test", "rules", "slo-latency.tests.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


ROLE_SETS = [
    (("errors", "bad"), ("requests", "total")),
    (("ok", "good"), ("requests", "total")),
    (("other", "rest"), ("errors", "bad")),
    (("other", "rest"), ("ok", "good")),
]
SCHEDULES = [  # (schedule, horizon)
    (((3600.0, 0.0), (7200.0, 0.02), (3600.0, 0.0)), 4 * 3600.0),  # a page, then recovery
    (((6 * 3600.0, 0.0), (6 * 3600.0, 0.001)), 12 * 3600.0),  # under every limit
    (((3600.0, 0.0), (60.0, 0.5), (3600.0, 0.0)), 2 * 3600.0 + 60),  # a one-minute spike
    (((0.0, 0.0), (3600.0, 0.3)), 3600.0),  # failing from the first sample
    (((7200.0, 0.0), (60.0, 0.9)), 7260.0),  # the first failure on the last evaluation
    (((7200.0, 0.0),), 7200.0),  # never failing
]


@pytest.mark.parametrize("roles", ROLE_SETS, ids=lambda roles: "+".join(r for _, r in roles))
def test_the_quiet_hours_before_the_first_failure_are_skipped_exactly(
    roles: tuple[tuple[str, str], ...],
) -> None:
    """Evaluations before the first failed event are not computed: the states are those of
    a simulation that computes every evaluation (with the SLO's `for` and without)."""
    limits, holds = slo_scenarios.alerting(compiled().slos[0])
    pages = []
    for schedule, horizon in SCHEDULES:
        fed = slo_scenarios._feed(roles, schedule, 60.0)
        every = dataclasses.replace(fed, first_failure=0.0)
        for hold in (dict(holds), {kind: 0.0 for kind, _ in holds}):
            skipped = slo_scenarios._states(dict(limits), hold, fed, 30.0, horizon)
            computed = slo_scenarios._states(dict(limits), hold, every, 30.0, horizon)
            assert skipped == computed, schedule
        pages.append(any("page" in dict(firing) for _, firing in computed))
    # without `for`; the spike pages through the 30m/6h pair: the counters are an hour
    # old, so the 6h window's ratio is the hour's (0.82% > 0.6%)
    assert pages == [True, False, True, True, True, False]


def test_an_untested_slo_is_said_at_its_sli_key_where_a_suppression_goes(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from rlmgen.cli import cli

    raw = (
        "slos:\n  - name: availability\n    objective: 99%\n    sli:SUPPRESS\n      raw:\n"
        "        errorRatio: sum(rate(shop_errors[{{.window}}])) / "
        "sum(rate(shop_requests[{{.window}}]))\n"
    )
    spec = tmp_path / "shop.yaml"
    spec.write_text(MINIMAL_SPEC.read_text() + raw.replace("SUPPRESS", ""))
    said = CliRunner().invoke(cli, ["validate", "--strict", str(spec)]).stdout
    line = spec.read_text().splitlines().index("    sli:") + 1
    assert f"{spec.as_posix()}:{line}:5: /slos/0/sli: warning: no generated test" in said
    spec.write_text(
        MINIMAL_SPEC.read_text() + raw.replace("SUPPRESS", "  # rlmgen: disable=slo/untested")
    )
    said = CliRunner().invoke(cli, ["validate", "--strict", str(spec)]).stdout
    assert "slo/untested" not in said and "unused" not in said
