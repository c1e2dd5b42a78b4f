from __future__ import annotations

import pytest

from tests.conftest import seed_model


@pytest.fixture(scope="module")
def seed():
    return seed_model()


def test_levels_are_normalised_to_base_units(seed) -> None:
    latency = seed.metric("rlm_api_latency_p99")
    assert latency.levels.warning.value == 0.2 and latency.levels.warning.kind == "above"
    assert latency.levels.critical.value == 0.5
    availability = seed.metric("rlm_api_availability")
    assert (
        availability.levels.warning.value == 0.999 and availability.levels.warning.kind == "below"
    )
    assert availability.levels.target.text == "99.99%"
    cpu = seed.metric("rlm_cpu_utilization")
    assert (cpu.levels.target.kind, cpu.levels.target.value, cpu.levels.target.high) == (
        "band",
        0.4,
        0.6,
    )


def test_recorded_metrics_are_read_through_their_recording_rule(seed) -> None:
    assert seed.metric("rlm_api_latency_p99").series == "service:rlm_api_latency:p99_rate5m"
    assert seed.metric("rlm_queue_depth").series == "rlm_queue_depth"


def test_relative_levels_carry_their_baseline(seed) -> None:
    cost = seed.metric("rlm_cost_per_request")
    assert (cost.levels.info.kind, cost.levels.info.value, cost.levels.baseline) == (
        "increase",
        0.2,
        604800,
    )
    users = seed.metric("rlm_user_active")
    assert (users.levels.info.kind, users.levels.info.value, users.levels.baseline) == (
        "decrease",
        0.5,
        3600,
    )
    assert users.levels.target.kind == "qualitative"


def test_alerts_resolve_severity_labels_and_receiver(seed) -> None:
    alerts = {a.name: a for a in seed.alerts}
    assert len(alerts) == 8
    high_error = alerts["RLMHighErrorRate"]
    assert (high_error.severity, high_error.for_seconds, high_error.receiver) == (
        "critical",
        120,
        "pagerduty-oncall",
    )
    assert dict(high_error.labels) == {"team": "rlm-sre"}
    assert high_error.description == "Error rate is {{ $value | humanizePercentage }}"
    assert alerts["RLMQuotaNearLimit"].receiver == "slack-warnings"
    assert alerts["RLMCostSpike"].receiver == "email-business"
    assert dict(alerts["RLMCostSpike"].labels) == {"channel": "email"}


def test_dashboards_and_panels(seed) -> None:
    assert [d.uid for d in seed.dashboards] == ["rlm-executive", "rlm-operations", "rlm-capacity"]
    assert [d.refresh for d in seed.dashboards] == [300, 10, 60]
    panel = seed.dashboards[0].panels[0]
    assert panel.metric is seed.metric("rlm_api_availability")
    assert panel.description == "API uptime percentage"
    assert sum(len(d.panels) for d in seed.dashboards) == 11


def test_autoscaling_targets(seed) -> None:
    api, oolong, quota = seed.autoscaling
    assert (api.min_replicas, api.max_replicas) == (5, 50)
    cpu, agents = api.metrics
    assert (cpu.target.kind, cpu.target.value, cpu.scale_down_below.value) == (
        "Utilization",
        70,
        30,
    )
    assert (agents.source, agents.target.kind, agents.target.value) == ("pods", "AverageValue", 10)
    assert api.scale_up.stabilization_window_seconds == 60
    assert (
        api.scale_down.policies[0].value == 10 and api.scale_down.policies[0].period_seconds == 60
    )
    assert (oolong.min_replicas, oolong.max_replicas, oolong.metrics[0].target.kind) == (
        1,
        100,
        "Value",
    )
    assert quota.metrics[0].target.value == pytest.approx(0.1)  # 100ms in seconds


def test_model_is_frozen(seed) -> None:
    with pytest.raises(AttributeError):
        seed.service.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        seed.service.labels["x"] = "y"  # type: ignore[index]
