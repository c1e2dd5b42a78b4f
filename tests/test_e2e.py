"""End to end on real servers: the rules rlmgen compiles run in a real Prometheus scraping
an exporter whose values the tests set; the Alertmanager configuration rlmgen compiles
runs in a real Alertmanager whose receivers are redirected to a webhook sink (a test-only
rewrite: tests/live_servers.redirect_receivers); `rlmgen health` asks the same Prometheus.

Proves: past a warning level the warning receiver gets the alert with its labels and
runbook_url; past the critical level the paging receiver gets it and the warning is
inhibited; back on target both resolve; `rlmgen health` says each state and exits by it;
and the seed's daily check prints the seed's five lines with live values."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rlmgen.cli import cli
from rlmgen.model.conventions import ALERTMANAGER_PATH, RULES_PATH
from rlmgen.pipeline import compile_specs
from tests.conftest import REPO
from tests.live_servers import (
    AlertmanagerServer,
    Exporter,
    PrometheusServer,
    WebhookSink,
    processes_mentioning,
    redirect_receivers,
    require_servers,
)

SEED = REPO / "specs" / "rlm-hypervisor.yaml"
# A service of another kind: a payments queue with a warning and a paging level, whose
# alert holds for no time so that the test takes seconds.
PAYMENTS = """\
apiVersion: rlmgen/v1
service:
  name: payments-worker
  title: Payments worker
  namespace: payments
  team: payments
  runbookUrl: https://wiki.example/payments-worker
  scrapeInterval: 1s
  evaluationInterval: 1s
metrics:
  - name: payments_queue_depth
    type: gauge
    unit: count
    description: Queue depth
    alert: {name: PaymentsQueueDepthHigh, for: 0s}
    levels: {target: < 10, warning: "> 100", critical: "> 500"}
routing:
  receivers:
    - name: slack-payments
      severities: [warning]
      slack: {channel: "#payments", apiUrlFile: /etc/alertmanager/secrets/slack}
    - name: pagerduty-payments
      severities: [critical]
      pagerduty: {routingKeyFile: /etc/alertmanager/secrets/pd}
"""
ALERT = "PaymentsQueueDepthHigh"
RUNBOOK_URL = "https://wiki.example/payments-worker#paymentsqueuedepthhigh"
WAIT = 20.0  # seconds for any one change to travel: scrape, evaluation, notification


@dataclass
class Stack:
    exporter: Exporter
    sink: WebhookSink
    alertmanager: AlertmanagerServer
    prometheus: PrometheusServer
    payments: Path


def _files(spec: Path, environment: str | None, out: Path) -> dict[str, bytes]:
    results = compile_specs([spec], out)
    [unit] = [r for r in results if r.environment == environment]
    assert not unit.errors, unit.errors
    return unit.files


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_servers()
    directory = tmp_path_factory.mktemp("e2e")
    payments = directory / "payments-worker.yaml"
    payments.write_text(PAYMENTS)
    paid = _files(payments, None, directory / "out")
    seed = _files(SEED, "production", directory / "out")
    rules = []
    for name, files in (("payments", paid), ("seed", seed)):
        path = directory / f"{name}-rules.yaml"
        path.write_bytes(files[RULES_PATH])
        rules.append(path)
    with contextlib.ExitStack() as servers:
        exporter = servers.enter_context(Exporter())
        _seed_values(exporter)
        exporter.set("payments_queue_depth", 5)
        sink = servers.enter_context(WebhookSink())
        config = redirect_receivers(paid[ALERTMANAGER_PATH].decode(), sink.url)
        alertmanager = servers.enter_context(AlertmanagerServer(config))
        prometheus = servers.enter_context(
            PrometheusServer(rules, [exporter.target], None, alertmanager.host_port)
        )
        prometheus.wait_until_scraped()
        yield Stack(exporter, sink, alertmanager, prometheus, payments)
    for server in (alertmanager, prometheus):
        assert server.process is not None and server.process.returncode is not None
        assert processes_mentioning(str(server.config_file)) == []


def _seed_values(exporter: Exporter) -> None:
    """What the seed's morning looks like: 0.001% errors, 45ms P99, 45% of the quota."""
    exporter.set_rate("rlm_requests", 100.0)
    exporter.set_rate("rlm_errors", 0.001)
    # 95 of 100 requests/s within 25ms, all within 50ms: the 99th percentile is 80% into
    # the (25ms, 50ms] bucket, 45ms
    exporter.set_rate("rlm_api_latency_bucket", 95.0, {"le": "0.025"})
    exporter.set_rate("rlm_api_latency_bucket", 100.0, {"le": "0.05"})
    exporter.set_rate("rlm_api_latency_bucket", 100.0, {"le": "+Inf"})
    exporter.set("rlm_quota_usage_daily", 0.45)


