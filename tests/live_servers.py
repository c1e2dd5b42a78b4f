"""A harness for end-to-end tests on real servers: a fake exporter, a webhook sink, and
Prometheus and Alertmanager (the Debian binaries) started as subprocesses on free ports of
127.0.0.1, each with its own temporary directory.

Everything started here is stopped by its context manager (or ``stop()``/``close()``, which
are idempotent), and, as a last resort, at interpreter exit. Every wait is bounded.

Prometheus' discovery managers pass targets on at most every 5 s, so the first scrape and
the first alert delivered to Alertmanager come about 5 s after Prometheus starts:
``PrometheusServer.wait_until_scraped`` waits for the scrape targets; alerts that fire
before Alertmanager is discovered are re-sent every ``--rules.alert.resend-delay`` (1 s
here)."""

from __future__ import annotations

import atexit
import contextlib
import copy
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest
import yaml

REQUIRE_TOOLS = "RLMGEN_REQUIRE_TOOLS"
LOCALHOST = "127.0.0.1"
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
POLL = 0.05

# Requests to the servers under test never go through a proxy named in the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago (the servers started here retry
    on another port when one is taken in between)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


def require_servers() -> tuple[str, str]:
    """The paths of prometheus and alertmanager; skip when either is absent, except in CI
    (``RLMGEN_REQUIRE_TOOLS=1``), where the test fails (the convention of
    ``tests.conftest.require_tool``)."""
    prometheus = shutil.which("prometheus")
    alertmanager = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    missing = [
        name
        for name, path in (("prometheus", prometheus), ("alertmanager", alertmanager))
        if path is None
    ]
    if prometheus and alertmanager:
        return prometheus, alertmanager
    what = " and ".join(missing)
    are = "are" if len(missing) > 1 else "is"
    if os.environ.get(REQUIRE_TOOLS) == "1":
        pytest.fail(f"{what} {are} required ({REQUIRE_TOOLS}=1) but not on PATH")
    pytest.skip(f"{what} {are} not installed (apt-get install prometheus prometheus-alertmanager)")


# HTTP client


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """The status and body of a GET; HTTP error statuses are returned, not raised."""
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def _get_json(url: str, timeout: float = 5.0) -> Any:
    status, body = _get(url, timeout)
    if status != 200:
        raise RuntimeError(f"GET {url} answered {status}: {body.decode(errors='replace')}")
    return json.loads(body)


def _truncated(text: str, limit: int = 20_000) -> str:
    return text if len(text) <= limit else f"...{text[-limit:]}"


