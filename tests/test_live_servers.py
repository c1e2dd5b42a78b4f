"""The end-to-end harness works: a fake exporter scraped by a real Prometheus, whose alert
reaches a real Alertmanager and, through a receiver rewritten by ``redirect_receivers``, a
webhook sink; and everything started is gone afterwards."""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require_tool
from tests.live_servers import (
    AlertmanagerServer,
    Exporter,
    PrometheusServer,
    WebhookSink,
    free_port,
    processes_mentioning,
    redirect_receivers,
    require_servers,
)

RULES = """\
groups:
- name: smoke
  rules:
  - alert: SmokeHigh
    expr: smoke_gauge > 1
    for: 0s
    labels:
      severity: warning
    annotations:
      summary: smoke is {{ $value }}
"""

# What a shipped configuration looks like: a Slack receiver with its secret in a file.
SHIPPED_ALERTMANAGER = """\
route:
  receiver: hook
  group_by: [alertname, service]
  group_wait: 1m
  group_interval: 10m
  repeat_interval: 12h
receivers:
- name: hook
  slack_configs:
  - api_url_file: /etc/alertmanager/secrets/slack-webhook-url
    channel: '#smoke'
    send_resolved: true
"""

TRICKY_VALUE = 'C:\\dir "quoted"\nsecond line'


@dataclass
class Stack:
    exporter: Exporter
    sink: WebhookSink
    alertmanager: AlertmanagerServer
    prometheus: PrometheusServer


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Exporter → Prometheus → Alertmanager → sink, for the module; afterwards no process
    started for it remains, nor its directories."""
    require_servers()
    rules = tmp_path_factory.mktemp("rules") / "smoke.yaml"
    rules.write_text(RULES)
    with contextlib.ExitStack() as servers:
        exporter = servers.enter_context(Exporter())
        exporter.set("smoke_gauge", 0)
        exporter.set("smoke_info", 1, {"path": TRICKY_VALUE})
        exporter.set_rate("smoke_requests_total", 5.0)
        sink = servers.enter_context(WebhookSink())
        config = redirect_receivers(SHIPPED_ALERTMANAGER, sink.url)
        alertmanager = servers.enter_context(AlertmanagerServer(config))
        prometheus = servers.enter_context(
            PrometheusServer(
                [rules], [exporter.target], {"service": "smoke"}, alertmanager.host_port
            )
        )
        prometheus.wait_until_scraped()
        yield Stack(exporter, sink, alertmanager, prometheus)
    for server in (alertmanager, prometheus):
        assert server.process is not None and server.process.returncode is not None
        assert processes_mentioning(str(server.config_file)) == []
        assert not server.dir.exists()


def _value(result: list[dict[str, Any]]) -> float:
    [sample] = result
    return float(sample["value"][1])


def test_prometheus_scrapes_gauges_with_escaped_labels(stack: Stack) -> None:
    [sample] = stack.prometheus.query("smoke_info")
    assert sample["metric"]["path"] == TRICKY_VALUE
    assert sample["metric"]["service"] == "smoke"
    assert _value(stack.prometheus.query("smoke_gauge")) == 0


def test_rate_of_a_counter_is_the_rate_set(stack: Stack) -> None:
    def near(rate: float) -> Callable[[list[dict[str, Any]]], bool]:
        return lambda result: len(result) == 1 and abs(_value(result) - rate) < 0.05 * rate

    prometheus = stack.prometheus
    prometheus.wait_for_query("rate(smoke_requests_total[3s])", near(5.0), timeout=10)
    stack.exporter.set_rate("smoke_requests_total", 20.0)
    prometheus.wait_for_query("rate(smoke_requests_total[3s])", near(20.0), timeout=10)
    assert _value(prometheus.query("resets(smoke_requests_total[1m])")) == 0


def test_alert_fires_and_resolves_through_alertmanager(stack: Stack) -> None:
    def delivered(status: str) -> Callable[[list[dict[str, Any]]], bool]:
        return lambda payloads: any(
            payload["status"] == status
            and any(a["labels"].get("alertname") == "SmokeHigh" for a in payload["alerts"])
            for payload in payloads
        )

    stack.sink.clear()
    stack.exporter.set("smoke_gauge", 2)
    payloads = stack.sink.wait_for(delivered("firing"), timeout=15)
    firing = payloads[0]
    assert firing["receiver"] == "hook"
    [alert] = firing["alerts"]
    assert alert["status"] == "firing"
    assert alert["labels"] == {
        "alertname": "SmokeHigh",
        "severity": "warning",
        "service": "smoke",
        "job": "e2e",
        "instance": stack.exporter.target,
    }
    assert alert["annotations"] == {"summary": "smoke is 2"}
    [held] = stack.alertmanager.alerts()
    assert held["labels"]["alertname"] == "SmokeHigh"
    assert held["status"]["state"] == "active"
    assert held["status"]["inhibitedBy"] == []

    stack.exporter.set("smoke_gauge", 0)
    payloads = stack.sink.wait_for(delivered("resolved"), timeout=15)
    resolved = payloads[-1]
    assert resolved["receiver"] == "hook"
    assert [a["status"] for a in resolved["alerts"]] == ["resolved"]


def test_exporter_exposition(tmp_path: Path) -> None:
    with Exporter() as exporter:
        exporter.set("g", 1.5, {"b": "2", "a": TRICKY_VALUE})
        exporter.set("h", float("inf"))
        exporter.set_rate("c_total", 1000.0, {"x": "y"}, start=10.0)
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with direct.open(f"http://{exporter.target}/metrics", timeout=5) as answer:
            assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            lines = answer.read().decode().splitlines()
        assert lines[0] == "# TYPE c_total counter"
        assert lines[1].startswith('c_total{x="y"} ')
        assert lines[2:] == [
            "# TYPE g gauge",
            'g{a="C:\\\\dir \\"quoted\\"\\nsecond line",b="2"} 1.5',
            "# TYPE h gauge",
            "h +Inf",
        ]

        def counter() -> float:
            [line] = [line for line in exporter.render().splitlines() if line.startswith("c_")]
            return float(line.split()[-1])

        first = counter()
        assert first >= 10.0
        time.sleep(0.02)
        exporter.set_rate("c_total", 0.0, {"x": "y"}, start=0.0)  # start: only for new ones
        stopped = counter()
        assert stopped >= first + 1000.0 * 0.02
        time.sleep(0.02)
        assert counter() == stopped
        exporter.set_rate("c_total", 1.0, {"x": "y"})
        assert counter() >= stopped
        with pytest.raises(ValueError):
            exporter.set_rate("c_total", -1.0, {"x": "y"})
        exporter.remove("c_total", {"x": "y"})
        exporter.remove("h")
        assert exporter.render().splitlines() == lines[2:4]


def test_a_bad_rule_file_fails_fast_and_leaves_nothing(tmp_path: Path) -> None:
    require_servers()
    rules = tmp_path / "bad.yaml"
    rules.write_text("groups:\n- name: bad\n  rules:\n  - alert: Bad\n    expr: up >\n")
    before = set(processes_mentioning("rlmgen-e2e-prometheus"))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="exited with status 1") as failure:
        PrometheusServer([rules], [f"127.0.0.1:{free_port()}"])
    assert "could not parse expression" in str(failure.value)
    assert time.monotonic() - started < 5
    assert set(processes_mentioning("rlmgen-e2e-prometheus")) <= before


NESTED = """\
global:
  resolve_timeout: 5m
  slack_api_url_file: /etc/alertmanager/secrets/slack
  smtp_auth_password_file: /etc/alertmanager/secrets/smtp
  http_config:
    authorization:
      credentials_file: /etc/alertmanager/secrets/token