def _health(stack: Stack, *args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["health", "--prometheus", stack.prometheus.url, *args])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, result.stdout.splitlines()


def _health_until(
    stack: Stack, args: tuple[str, ...], wanted: Callable[[list[str]], bool]
) -> tuple[int, list[str]]:
    deadline = time.monotonic() + WAIT
    while True:
        code, lines = _health(stack, *args)
        if wanted(lines) or time.monotonic() > deadline:
            return code, lines
        time.sleep(0.5)


def test_the_seeds_daily_check_prints_its_five_lines(stack: Stack) -> None:
    args = ("--env", "production", str(SEED))
    expected = [
        "✓ All services healthy",
        "✓ Error rate: 0.001%",
        "✓ P99 latency: 45ms",
        "✓ Quota utilization: 45%",
        "✓ No critical alerts",
    ]
    code, lines = _health_until(stack, args, lambda lines: lines == expected)
    assert lines == expected
    assert code == 0


def _delivered(receiver: str, status: str, severity: str) -> Callable[[list[Any]], bool]:
    def found(payloads: list[Any]) -> bool:
        return any(
            payload["receiver"] == receiver
            and any(
                a["status"] == status
                and a["labels"].get("alertname") == ALERT
                and a["labels"].get("severity") == severity
                for a in payload["alerts"]
            )
            for payload in payloads
        )

    return found


def _alert(payloads: list[Any], receiver: str, status: str) -> dict[str, Any]:
    return next(
        alert
        for payload in payloads
        if payload["receiver"] == receiver
        for alert in payload["alerts"]
        if alert["status"] == status and alert["labels"].get("alertname") == ALERT
    )


def test_a_queue_through_warning_critical_and_back(stack: Stack) -> None:
    args = (str(stack.payments),)
    code, lines = _health_until(stack, args, lambda lines: "✓ Queue depth: 5" in lines)
    assert (code, lines) == (
        0,
        ["✓ All services healthy", "✓ Queue depth: 5", "✓ No critical alerts"],
    )

    # past the warning level: Slack gets it, with the labels and the runbook link
    stack.exporter.set("payments_queue_depth", 200)
    payloads = stack.sink.wait_for(_delivered("slack-payments", "firing", "warning"), WAIT)
    warning = _alert(payloads, "slack-payments", "firing")
    assert warning["labels"] == {
        "alertname": ALERT,
        "instance": stack.exporter.target,
        "job": "e2e",
        "namespace": "payments",
        "route": "slack-payments",
        "service": "payments-worker",
        "severity": "warning",
        "team": "payments",
    }
    assert warning["annotations"]["runbook_url"] == RUNBOOK_URL
    assert not _delivered("pagerduty-payments", "firing", "critical")(payloads)
    code, lines = _health_until(
        stack, args, lambda lines: "⚠ Queue depth: 200 (warning: > 100)" in lines
    )
    assert lines == [
        "⚠ Not healthy: payments-worker (Queue depth: warning, warning alerts firing)",
        "⚠ Queue depth: 200 (warning: > 100)",
        f"⚠ No critical alerts; 1 warning alert firing: {ALERT}",
    ]
    assert code == 1

    # past the critical level: PagerDuty gets it, and the warning is held back
    stack.exporter.set("payments_queue_depth", 600)
    payloads = stack.sink.wait_for(_delivered("pagerduty-payments", "firing", "critical"), WAIT)
    assert _alert(payloads, "pagerduty-payments", "firing")["annotations"]["runbook_url"] == (
        RUNBOOK_URL
    )

    def warning_inhibited(alerts: list[dict[str, Any]]) -> bool:
        return any(
            a["labels"]["severity"] == "warning"
            and a["status"]["state"] == "suppressed"
            and a["status"]["inhibitedBy"]
            for a in alerts
        )

    stack.alertmanager.wait_for_alerts(warning_inhibited, WAIT)
    code, lines = _health_until(
        stack, args, lambda lines: "✗ Queue depth: 600 (critical: > 500)" in lines
    )
    assert lines[1:] == [
        "✗ Queue depth: 600 (critical: > 500)",
        f"✗ 1 critical alert firing: {ALERT}; 1 warning alert firing: {ALERT}",
    ]
    assert code == 1

    # back on target: both resolve
    stack.sink.clear()
    stack.exporter.set("payments_queue_depth", 5)
    stack.sink.wait_for(_delivered("pagerduty-payments", "resolved", "critical"), WAIT)
    stack.alertmanager.wait_for_alerts(
        lambda alerts: not any(a["labels"].get("alertname") == ALERT for a in alerts), WAIT
    )
    code, lines = _health_until(stack, args, lambda lines: "✓ Queue depth: 5" in lines)
    assert (code, lines) == (
        0,
        ["✓ All services healthy", "✓ Queue depth: 5", "✓ No critical alerts"],
    )


