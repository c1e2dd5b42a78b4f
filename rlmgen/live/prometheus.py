"""A small client of Prometheus' HTTP API (instant queries, series labels), standard
library only: `rlmgen health` and `rlmgen verify` ask a handful of questions, and a
dependency for that would outweigh them."""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from rlmgen.compiled_dataclasses import dataclass

DEFAULT_TIMEOUT = 10.0
RETRIES = 2  # after the first try: connection failures and 5xx are retried
PARALLEL_QUERIES = 8  # requests in flight at once: a handful of checks, a gentle load
_BACKOFF = 0.5  # seconds before the first retry, doubled after each


class Unreachable(Exception):
    """Prometheus did not answer: nothing it would say is known."""


class QueryFailed(Exception):
    """Prometheus answered, and refused the query (the message is its own)."""


@dataclass(frozen=True)
class Sample:
    labels: Mapping[str, str]
    value: float


class Prometheus:
    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT, retries: int = RETRIES):
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries

    def query(self, expr: str) -> list[Sample]:
        """An instant query now: its samples (a scalar answer is one sample)."""
        data = self._get("/api/v1/query", [("query", expr)])
        try:
            kind, result = data["resultType"], data["result"]
            if kind == "scalar":
                return [Sample({}, _number(result[1]))]
            if kind != "vector" or not isinstance(result, list):
                raise QueryFailed(f"expected an instant vector, got {kind}")
            return [
                Sample(
                    {str(k): str(v) for k, v in (item.get("metric") or {}).items()},
                    _number(item["value"][1]),
                )
                for item in result
            ]
        except (KeyError, IndexError, TypeError, AttributeError):
            raise Unreachable(f"{self.url} does not answer as Prometheus does") from None

    def label_names(self, match: str, start: float) -> list[str]:
        """The label names of the series `match` selects that had samples since `start`."""
        data = self._get("/api/v1/labels", [("match[]", match), ("start", f"{start:.3f}")])
        if not isinstance(data, list):
            raise Unreachable(f"{self.url} does not answer as Prometheus does")
        return [str(name) for name in data]

    def _get(self, path: str, params: Sequence[tuple[str, str]]) -> Any:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        delay = _BACKOFF
        for attempt in range(self.retries + 1):
            try:
                return _answer(url, self.timeout)
            except Unreachable as exc:
                if attempt == self.retries:
                    tries = self.retries + 1
                    raise Unreachable(f"{exc} ({tries} tries)" if tries > 1 else str(exc)) from None
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # the loop returns or raises


def _answer(url: str, timeout: float) -> Any:
    """The `data` of one API answer; Unreachable for what a retry may cure."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:  # Prometheus answers 400/422 with its reason
        body = exc.read()
        if exc.code in (400, 422):
            raise QueryFailed(_error_of(body) or f"HTTP {exc.code}") from None
        raise Unreachable(f"HTTP {exc.code} {exc.reason} from {_origin(url)}") from None
    except urllib.error.URLError as exc:
        raise Unreachable(f"cannot reach {_origin(url)}: {_reason(exc.reason)}") from None
    except TimeoutError:
        raise Unreachable(f"{_origin(url)} did not answer within {timeout:g}s") from None
    except OSError as exc:
        raise Unreachable(f"cannot reach {_origin(url)}: {exc.strerror or exc}") from None
    try:
        document = json.loads(body)
    except ValueError:
        raise Unreachable(f"{_origin(url)} did not answer with JSON: is it Prometheus?") from None
    if not isinstance(document, dict) or document.get("status") not in ("success", "error"):
        raise Unreachable(f"{_origin(url)} does not answer as Prometheus does")
    if document["status"] != "success":
        raise QueryFailed(_error_of(body) or "Prometheus reported an error")
    return document.get("data")


def _error_of(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        return str(document["error"])
    return None


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason)


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _number(text: object) -> float:
    try:
        return float(str(text))
    except ValueError:
        return math.nan