templates:
- /etc/alertmanager/templates/*.tmpl
route:
  receiver: slack
  group_by: [alertname, service]
  routes:
  - receiver: pager
    matchers: ['severity="critical"']
    group_wait: 30s
    continue: true
    routes:
    - receiver: mail
      matchers: ['team="business"']
      group_interval: 30m
      repeat_interval: 1d
      mute_time_intervals: [nights]
  - receiver: mail
    match:
      severity: info
    active_time_intervals: [office]
inhibit_rules:
- source_matchers: ['severity="critical"']
  target_matchers: ['severity="warning"']
  equal: [alertname]
time_intervals:
- name: nights
  time_intervals:
  - times: [{start_time: '22:00', end_time: '24:00'}]
- name: office
  time_intervals:
  - weekdays: [monday:friday]
receivers:
- name: slack
  slack_configs:
  - channel: '#x'
    send_resolved: true
- name: pager
  pagerduty_configs:
  - routing_key_file: /etc/alertmanager/secrets/pagerduty
- name: mail
  email_configs:
  - to: a@example.org
    auth_password_file: /etc/alertmanager/secrets/smtp
  webhook_configs:
  - url_file: /etc/alertmanager/secrets/hook
"""

SINK = "http://127.0.0.1:9/hook"


def test_redirect_receivers_on_a_nested_route_tree() -> None:
    text = redirect_receivers(NESTED, SINK)
    original, redirected = yaml.safe_load(NESTED), yaml.safe_load(text)
    hook = [{"url": SINK, "send_resolved": True}]
    assert redirected["receivers"] == [
        {"name": name, "webhook_configs": hook} for name in ("slack", "pager", "mail")
    ]
    assert redirected["global"] == {"resolve_timeout": "5m"}
    assert "templates" not in redirected
    assert "_file" not in text
    for key in ("inhibit_rules", "time_intervals"):
        assert redirected[key] == original[key]

    root = redirected["route"]
    assert (root["group_wait"], root["group_interval"], root["repeat_interval"]) == (
        "0s",
        "1s",
        "1h",
    )
    pager, info = root["routes"]
    assert pager == {
        "receiver": "pager",
        "matchers": ['severity="critical"'],
        "group_wait": "0s",
        "continue": True,
        "routes": [
            {
                "receiver": "mail",
                "matchers": ['team="business"'],
                "group_interval": "1s",
                "repeat_interval": "1h",
                "mute_time_intervals": ["nights"],
            }
        ],
    }
    assert info == original["route"]["routes"][1]
    assert list(redirected) == [key for key in original if key != "templates"]
    assert redirect_receivers(text, SINK) == text


def test_a_redirected_configuration_is_valid(tmp_path: Path) -> None:
    amtool = require_tool("amtool")
    path = tmp_path / "alertmanager.yaml"
    path.write_text(redirect_receivers(NESTED, SINK))
    result = subprocess.run(
        [amtool, "check-config", str(path)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
