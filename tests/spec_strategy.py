"""Hypothesis strategies for whole specs, generated from the spec language's JSON Schema.

The schema gives the shape; the values come from small pools, so that references
(metrics in PromQL, receivers, playbooks) resolve often enough for many generated specs to
validate, and from the edge values that broke rlmgen before: zero and odd durations,
levels of every form and unit, template braces, names of the runbook's own headings.
(hypothesis-jsonschema would do the shape part, but it does not run with this project's
hypothesis.)"""

from __future__ import annotations

import copy
import string
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from rlmgen.spec.schema import schema

METRICS = ("app_latency", "app_errors", "app_requests", "app_queue", "app_ratio")
IDENTIFIERS = ("alpha", "beta", "gamma")
TEXTS = (
    "Alpha",
    "Queue depth",
    "Dashboards",
    "Key Metrics",
    "Incident Response",
    "Unrouted",
    "Table of Contents",
    "{{ 7 }}",
    "a {{ $value }} b",
    "a | b `c`",
    "# not a heading",
    "two\nlines",
    "ünïcödé",
    "0+1x10",
    "1 2 3 _ stale",
    "5+0x30",
)
DURATIONS = (
    "30s", "1m", "5m", "59s", "7s", "0s", "100ms", "1500ms", "1ms", "1h", "2h30m",
    "1d", "7d", "1w", "13d", "15d", "1y",
)  # fmt: skip
PROMQL = (
    "app_latency",
    "app_queue",
    'app_queue{job="x"}',
    "rate(app_errors[5m])",
    "rate(app_errors[5m]) / rate(app_requests[5m]) > 0.05",
    "sum by (le) (rate(app_latency_bucket[5m]))",
    "histogram_quantile(0.99, sum by (le) (rate(app_latency_bucket[5m])))",
    "app_ratio < 0.9",
    "sum(app_queue) by (job)",
    "up == 0",
    "app_queue > 1e308",
    "count_unique(app_queue)",
    "undeclared_series > 1",
)
LEVELS = (
    "> 200ms", "< 100ms", "> 2h30m", "< 99.9%", "> 80%", "< 80% limit", "> 95% limit",
    "> 0.5", "< 0", "> 1e308", "> 1e-300", "0.5", "40-60%", "outside 30-70%",
    "outside 10-90%", "> 20% increase", "> 50% increase", "drop > 50%", "drop > 90%",
    "drop > 100%", "> 0% increase", "> 1GiB", "> $5", "> 1000", "> 1000.0000001",
    3, 0, -1, 0.25, 1e300,
)  # fmt: skip
TARGETS = (*LEVELS, "Growth", "Trending down")
QUANTITIES = ("70%", "10", "100ms", "500m", "1GiB", "0", "100", "30%", 50, 0.5, 1e20)
LABEL_NAMES = ("team", "tier", "env")

SELECTORS = ("app_queue", 'app_queue{job="x"}', "app_errors", 'app_latency_bucket{le="+Inf"}')
NOTATIONS = ("0+1x10", "1 2 3 _ stale", "5+0x30", "100+0x2520 200+0x40", "1+1x5 Inf NaN", "x")

