"""Inhibition judged by a real Alertmanager (Debian's, on 127.0.0.1): a critical alert
holds back the warning of the same alert for the same series, never the warning of
another series (another method, another pod). The generated configuration is loaded as
it is; alerts carry the labels the generated rules give them."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from rlmgen.pipeline import compile_specs
from tests.conftest import require_tool

SPEC = """apiVersion: rlmgen/v1
service:
  name: search
  title: Search
  namespace: search
  team: search-sre
  runbookUrl: https://runbooks.example.com/search
metrics:
  - name: search_request_duration_milliseconds
    type: histogram
    labels: [method]
  - name: search_latency_p99
    description: p99 latency by method
    unit: milliseconds
    expr: >-
      histogram_quantile(0.99, sum by (le, method)
      (rate(search_request_duration_milliseconds_bucket[5m])))
    record: method:search_latency_p99:ms
    levels:
      warning: "> 200"
      critical: "> 500"
routing:
  receivers:
    - name: oncall
      severities: [critical]
      webhook: {url: "http://127.0.0.1:9/oncall"}
    - name: team
      severities: [warning]
      webhook: {url: "http://127.0.0.1:9/team"}
"""
DEADLINE = 20.0  # seconds, for the server to start and for inhibition to show


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("inhibition")
    spec = root / "search.yaml"
    spec.write_text(SPEC)
    [result] = compile_specs([spec], root / "out")
    assert not result.errors, [d.format() for d in result.errors]
    return result.files


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Callable[[dict], str]]:
    """Start Alertmanager on a configuration; every process is stopped at the end."""
    binary = require_tool("prometheus-alertmanager")
    started: list[subprocess.Popen[bytes]] = []

    def start(config: dict) -> str:
        path = tmp_path / f"alertmanager-{len(started)}.yaml"
        path.write_text(yaml.safe_dump(config))
        port = _free_port()
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={path}",
                f"--storage.path={tmp_path / f'data-{len(started)}'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=error",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        _wait(lambda: _get(f"{url}/-/ready") is not None, "Alertmanager to start")
        return url

    try:
        yield start
    finally:
        for process in started:
            process.kill()
            process.wait(timeout=10)


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read()
    except OSError:
        return None


def _wait(ready, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _post(url: str, alerts: list[dict[str, str]]) -> None:
    body = json.dumps([{"labels": labels} for labels in alerts]).encode()
    request = urllib.request.Request(
        f"{url}/api/v2/alerts", body, {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def _states(url: str, by: str = "method") -> dict[tuple[str, str], str]:
    """(the `by` label's value, severity) -> active or suppressed."""
    alerts = json.loads(_get(f"{url}/api/v2/alerts") or b"[]")
    return {(a["labels"][by], a["labels"]["severity"]): a["status"]["state"] for a in alerts}


def _alert_labels(built: dict[str, bytes], series: dict[str, str]) -> dict[str, dict[str, str]]:
    """The labels the generated level alerts fire with, for a series with `series`."""
    groups = yaml.safe_load(built["prometheus/rules.yaml"])["groups"]
    return {
        rule["labels"]["severity"]: {"alertname": rule["alert"], **rule["labels"], **series}
        for group in groups
        for rule in group["rules"]
        if "alert" in rule
    }


def _fire(url: str, built: dict[str, bytes]) -> None:
    query = _alert_labels(built, {"method": "Query"})
    suggest = _alert_labels(built, {"method": "Suggest"})
    _post(url, [query["critical"], query["warning"], suggest["warning"]])


def test_the_inhibition_tells_series_apart_by_the_labels_they_carry(built) -> None:
    config = yaml.safe_load(built["alertmanager/alertmanager.yaml"])
    assert {tuple(rule["equal"]) for rule in config["inhibit_rules"]} == {
        ("alertname", "service", "instance", "job", "method")
    }


def test_a_critical_alert_holds_back_the_warning_of_its_own_series_only(
    built, alertmanager
) -> None:
    url = alertmanager(yaml.safe_load(built["alertmanager/alertmanager.yaml"]))
    _fire(url, built)
    expected = {
        ("Query", "critical"): "active",
        ("Query", "warning"): "suppressed",
        ("Suggest", "warning"): "active",
    }
    _wait(lambda: _states(url) == expected, f"the alert states {expected}")


def test_inhibiting_by_name_and_service_alone_would_hold_back_other_series(
    built, alertmanager
) -> None:
    """The same server and alerts prove the test above can fail: with the equal labels
    rlmgen wrote before, the warning of another method is held back too."""
    config = yaml.safe_load(built["alertmanager/alertmanager.yaml"])
    for rule in config["inhibit_rules"]:
        rule["equal"] = ["alertname", "service"]
    url = alertmanager(config)
    _fire(url, built)
    _wait(
        lambda: _states(url).get(("Suggest", "warning")) == "suppressed",
        "the other method's warning to be held back",
    )


# The case: a per-pod metric whose labels the spec does not declare (its series
# come from kube-state-metrics: one instance and job for every pod), at two severities.
PODS_SPEC = """apiVersion: rlmgen/v1
service:
  name: batch
  title: Batch jobs
  namespace: batch
  team: data-platform
  runbookUrl: https://runbooks.example.com/batch
metrics:
  - name: batch_worker_memory_bytes
    description: Working set of a worker pod
    type: gauge
    unit: bytes
    levels:
      warning: "> 1GiB"
      critical: "> 2GiB"
routing:
  receivers:
    - name: oncall
      severities: [critical]
      webhook: {url: "http://127.0.0.1:9/oncall"}
    - name: team
      severities: [warning]
      webhook: {url: "http://127.0.0.1:9/team"}
"""
# What kube-state-metrics' series carry besides the pod: the same for every pod.
_KSM = {"instance": "10.0.0.7:8080", "job": "kube-state-metrics", "container": "worker"}


@pytest.fixture(scope="module")
def built_pods(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("inhibition-pods")
    spec = root / "batch.yaml"
    spec.write_text(PODS_SPEC)
    [result] = compile_specs([spec], root / "out")
    assert not result.errors, [d.format() for d in result.errors]
    return result.files


def _fire_pods(url: str, built: dict[str, bytes]) -> None:
    a = _alert_labels(built, {**_KSM, "pod": "worker-a"})
    b = _alert_labels(built, {**_KSM, "pod": "worker-b"})
    _post(url, [a["critical"], a["warning"], b["warning"]])


def test_a_critical_alert_of_one_pod_holds_back_that_pods_warning_only(
    built_pods, alertmanager
) -> None:
    """The metric's labels are not declared, so rlmgen cannot know its series carry
    `pod`; inhibition then also compares the labels that usually name an entity."""
    config = yaml.safe_load(built_pods["alertmanager/alertmanager.yaml"])
    assert all("pod" in rule["equal"] for rule in config["inhibit_rules"])
    url = alertmanager(config)
    _fire_pods(url, built_pods)
    expected = {
        ("worker-a", "critical"): "active",
        ("worker-a", "warning"): "suppressed",
        ("worker-b", "warning"): "active",
    }
    _wait(lambda: _states(url, "pod") == expected, f"the alert states {expected}")


def test_comparing_only_the_known_labels_would_hold_back_another_pods_warning(
    built_pods, alertmanager
) -> None:
    """The test above can fail: with the labels rlmgen compared before (the name, the
    service and the scrape's), worker-a's critical holds back worker-b's warning."""
    config = yaml.safe_load(built_pods["alertmanager/alertmanager.yaml"])
    for rule in config["inhibit_rules"]:
        rule["equal"] = ["alertname", "service", "instance", "job"]
    url = alertmanager(config)
    _fire_pods(url, built_pods)
    _wait(
        lambda: _states(url, "pod").get(("worker-b", "warning")) == "suppressed",
        "the other pod's warning to be held back",
    )