# In-process HTTP servers


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _HttpServer:
    """A ThreadingHTTPServer on a port of 127.0.0.1 chosen by the kernel, served by a
    daemon thread until ``close()``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer((LOCALHOST, 0), handler)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._closed = False
        _LIVE.add(self)

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def target(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(STOP_TIMEOUT)
        _LIVE.discard(self)

    stop = close

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


class _Series:
    """A gauge (constant) or a counter growing ``per_second`` from ``base`` at ``since``."""

    def __init__(self, base: float, per_second: float | None, since: float) -> None:
        self.base, self.per_second, self.since = base, per_second, since

    def value(self, now: float) -> float:
        if self.per_second is None:
            return self.base
        return self.base + self.per_second * (now - self.since)


def _escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class _ExporterHandler(_QuietHandler):
    def do_GET(self) -> None:
        exporter: Exporter = self.server.owner  # type: ignore[attr-defined]
        if urllib.parse.urlsplit(self.path).path != "/metrics":
            self._reply(404, b"only /metrics\n")
            return
        self._reply(200, exporter.render().encode(), "text/plain; version=0.0.4; charset=utf-8")


class Exporter(_HttpServer):
    """A fake exporter: ``/metrics`` in the Prometheus text format 0.0.4, with gauges set by
    the test and counters that grow linearly with wall-clock time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[_SeriesKey, _Series] = {}
        super().__init__(_ExporterHandler)

    @staticmethod
    def _key(name: str, labels: Mapping[str, str] | None) -> _SeriesKey:
        if not _METRIC_NAME.fullmatch(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labels or {}:
            if not _LABEL_NAME.fullmatch(label) or label.startswith("__"):
                raise ValueError(f"invalid label name {label!r}")
        return name, tuple(sorted((labels or {}).items()))

    def set(self, name: str, value: float, labels: Mapping[str, str] | None = None) -> None:
        """The series ``name{labels}`` is ``value`` from now on (a gauge)."""
        key = self._key(name, labels)
        with self._lock:
            self._series[key] = _Series(float(value), None, time.monotonic())

    def set_rate(
        self,
        name: str,
        per_second: float,
        labels: Mapping[str, str] | None = None,
        start: float = 0.0,
    ) -> None:
        """The series ``name{labels}`` is a counter growing ``per_second`` from now on. A new
        counter starts at ``start``; a counter already exported continues from its current
        value (``start`` is ignored), so changing its rate never makes it decrease."""
        if per_second < 0 or not math.isfinite(per_second):
            raise ValueError(f"a counter's rate must be finite and >= 0, not {per_second}")
        key = self._key(name, labels)
        with self._lock:
            now = time.monotonic()
            current = self._series.get(key)
            base = current.value(now) if current and current.per_second is not None else start
            self._series[key] = _Series(base, float(per_second), now)

    def remove(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        """The series ``name{labels}`` is no longer exported (Prometheus marks it stale)."""
        with self._lock:
            self._series.pop(self._key(name, labels), None)

    def render(self) -> str:
        """The exposition, grouped by metric name; a ``# TYPE`` line when every series of
        the name is of one kind."""
        with self._lock:
            now = time.monotonic()
            families: dict[str, list[tuple[tuple[tuple[str, str], ...], _Series]]] = {}
            for (name, labels), series in sorted(self._series.items()):
                families.setdefault(name, []).append((labels, series))
            lines: list[str] = []
            for name, members in families.items():
                kinds = {series.per_second is None for _, series in members}
                if kinds == {True}:
                    lines.append(f"# TYPE {name} gauge")
                elif kinds == {False}:
                    lines.append(f"# TYPE {name} counter")
                for labels, series in members:
                    text = ",".join(f'{k}="{_escape_label_value(v)}"' for k, v in labels)
                    selector = f"{name}{{{text}}}" if text else name
                    lines.append(f"{selector} {_format_value(series.value(now))}")
        return "".join(line + "\n" for line in lines)


class _SinkHandler(_QuietHandler):
    def do_POST(self) -> None:
        sink: WebhookSink = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {"invalid_json": body.decode(errors="replace")}
        if not isinstance(payload, dict):
            payload = {"not_an_object": payload}
        sink._record(payload)
        self._reply(200, b"ok\n")


class WebhookSink(_HttpServer):
    """Records the JSON body of every POST (Alertmanager's webhook notifications: a
    ``receiver``, a ``status`` and ``alerts``, each with ``labels``, ``annotations`` and a
    ``status``)."""

    def __init__(self) -> None:
        self._received: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        super().__init__(_SinkHandler)

    @property
    def url(self) -> str:
        return f"http://{self.target}/hook"

    def _record(self, payload: dict[str, Any]) -> None:
        with self._changed:
            self._received.append(payload)
            self._changed.notify_all()

    def payloads(self) -> list[dict[str, Any]]:
        """A copy of the bodies received so far, oldest first."""
        with self._changed:
            return copy.deepcopy(self._received)

    def clear(self) -> None:
        with self._changed:
            self._received.clear()

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float
    ) -> list[dict[str, Any]]:
        """The bodies received so far, as soon as ``predicate`` holds for them; an
        AssertionError listing them after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                received = copy.deepcopy(self._received)
                if predicate(received):
                    return received
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    dump = _truncated(json.dumps(received, indent=1))
                    raise AssertionError(
                        f"no webhook payloads matching the predicate within {timeout} s; "
                        f"received {len(received)}:\n{dump}"
                    )
                self._changed.wait(min(remaining, 0.5))


# Subprocess servers


class _Process:
    """A server binary started in its own process group with a temporary directory, on a
    free port of 127.0.0.1, ready once ``/-/ready`` answers 200."""

    name = "server"

    def __init__(self, binary: str, startup_timeout: float) -> None:
        self.binary = binary
        self.startup_timeout = startup_timeout
        self.dir = Path(tempfile.mkdtemp(prefix=f"rlmgen-e2e-{self.name}-"))
        self.log = self.dir / "output.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._stopped = False
        _LIVE.add(self)

    def _arguments(self) -> list[str]:
        raise NotImplementedError

    def _start(self) -> None:
        """Start, retrying on another port when the one picked was taken meanwhile; on
        failure everything is cleaned up and the error names the tail of the log."""
        try:
            for _attempt in range(3):
                self.port = free_port()
                command = [self.binary, *self._arguments()]
                with open(self.log, "wb") as log:
                    self.process = subprocess.Popen(
                        command,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        cwd=self.dir,
                        start_new_session=True,
                    )
                if self._wait_ready():
                    return
                if "address already in use" not in self.log_tail():
                    break
            status = self.process.poll() if self.process else None
            what = (
                f"did not become ready within {self.startup_timeout} s"
                if status is None or status < 0  # killed by _wait_ready's timeout
                else f"exited with status {status} before it was ready"
            )
            raise RuntimeError(f"{self.name} {what}: {' '.join(command)}\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                if _get(f"{self.url}/-/ready", timeout=1.0)[0] == 200:
                    return True
            time.sleep(POLL)
        self._terminate()
        return False

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def host_port(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the server wrote (stdout and stderr)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            status = self.process.poll() if self.process else None
            raise RuntimeError(f"{self.name} exited (status {status}):\n{self.log_tail()}")

    def _terminate(self) -> None:
        """SIGTERM the process group, SIGKILL it after STOP_TIMEOUT, reap the process."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(STOP_TIMEOUT)
        # Anything the server left in its group (it starts none) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the server and remove its directory (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self._terminate()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            _LIVE.discard(self)

    close = stop

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _files_with_groups(rule_files: Iterable[Path]) -> set[str]:
    """The rule files that define at least one group (Prometheus lists only those)."""
    found = set()
    for path in rule_files:
        content = yaml.safe_load(path.read_text()) or {}
        if isinstance(content, dict) and content.get("groups"):
            found.add(str(path))
    return found


class PrometheusServer(_Process):
    """Prometheus scraping ``targets`` (job ``e2e``) every ``scrape_interval``, evaluating
    ``rule_files`` every ``evaluation_interval`` and sending alerts to ``alertmanager``
    (``host:port``), re-sent every second while they fire."""

    name = "prometheus"

    def __init__(
        self,
        rule_files: Iterable[str | Path] = (),
        targets: Iterable[str] = (),
        target_labels: Mapping[str, str] | None = None,
        alertmanager: str | None = None,
        *,
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
        binary: str | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.rule_files = [Path(path).resolve() for path in rule_files]
        for path in self.rule_files:
            if not path.is_file():
                raise FileNotFoundError(f"rule file {path} does not exist")
        self.targets = list(targets)
        found = binary or shutil.which("prometheus")
        if found is None:
            raise FileNotFoundError("prometheus is not on PATH")
        super().__init__(found, startup_timeout)
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": scrape_interval,
                "evaluation_interval": evaluation_interval,
            },
            "rule_files": [str(path) for path in self.rule_files],
            "scrape_configs": [
                {
                    "job_name": "e2e",
                    "static_configs": [
                        {"targets": self.targets, "labels": dict(target_labels or {})}
                    ],
                }
            ],
        }
        if alertmanager:
            config["alerting"] = {
                "alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]
            }
        self.config_file = self.dir / "prometheus.yml"
        self.config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        self._start()
        try:
            self._check_rules_loaded()
        except BaseException:
            self.stop()
            raise

    def _arguments(self) -> list[str]:
        return [
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.dir / 'data'}",
            f"--web.listen-address={self.host_port}",
            "--rules.alert.resend-delay=1s",
        ]

    def _check_rules_loaded(self) -> None:
        groups = self.rules()
        loaded = {group["file"] for group in groups}
        missing = _files_with_groups(self.rule_files) - loaded
        if missing:
            raise RuntimeError(
                f"prometheus did not load the rule files {sorted(missing)} "
                f"(it loaded {sorted(loaded)}):\n{self.log_tail()}"
            )

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The result of the instant query ``expr`` now (``data.result`` of
        /api/v1/query); a RuntimeError when Prometheus rejects it."""
        self.check_alive()
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        status, body = _get(url)
        answer = json.loads(body) if body.startswith(b"{") else {}
        if status != 200 or answer.get("status") != "success":
            raise RuntimeError(f"query {expr!r} failed ({status}): {body.decode(errors='replace')}")
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def wait_for_query(
        self,
        expr: str,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float,
    ) -> list[dict[str, Any]]:
        """The result of ``expr`` as soon as ``predicate`` holds for it (polled); an
        AssertionError with the last result after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if predicate(result):
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{expr!r} did not satisfy the predicate within {timeout} s; "
                    f"last result: {_truncated(json.dumps(result))}"
                )
            time.sleep(0.2)

    def wait_until_scraped(self, timeout: float = 15.0) -> None:
        """Wait until every target has been scraped successfully (Prometheus hands targets
        to its scrapers about 5 s after it starts)."""
        expected = len(self.targets)
        self.wait_for_query('up{job="e2e"} == 1', lambda result: len(result) == expected, timeout)

    def rules(self) -> list[dict[str, Any]]:
        """The rule groups Prometheus loaded (``data.groups`` of /api/v1/rules)."""
        self.check_alive()
        groups: list[dict[str, Any]] = _get_json(f"{self.url}/api/v1/rules")["data"]["groups"]
        return groups

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus' pending and firing alerts (``data.alerts`` of /api/v1/alerts)."""
        self.check_alive()
        alerts: list[dict[str, Any]] = _get_json(f"{self.url}/api/v1/alerts")["data"]["alerts"]
        return alerts