_DEFINITIONS = schema()["$defs"]
_OVERRIDES: dict[str, st.SearchStrategy[Any]] = {
    "exampleSeries": st.lists(
        st.fixed_dictionaries(
            {
                "series": st.sampled_from((*SELECTORS, "rate(app_errors[5m])")),
                "values": st.sampled_from(NOTATIONS),
            }
        ),
        min_size=1,
        max_size=3,
    ),
    "identifier": st.sampled_from(IDENTIFIERS),
    "metricName": st.sampled_from(METRICS),
    "text": st.sampled_from(TEXTS),
    "duration": st.sampled_from(DURATIONS),
    "promql": st.sampled_from(PROMQL),
    "level": st.sampled_from(LEVELS),
    "quantity": st.sampled_from(QUANTITIES),
    "labels": st.dictionaries(st.sampled_from(LABEL_NAMES), st.sampled_from(TEXTS), max_size=2),
}
_WEEKDAY = "(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_WEEKDAYS = f"^{_WEEKDAY}(:{_WEEKDAY})?$"
_KUBERNETES_NAME = (
    "^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_URL_CHARS = '[^\\s<>"`{}|\\\\^]+$'
_URL = "^https?://" + _URL_CHARS
_PATTERNS: dict[str, st.SearchStrategy[str]] = {
    "^[A-Za-z_][A-Za-z0-9_]*$": st.sampled_from(
        ("AppHigh", "Dashboards", "apphigh", "AppQueueHigh", "Alpha")
    ),
    "^[a-zA-Z0-9_.-]+$": st.sampled_from(("critical", "warnings", "g.1")),
    "^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*[a-zA-Z0-9_]$": st.sampled_from(
        ("job:app_latency:p99", "svc:app_queue:max")
    ),
    "^[a-z0-9][a-z0-9-]{0,39}$": st.sampled_from(("ops", "alpha", "provisioning")),
    "^now(-[0-9]+[smhdwMy])?$": st.sampled_from(("now-6h", "now", "now-7d")),
    _URL: st.sampled_from(("https://runbooks.example.com/svc", "http://x/")),
    "^[#@][^\\s{}#@]+$": st.sampled_from(("#ops", "@someone")),
    "^[^@\\s{}]+@[^@\\s{}]+$": st.just("ops@example.com"),
    "^[^:\\s]+:[0-9]+$": st.just("smtp.example.com:587"),
    "^/[^\u0000-\u001f\u007f{}]*$": st.sampled_from(("/etc/secrets/a", "/etc/secrets/b/key")),
    "^(https?|tel|mailto):" + _URL_CHARS: st.just("https://example.com"),
    "^[a-zA-Z_][a-zA-Z0-9_]*$": st.sampled_from(("endpoint", "job", "pod")),
    "^([a-zA-Z_][a-zA-Z0-9_]*|\\.\\.\\.)$": st.sampled_from(("alertname", "service", "...")),
    "^[0-9]+\\.[0-9]+(\\.[0-9]+)?$": st.sampled_from(("2.42", "2.49", "3.0", "0.25", "0.27")),
    "^[0-9]+(\\.[0-9]+)?%$": st.sampled_from(("99.9%", "99%", "100%", "0%", "99.99%")),
    "^([01][0-9]|2[0-3]):[0-5][0-9]$": st.sampled_from(("09:00", "00:00", "17:30")),
    "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$": st.sampled_from(("17:00", "24:00", "09:00")),
    _WEEKDAYS: st.sampled_from(("monday:friday", "saturday", "sunday:monday")),
    "^-?[0-9]{1,2}(:-?[0-9]{1,2})?$": st.sampled_from(("1:7", "-1", "15")),
    "^([a-z]+|[0-9]{1,2})(:([a-z]+|[0-9]{1,2}))?$": st.sampled_from(("january:march", "12")),
    "^[A-Za-z_][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$": st.sampled_from(
        ("Europe/Berlin", "UTC", "Local", "EST5EDT")
    ),
    _KUBERNETES_NAME: st.sampled_from(("grafana_dashboard", "example.com/folder")),
    "^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$": st.sampled_from(("1", "", "yes")),
}


BASE = yaml.safe_load((Path(__file__).parent / "cases" / "valid" / "minimal.yaml").read_text())


def specs() -> st.SearchStrategy[dict[str, Any]]:
    """Whole spec documents in the schema's shape, and a valid spec with one part of it
    generated (a whole generated document rarely gets every part right at once)."""
    return st.one_of(whole_specs(), focused_specs())


@st.composite
def focused_specs(draw: st.DrawFn) -> dict[str, Any]:
    """tests/cases/valid/minimal.yaml with one top-level part generated, and its
    scrape and evaluation intervals sometimes too."""
    document = copy.deepcopy(BASE)
    # metrics (and their levels) weigh most: their scenarios are where most can go wrong
    part = draw(st.sampled_from(("metrics", "metrics", "metrics", "alertGroups", "routing",
                                 "dashboards", "autoscaling", "runbook")))  # fmt: skip
    document[part] = draw(_strategy(schema()["properties"][part]))
    for key in ("scrapeInterval", "evaluationInterval"):
        if draw(st.booleans()):
            document["service"][key] = draw(st.sampled_from(DURATIONS))
    return _with_coherent_levels(draw, _resolve_references(document))


@st.composite
def whole_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Whole spec documents in the schema's shape, most of their references resolving,
    and about half of the metrics with levels that agree with each other (the scenarios
    of level alerts are where a build has most to get right)."""
    return _with_coherent_levels(draw, _resolve_references(draw(_strategy(schema()))))


def _with_coherent_levels(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    for metric in document["metrics"]:
        if "levels" in metric and draw(st.booleans()):
            metric["unit"], metric["levels"] = draw(coherent_levels())
            if "limit" in metric:
                del metric["limit"]
    return document


@st.composite
def coherent_levels(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A unit and 1-3 alerting levels in one direction, each more severe one further."""
    severities = draw(
        st.sampled_from((["warning"], ["critical"], ["info"], ["warning", "critical"],
                         ["info", "warning", "critical"]))
    )  # fmt: skip
    form = draw(st.sampled_from(("above", "below", "outside", "increase", "decrease")))
    if form in ("increase", "decrease"):
        top = 99 if form == "decrease" else 500
        changes = sorted(draw(st.lists(st.integers(1, top), min_size=len(severities),
                                       max_size=len(severities), unique=True)))  # fmt: skip
        words = "{}% increase" if form == "increase" else "drop > {}%"
        levels: dict[str, Any] = {
            s: words.format(c) for s, c in zip(severities, changes, strict=True)
        }
        levels["baseline"] = draw(st.sampled_from(("1m", "10m", "1h", "6h", "1d", "7d", "13d")))
        if form == "increase":
            levels = {k: (f"> {v}" if k != "baseline" else v) for k, v in levels.items()}
        return draw(st.sampled_from(("count", "usd", "ratio"))), levels
    scale = draw(st.sampled_from((1e-6, 0.001, 1.0, 1000.0, 1e9, 1e15)))
    gap = draw(st.sampled_from((1e-9, 0.001, 0.5, 3.0)))
    values = [scale * (1 + gap) ** i for i in range(len(severities))]
    unit = draw(st.sampled_from(("seconds", "milliseconds", "ratio", "count", "bytes")))
    if form == "above":
        levels = {s: f"> {v!r}" for s, v in zip(severities, values, strict=True)}
    elif form == "below":
        levels = {s: f"< {v!r}" for s, v in zip(severities, reversed(values), strict=True)}
    else:
        levels = {
            s: f"outside {scale - v * gap - gap!r}-{scale + v + gap!r}"
            for s, v in zip(severities, values, strict=True)
        }
    return unit, levels


def _resolve_references(document: dict[str, Any]) -> dict[str, Any]:
    """Declare the pool's metrics and playbooks that the document leaves undeclared, and
    give each panel one form (text, or one of query / queries / metric): without this
    almost every generated spec fails on a reference, and the walk past them is not
    exercised."""
    metrics = document.setdefault("metrics", [])
    declared = {m["name"] for m in metrics}
    kinds = {"app_latency": "histogram", "app_errors": "counter", "app_requests": "counter"}
    for name in METRICS:
        if name not in declared:
            metrics.append({"name": name, "type": kinds.get(name, "gauge")})
    runbook = document.setdefault("runbook", {})
    playbooks = runbook.setdefault("playbooks", [])
    ids = {p["id"] for p in playbooks}
    playbooks += [
        {"id": i, "title": f"Playbook {i}", "steps": [{"step": "look"}]}
        for i in IDENTIFIERS
        if i not in ids
    ]
    for dashboard in document.get("dashboards", []):
        rows = [dashboard.get("panels", [])] + [r["panels"] for r in dashboard.get("rows", [])]
        for panel in (p for row in rows for p in row):
            forms = [k for k in ("query", "queries", "metric") if k in panel]
            if panel["type"] == "text":
                for key in forms:
                    del panel[key]
                panel.setdefault("content", "Some *markdown*")
            else:
                panel.pop("content", None)
                for key in forms[1:]:
                    del panel[key]
                if not forms:
                    panel["metric"] = METRICS[0]
    return document


# id(node) -> (node, its strategy): holding the node keeps its id from being reused
_BUILT: dict[int, tuple[dict[str, Any], st.SearchStrategy[Any]]] = {}


def _strategy(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The strategy of a schema node, built once per node."""
    if id(node) not in _BUILT:
        _BUILT[id(node)] = (node, _build(node))
    return _BUILT[id(node)][1]


def _build(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        if name in _OVERRIDES:
            return _OVERRIDES[name]
        return st.deferred(lambda: _strategy(_DEFINITIONS[name]))
    if "format" in node and node["format"] == "target-level":
        return st.sampled_from(TARGETS)
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if isinstance(kind, list):
        return st.one_of([_strategy({**node, "type": k}) for k in kind])
    if kind == "object" or "properties" in node:
        return _object(node)
    if kind == "array":
        item = node.get("items", {})
        items = _strategy(item)
        key = _identifying_key(item)
        unique_by = (lambda entry: entry.get(key)) if key else None
        return st.lists(items, min_size=node.get("minItems", 0), max_size=3, unique_by=unique_by)
    if kind == "string":
        if "pattern" in node:
            return _PATTERNS[node["pattern"]]
        return st.text(string.ascii_letters, min_size=node.get("minLength", 0), max_size=8)
    if kind == "integer":
        return st.integers(node.get("minimum", -5), node.get("maximum", 120))
    if kind == "number":
        return st.one_of(st.integers(-10, 10), st.floats(-1e6, 1e6, allow_nan=False))
    if kind == "boolean":
        return st.booleans()
    return st.none()


def _object(node: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    if "oneOf" in node and all("properties" in branch for branch in node["oneOf"]):
        return st.one_of([_object({**branch}) for branch in node["oneOf"]])
    properties: dict[str, Any] = node.get("properties", {})
    required = set(node.get("required", []))
    choices = [set(b.get("required", [])) for b in node.get("oneOf", [])]
    exclusive = set().union(*choices) if choices else set()

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        wanted = set(required)
        if choices:
            wanted |= draw(st.sampled_from(choices))
        for key in sorted(set(properties) - exclusive - required):
            if draw(st.booleans()):
                wanted.add(key)
        for key, needs in node.get("dependentRequired", {}).items():
            if key in wanted:
                wanted |= set(needs)
        return {key: draw(_strategy(properties[key])) for key in sorted(wanted)}

    return build()


def _identifying_key(item: dict[str, Any]) -> str | None:
    """The key that names a list's entries (`name`, `uid`, `id`), kept unique in a list."""
    if "$ref" in item:
        item = _DEFINITIONS.get(item["$ref"].removeprefix("#/$defs/"), {})
    required = item.get("required", [])
    return next((k for k in ("name", "uid", "id") if k in required), None)
