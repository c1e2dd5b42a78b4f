"""`rlmgen verify`: the series a spec declares, and the labels its queries need, looked
up in a live Prometheus (the live counterpart of the static label checks, like pint's
series check); every finding located at the declaration or the query in the spec."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.lang import promql
from rlmgen.live.prometheus import PARALLEL_QUERIES, Prometheus
from rlmgen.model import types as m
from rlmgen.model.compile.references import BUILTIN_SERIES
from rlmgen.pipeline import Compiled
from rlmgen.spec.diagnostics import Diagnostic, join_pointer, sort_key

LOOKBACK = 3600.0  # a series counts as present when it had a sample in the last hour
_QUERY_KEYS = ("expr", "query", "limit")


@dataclass(frozen=True)
class Verified:
    result: Compiled
    diagnostics: tuple[Diagnostic, ...]
    series: int  # how many series were looked up


@dataclass(frozen=True)
class _Lookup:
    series: str
    pointer: str  # where the spec declares it
    recorded: bool  # made by this spec's recording rules


def verify(prometheus: Prometheus, results: Sequence[Compiled]) -> list[Verified]:
    """Raises Unreachable when Prometheus does not answer."""
    plans = [(r, _lookups(r.model), _queries(r)) for r in results if r.model is not None]
    names = sorted({lookup.series for _, lookups, _ in plans for lookup in lookups})
    since = time.time() - LOOKBACK
    prometheus.label_names(names[0] if names else "up", since)  # unreachable: say so once
    with ThreadPoolExecutor(max_workers=PARALLEL_QUERIES) as pool:
        found = dict(
            zip(
                names, pool.map(lambda n: set(prometheus.label_names(n, since)), names), strict=True
            )
        )
    return [
        Verified(
            result,
            tuple(sorted(_findings(result, lookups, queries, found, prometheus.url), key=sort_key)),
            len(lookups),
        )
        for result, lookups, queries in plans
    ]


def _lookups(spec: m.Spec | None) -> list[_Lookup]:
    assert spec is not None
    lookups = []
    for metric in spec.metrics:
        pointer = join_pointer(metric.pointer, "name")
        if metric.record:
            lookups.append(_Lookup(metric.record, join_pointer(metric.pointer, "record"), True))
        if metric.expr:
            continue  # computed from other series, under its record name if any
        lookups.append(_Lookup(_exported(metric), pointer, False))
    return lookups


def _exported(metric: m.Metric) -> str:
    """The series a declared metric is scraped as (a histogram's by its buckets)."""
    return f"{metric.name}_bucket" if metric.type == "histogram" else metric.name


def _queries(result: Compiled) -> list[tuple[str, dict[str, set[str]]]]:
    """(pointer, labels each series needs) of every PromQL text of the spec."""
    assert result.spec is not None
    found = []
    for pointer, key, text in _texts(result.spec.data, ""):
        if "dashboards" in pointer.split("/")[:2]:
            text = promql.for_dashboards(text)
        elif key == "query":
            continue  # only dashboards call their PromQL `query`
        try:
            ast = promql.parse(text)
        except Exception:  # a valid spec's PromQL parses; a stand-in may not: skip it
            continue
        found.append((pointer, promql.needed_labels(ast)))
    return found


def _texts(value: Any, pointer: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            here = join_pointer(pointer, str(key))
            if key in _QUERY_KEYS and isinstance(item, str):
                yield here, str(key), item
            else:
                yield from _texts(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, join_pointer(pointer, str(index)))


def _findings(
    result: Compiled,
    lookups: list[_Lookup],
    queries: list[tuple[str, dict[str, set[str]]]],
    found: dict[str, set[str]],
    url: str,
) -> Iterator[Diagnostic]:
    spec, loaded = result.model, result.spec
    assert spec is not None and loaded is not None
    for lookup in lookups:
        if not found.get(lookup.series):
            yield loaded.diagnostic(
                lookup.pointer,
                f"{lookup.series} has no series in {url} in the last hour",
                "load this spec's prometheus/rules.yaml into that Prometheus"
                if lookup.recorded
                else "is its exporter scraped, and is the name spelled as it exports it?",
                check="verify/missing-series",
            )
    for metric in spec.metrics:
        exported = _exported(metric)
        present = found.get(exported)
        for label in metric.labels or ():
            if present and label not in present:
                yield loaded.diagnostic(
                    join_pointer(metric.pointer, "labels"),
                    f"{exported} carries no label '{label}' in {url}, which the spec declares",
                    "drop it from labels, or find where the scrape loses it",
                    check="verify/missing-series",
                )
    for pointer, needed in queries:
        for series, labels in sorted(needed.items()):
            present = found.get(series)
            missing = sorted(labels - present) if present else []
            if missing:
                yield loaded.diagnostic_in_value(
                    pointer,
                    missing[0],
                    f"{series} carries no label {', '.join(repr(x) for x in missing)} in "
                    f"{url}; this query matches or groups by it",
                    "the series as scraped lacks it: relabelled away, or named otherwise",
                    occurrence=_word(loaded.written(pointer) or "", missing[0]),
                    check="verify/missing-series",
                )
    yield from _unused(spec, loaded, queries)


def _word(text: str, word: str) -> int:
    """Which occurrence of `word` in `text` stands alone (a label, not part of a name)."""
    occurrence, index = 0, text.find(word)
    while index >= 0:
        end = index + len(word)
        alone = (index == 0 or not (text[index - 1].isalnum() or text[index - 1] in "_:")) and (
            end == len(text) or not (text[end].isalnum() or text[end] in "_:")
        )
        if alone:
            return occurrence
        occurrence += 1
        index = text.find(word, index + 1)
    return 0


def _unused(
    spec: m.Spec, loaded: Any, queries: list[tuple[str, dict[str, set[str]]]]
) -> Iterator[Diagnostic]:
    read = {series for _, needed in queries for series in needed}
    read |= {p.metric.name for d in spec.dashboards for p in d.panels if p.metric}
    read |= {x.metric.name for w in spec.autoscaling for x in w.metrics if x.metric}
    read |= {c.metric for c in spec.health.checks if c.metric}
    for metric in spec.metrics:
        if metric.expr or metric.levels or metric.name in BUILTIN_SERIES:
            continue
        names = {metric.name, *(metric.name + s for s in ("_bucket", "_sum", "_count"))}
        if not names & read:
            yield loaded.diagnostic(
                join_pointer(metric.pointer, "name"),
                f"{metric.name} is declared, but no alert, rule, panel or autoscaler reads it",
                "remove it, or use it",
                severity="warning",
                check="verify/unread-metric",
            )