class AlertmanagerServer(_Process):
    """Alertmanager with the configuration ``config_yaml``, clustering disabled."""

    name = "alertmanager"

    def __init__(
        self,
        config_yaml: str,
        *,
        binary: str | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        found = binary or shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if found is None:
            raise FileNotFoundError("prometheus-alertmanager (alertmanager) is not on PATH")
        super().__init__(found, startup_timeout)
        self.config_file = self.dir / "alertmanager.yml"
        self.config_file.write_text(config_yaml)
        self._start()

    def _arguments(self) -> list[str]:
        return [
            f"--config.file={self.config_file}",
            f"--storage.path={self.dir / 'data'}",
            f"--web.listen-address={self.host_port}",
            # Empty: no cluster listener (it would bind 0.0.0.0:9094) and no gossip settling.
            "--cluster.listen-address=",
        ]

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert Alertmanager holds (/api/v2/alerts): ``labels``, ``annotations`` and
        ``status`` with ``state`` ("active", "suppressed", "unprocessed"),
        ``inhibitedBy`` and ``silencedBy``."""
        self.check_alive()
        alerts: list[dict[str, Any]] = _get_json(f"{self.url}/api/v2/alerts")
        return alerts

    def wait_for_alerts(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float
    ) -> list[dict[str, Any]]:
        """The alerts as soon as ``predicate`` holds for them (polled); an AssertionError
        with the last ones after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            alerts = self.alerts()
            if predicate(alerts):
                return alerts
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"alertmanager's alerts did not satisfy the predicate within {timeout} s: "
                    f"{_truncated(json.dumps(alerts))}"
                )
            time.sleep(0.2)


