"""`rlmgen health` against a stand-in of Prometheus' query API that answers what each test
sets: the judging (levels, relative levels, limits), the seed's lines, the exit codes and
the failures of the server. The same command against a real Prometheus: test_e2e.py."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlmgen.cli import cli
from rlmgen.lang.display import format_value, written_display
from rlmgen.lang.units import SERIES_UNITS

SEED = "specs/rlm-hypervisor.yaml"
ERROR_RATE = "rate(rlm_errors[5m]) / rate(rlm_requests[5m])"
P99 = "service:rlm_api_latency:p99_rate5m"
QUOTA = "rlm_quota_usage_daily"


class FakePrometheus:
    """Answers /api/v1/query from `answers` (query -> [(labels, value)]); a query it does
    not know gets an empty vector, one in `refused` a 400 with Prometheus' error shape."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[dict[str, str], float | str]]] = {}
        self.refused: dict[str, str] = {}
        self.raw: dict[str, object] = {}  # query -> the JSON document answered, as is
        self.asked: list[str] = []
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                expr = query.get("query", [""])[0]
                fake.asked.append(expr)
                if fake.delay:
                    threading.Event().wait(fake.delay)
                if expr in fake.raw:
                    self._send(200, fake.raw[expr])
                    return
                if expr in fake.refused:
                    body = {"status": "error", "errorType": "bad_data", "error": fake.refused[expr]}
                    self._send(400, body)
                    return
                result = [
                    {"metric": labels, "value": [1.0, str(value)]}
                    for labels, value in fake.answers.get(expr, [])
                ]
                self._send(
                    200, {"status": "success", "data": {"resultType": "vector", "result": result}}
                )

            def _send(self, code: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up (the timeout test) is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()
    try:
        yield fake
    finally:
        fake.close()


def _healthy_seed(fake: FakePrometheus) -> None:
    fake.answers[ERROR_RATE] = [({}, 0.00001)]
    fake.answers[P99] = [({"service": "rlm-hypervisor"}, 0.045000000000000005)]
    fake.answers[QUOTA] = [({}, 0.45)]


def _health(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["health", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_the_seed_spec_prints_the_seeds_five_lines(
    in_repo: Path, prometheus: FakePrometheus
) -> None:
    _healthy_seed(prometheus)
    code, out, _ = _health("--prometheus", prometheus.url, "--env", "production", SEED)
    assert out.splitlines() == [
        "✓ All services healthy",
        "✓ Error rate: 0.001%",
        "✓ P99 latency: 45ms",
        "✓ Quota utilization: 45%",
        "✓ No critical alerts",
    ]
    assert code == 0
    assert prometheus.asked[0] == 'ALERTS{alertstate="firing"}'


def test_states_follow_the_levels_of_the_environment(
    in_repo: Path, prometheus: FakePrometheus
) -> None:
    _healthy_seed(prometheus)
    prometheus.answers[P99] = [({}, 0.3)]  # production warns above 200ms, staging above 400ms
    code, out, _ = _health("--prometheus", prometheus.url, "--env", "production", SEED)
    assert "⚠ P99 latency: 300ms (warning: > 200ms)" in out.splitlines()
    assert (
        out.splitlines()[0] == "⚠ Not healthy: rlm-hypervisor (production) (P99 latency: warning)"
    )
    assert code == 1
    code, out, _ = _health("--prometheus", prometheus.url, "--env", "staging", SEED)
    assert "✓ P99 latency: 300ms (off target: < 100ms)" in out.splitlines()
    assert code == 0


def test_a_critical_value_and_alerts_firing(in_repo: Path, prometheus: FakePrometheus) -> None:
    _healthy_seed(prometheus)
    prometheus.answers[ERROR_RATE] = [({"endpoint": "/a"}, 0.002), ({"endpoint": "/b"}, 0.07)]
    firing = 'ALERTS{alertstate="firing"}'
    prometheus.answers[firing] = [
        ({"alertname": "RLMHighErrorRate", "severity": "critical", "service": "rlm-hypervisor"}, 1),
        ({"alertname": "RLMQuotaNearLimit", "severity": "warning", "user": "a"}, 1),
        ({"alertname": "RLMQuotaNearLimit", "severity": "warning", "user": "b"}, 1),
        # another service's alert of the same name, and an alert no spec raises
        ({"alertname": "RLMHighErrorRate", "severity": "critical", "service": "other"}, 1),
        ({"alertname": "Watchdog", "severity": "none"}, 1),
    ]
    code, out, _ = _health("--prometheus", prometheus.url, "--env", "production", SEED)
    lines = out.splitlines()
    assert lines[1] == '✗ Error rate: 7% (critical: > 5%; worst of 2: endpoint="/b")'
    assert lines[-1] == (
        "✗ 1 critical alert firing: RLMHighErrorRate; 2 warning alerts firing: RLMQuotaNearLimit ×2"
    )
    assert code == 1


def test_no_data_is_not_healthy(in_repo: Path, prometheus: FakePrometheus) -> None:
    _healthy_seed(prometheus)
    del prometheus.answers[QUOTA]
    prometheus.answers[P99] = [({}, "NaN")]
    code, out, _ = _health("--prometheus", prometheus.url, "--env", "production", SEED)
    lines = out.splitlines()
    assert "⚠ P99 latency: no data (NaN: nothing to compute it from)" in lines
    assert "⚠ Quota utilization: no data (`rlm_quota_usage_daily` has no series)" in lines
    assert code == 1


def test_a_refused_query_is_reported_on_its_line(in_repo: Path, prometheus: FakePrometheus) -> None:
    _healthy_seed(prometheus)
    prometheus.refused[QUOTA] = "parse error: unexpected"
    code, out, _ = _health("--prometheus", prometheus.url, "--env", "production", SEED)
    assert (
        "⚠ Quota utilization: no data (Prometheus refused `rlm_quota_usage_daily`: "
        "parse error: unexpected)"
    ) in out.splitlines()
    assert code == 1


def test_json_report(in_repo: Path, prometheus: FakePrometheus) -> None:
    _healthy_seed(prometheus)
    code, out, _ = _health(
        "--prometheus", prometheus.url, "--env", "production", "--format", "json", SEED
    )
    report = json.loads(out)
    assert report["healthy"] is True and code == 0
    (service,) = report["services"]
    assert service["environment"] == "production"
    p99 = service["checks"][1]
    assert p99["display"] == "45ms"
    assert p99["levels"] == {"target": "< 100ms", "warning": "> 200ms", "critical": "> 500ms"}
    assert p99["state"] == "target"


def test_unreachable_is_exit_2_in_one_line(in_repo: Path) -> None:
    code, out, err = _health("--prometheus", "http://127.0.0.1:9", "--env", "production", SEED)
    assert code == 2 and out == ""
    assert (
        err
        == "rlmgen: Prometheus unreachable: cannot reach http://127.0.0.1:9: connection refused "
        "(3 tries)\n"
    )


def test_a_server_that_does_not_answer_times_out(in_repo: Path, prometheus: FakePrometheus) -> None:
    prometheus.delay = 1.0
    code, _, err = _health(
        "--prometheus", prometheus.url, "--timeout", "0.2", "--env", "production", SEED
    )
    assert code == 2
    assert err.startswith("rlmgen: Prometheus unreachable: ")
    assert "timed out" in err or "did not answer within 0.2s" in err


def test_a_spec_with_environments_needs_env(in_repo: Path, prometheus: FakePrometheus) -> None:
    code, _, err = _health("--prometheus", prometheus.url, SEED)
    assert code == 2
    assert (
        "specs/rlm-hypervisor.yaml has environments production, staging: choose one with --env"
        in err
    )


# --- judging other kinds of metrics -------------------------------------------------------

OTHER = """
apiVersion: rlmgen/v1
service:
  {name: batch, title: Batch jobs, namespace: jobs, team: data, runbookUrl: "https://wiki/batch"}
health:
  prometheusUrl: URL
metrics:
  - name: batch_job_duration_ms
    type: gauge
    unit: milliseconds
    description: Job duration
    levels: {target: < 2000, warning: "> 5000", critical: "> 10000"}
  - name: batch_workers_busy
    type: gauge
    unit: count
    description: Busy workers
    limit: batch_workers_total
    levels: {target: 40-60%, warning: "> 80%", critical: "> 95%"}
  - name: batch_workers_total
    type: gauge
    unit: count
  - name: batch_cost
    type: gauge
    unit: usd
    description: Spend per hour
    levels: {target: Trending down, warning: "> 50% increase", baseline: 1d}
  - name: batch_success_ratio
    type: gauge
    unit: ratio
    description: Successful jobs
    levels: {target: 99.99%, warning: < 99.9%, critical: < 99%}
"""


def _other(tmp_path: Path, url: str) -> Path:
    spec = tmp_path / "batch.yaml"
    spec.write_text(OTHER.replace("URL", url))
    return spec


def test_every_metric_with_levels_by_default(tmp_path: Path, prometheus: FakePrometheus) -> None:
    spec = _other(tmp_path, prometheus.url)
    prometheus.answers["batch_job_duration_ms"] = [({}, 6500)]
    prometheus.answers["batch_workers_busy / batch_workers_total"] = [({}, 0.7)]
    prometheus.answers["batch_cost"] = [({}, 12.5)]
    prometheus.answers["batch_cost / avg_over_time(batch_cost[1d])"] = [({}, 1.6)]
    prometheus.answers["batch_success_ratio"] = [({}, 0.99951)]
    code, out, _ = _health(str(spec))  # the URL from the spec
    assert out.splitlines()[1:] == [
        "⚠ Job duration: 6500ms (warning: > 5000)",
        "✓ Busy workers: 70% (off target: 40-60%)",
        "⚠ Spend per hour: $12.50 (+60% against the 1d average; warning: > 50% increase)",
        "✓ Successful jobs: 99.95% (off target: 99.99%)",
        "✓ No critical alerts",
    ]
    assert code == 1


@pytest.mark.parametrize(
    ("texts", "unit", "value", "shown"),
    [
        (["< 100ms", "> 200ms"], "seconds", 0.045000000000000005, "45ms"),
        (["99.99%", "< 99.9%"], "ratio", 0.99987, "99.99%"),
        (["> 80%"], "percent", 45.0, "45%"),
        (["> 512MiB"], "bytes", 300 * 2**20, "300MiB"),
        (["> 30000"], "milliseconds", 45000.0, "45000ms"),
        (["> 2s"], "milliseconds", 450.0, "0.45s"),
        (["> 1000"], "count", 1234.0, "1234"),
        (["> $5"], "usd", 0.0512, "$0.0512"),
    ],
)
def test_values_read_in_the_unit_the_levels_are_written_in(
    texts: list[str], unit: str, value: float, shown: str
) -> None:
    series = SERIES_UNITS[unit]
    display, decimals = written_display(texts, series)
    assert format_value(value, series, display, decimals) == shown


def test_a_value_past_a_level_reads_in_that_level_s_unit(
    tmp_path: Path, prometheus: FakePrometheus
) -> None:
    """Levels written in several units (`< 1d`, `> 26h`, `> 3d`): a value past one reads
    in its unit beside it, a healthy one in the target's."""
    spec = tmp_path / "backup.yaml"
    spec.write_text(
        OTHER.replace("URL", prometheus.url).split("metrics:")[0]
        + """metrics:
  - name: backup_age_seconds
    type: gauge
    unit: seconds
    description: Backup age
    levels: {target: "< 1d", warning: "> 26h", critical: "> 3d"}
"""
    )
    prometheus.answers["backup_age_seconds"] = [({}, 27.25 * 3600)]
    assert _health(str(spec))[1].splitlines()[1] == "⚠ Backup age: 27.2h (warning: > 26h)"
    prometheus.answers["backup_age_seconds"] = [({}, 4 * 86400)]
    assert _health(str(spec))[1].splitlines()[1] == "✗ Backup age: 4d (critical: > 3d)"
    prometheus.answers["backup_age_seconds"] = [({}, 6 * 3600)]
    assert _health(str(spec))[1].splitlines()[1] == "✓ Backup age: 0.25d"
    # healthy, in the target's unit: seconds beside `< 5s`, not minutes of `> 5m`
    spec.write_text(
        spec.read_text().replace(
            '{target: "< 1d", warning: "> 26h", critical: "> 3d"}',
            '{target: "< 5s", warning: "> 30s", critical: "> 5m"}',
        )
    )
    prometheus.answers["backup_age_seconds"] = [({}, 2.0)]
    assert _health(str(spec))[1].splitlines()[1] == "✓ Backup age: 2s"


@pytest.mark.parametrize(
    "answer",
    [
        {},
        [1, 2],
        {"status": "success", "data": {"resultType": "vector", "result": "x"}},
        {
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": None, "value": None}]},
        },
    ],
)
def test_a_server_that_is_not_prometheus_is_exit_2(
    in_repo: Path, prometheus: FakePrometheus, answer: object
) -> None:
    prometheus.raw['ALERTS{alertstate="firing"}'] = answer
    code, out, err = _health("--prometheus", prometheus.url, "--env", "production", SEED)
    assert (code, out) == (2, "")
    assert err.startswith("rlmgen: Prometheus unreachable: ") and "\n" not in err.rstrip("\n")


def test_extreme_values_and_values_next_to_their_level(
    in_repo: Path, prometheus: FakePrometheus
) -> None:
    _healthy_seed(prometheus)
    prometheus.answers[P99] = [({}, 1e308)]  # an exporter's "unknown" sentinel
    prometheus.answers[QUOTA] = [({}, 0.90001)]  # info above 90%: not "90%"
    code, out, _ = _health("--prometheus", prometheus.url, "--env", "production", SEED)
    lines = out.splitlines()
    assert "✗ P99 latency: 1e+308 seconds (critical: > 500ms)" in lines
    assert "ℹ Quota utilization: 90.001% (info: > 90%)" in lines
    assert code == 1


def test_staging_lists_only_its_own_alerts(in_repo: Path, prometheus: FakePrometheus) -> None:
    _healthy_seed(prometheus)
    prometheus.answers['ALERTS{alertstate="firing"}'] = [
        (
            {
                "alertname": "RLMHighErrorRate",
                "severity": "critical",
                "namespace": "rlm-production",
            },
            1,
        )
    ]
    code, out, _ = _health("--prometheus", prometheus.url, "--env", "staging", SEED)
    assert out.splitlines()[-1] == "✓ No critical alerts" and code == 0
    code, out, _ = _health("--prometheus", prometheus.url, "--env", "production", SEED)
    assert out.splitlines()[-1] == "✗ 1 critical alert firing: RLMHighErrorRate" and code == 1


def test_usage_errors(in_repo: Path, tmp_path: Path, prometheus: FakePrometheus) -> None:
    code, _, err = _health("--prometheus", "127.0.0.1:9090", "--env", "production", SEED)
    assert code == 2
    assert "'127.0.0.1:9090': give the URL with its scheme, e.g. http://127.0.0.1:9090" in err
    spec = _other(tmp_path, prometheus.url)
    code, _, err = _health("--env", "staging", str(spec))
    assert code == 2 and f"{spec.as_posix()} declares no environments: drop --env" in err