VERIFIED = """\
apiVersion: rlmgen/v1
service:
  name: payments-worker
  title: Payments worker
  namespace: payments
  team: payments
  runbookUrl: https://wiki.example/payments-worker
metrics:
  - name: payments_queue_depth
    type: gauge
    unit: count
    labels: [queue]
  - name: payments_inflight
    type: gauge
    unit: count
  - name: payments_retries
    type: counter
alertGroups:
  - name: shards
    severity: warning
    alerts:
      - name: ShardBacklog
        expr: sum by (shard) (payments_inflight) > 1000
        summary: A shard's backlog
      - name: MainQueueDeep
        expr: payments_queue_depth{queue="main"} > 100
        summary: The main queue is deep
"""


def test_verify_looks_up_every_declared_series_and_the_labels_queries_need(
    stack: Stack, tmp_path: Path
) -> None:
    spec = tmp_path / "verified.yaml"
    spec.write_text(VERIFIED)
    stack.exporter.set("payments_inflight", 3)
    stack.prometheus.wait_for_query("payments_inflight", bool, WAIT)
    result = CliRunner().invoke(cli, ["verify", "--prometheus", stack.prometheus.url, str(spec)])
    url, shown = stack.prometheus.url, spec.as_posix()
    assert result.stdout.splitlines() == [
        f"{shown}:12:13: /metrics/0/labels: payments_queue_depth carries no label 'queue' in "
        f"{url}, which the spec declares (hint: drop it from labels, or find where the scrape "
        "loses it) [verify/missing-series]",
        f"{shown}:16:11: /metrics/2/name: payments_retries has no series in {url} in the last "
        "hour (hint: is its exporter scraped, and is the name spelled as it exports it?) "
        "[verify/missing-series]",
        f"{shown}:16:11: /metrics/2/name: warning: payments_retries is declared, but no alert, "
        "rule, panel or autoscaler reads it (hint: remove it, or use it) [verify/unread-metric]",
        f"{shown}:23:23: /alertGroups/0/alerts/0/expr: payments_inflight carries no label "
        f"'shard' in {url}; this query matches or groups by it (hint: the series as scraped "
        "lacks it: relabelled away, or named otherwise) [verify/missing-series]",
        f"{shown}:26:36: /alertGroups/0/alerts/1/expr: payments_queue_depth carries no label "
        f"'queue' in {url}; this query matches or groups by it (hint: the series as scraped "
        "lacks it: relabelled away, or named otherwise) [verify/missing-series]",
    ]
    assert result.stderr == (
        f"missing: 3 series of 1 spec looked up in {url}: 4 problems, 1 warning\n"
    )
    assert result.exit_code == 1
    # a declared metric kept on purpose: its warning suppressed, for verify and not unused
    spec.write_text(
        VERIFIED.replace(
            "  - name: payments_retries\n",
            "  - name: payments_retries  # rlmgen: disable=verify/unread-metric\n",
        )
    )
    result = CliRunner().invoke(cli, ["verify", "--prometheus", stack.prometheus.url, str(spec)])
    assert [line for line in result.stdout.splitlines() if "warning" in line] == []
    assert len(result.stdout.splitlines()) == 4
    assert CliRunner().invoke(cli, ["validate", str(spec)]).stdout == ""
    # the shipped payments spec: everything it declares is there
    result = CliRunner().invoke(
        cli, ["verify", "--prometheus", stack.prometheus.url, str(stack.payments)]
    )
    assert (result.exit_code, result.stdout) == (0, ""), result.output