# Everything started and not yet stopped; stopped at exit if a test could not.
_LIVE: set[_HttpServer | _Process] = set()


@atexit.register
def _stop_everything() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()


def processes_mentioning(text: str) -> list[int]:
    """The ids of live processes whose command line contains ``text`` (read from /proc,
    so it needs no pgrep; zombies have no command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if text.encode() in cmdline:
            found.append(int(entry.name))
    return found


# Test-only rewrite of a shipped Alertmanager configuration

_ROUTE_TIMINGS = {"group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h"}


def _fast_route(route: dict[str, Any], root: bool) -> None:
    for key, value in _ROUTE_TIMINGS.items():
        if root or key in route:
            route[key] = value
    for child in route.get("routes") or []:
        _fast_route(child, root=False)


def redirect_receivers(config_yaml: str, sink_url: str) -> str:
    """A TEST-ONLY rewrite of an Alertmanager configuration, so that a real Alertmanager
    delivers its notifications to a WebhookSink at once. Shipped output is never changed:
    its receivers reach Slack, PagerDuty and mail through secret files that a test has not
    got, and its group_wait/group_interval are minutes long.

    - every receiver keeps its name, and its ``*_configs`` become one
      ``webhook_configs: [{url: sink_url, send_resolved: true}]`` (so the receiver a
      notification reached is the payload's ``receiver``);
    - every route that sets ``group_wait``/``group_interval``/``repeat_interval`` (and
      the root route always) gets 0s/1s/1h;
    - ``global`` keeps only ``resolve_timeout``: the rest are defaults for the replaced
      integrations (``*_file`` secrets, SMTP, ``http_config``, which webhooks would
      inherit) and ``templates`` go too (only the replaced integrations rendered them);
    - routing, matchers, ``continue``, ``inhibit_rules``, ``time_intervals`` and
      ``mute_time_intervals``/``active_time_intervals`` stay as they are."""
    if not sink_url.startswith(("http://", "https://")):
        raise ValueError(f"the sink URL must be http(s), not {sink_url!r}")
    config = yaml.safe_load(config_yaml)
    if not isinstance(config, dict) or not isinstance(config.get("route"), dict):
        raise ValueError("not an Alertmanager configuration (no route)")
    config["receivers"] = [
        {"name": receiver["name"], "webhook_configs": [{"url": sink_url, "send_resolved": True}]}
        for receiver in config.get("receivers") or []
    ]
    _fast_route(config["route"], root=True)
    kept = {k: v for k, v in (config.get("global") or {}).items() if k == "resolve_timeout"}
    if kept:
        config["global"] = kept
    else:
        config.pop("global", None)
    config.pop("templates", None)
    return yaml.safe_dump(config, sort_keys=False)
