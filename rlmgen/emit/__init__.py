"""Emitters: pure functions `(Spec, Rules) -> {relative path: text}`, one module per
artifact kind, listed once in EMITTERS. They never touch the disk, read the clock or
depend on dict/set order, and none imports another: what two of them share is derived
(rlmgen.derive) or a convention (rlmgen.model.conventions)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from rlmgen.derive.rules import Rules
from rlmgen.emit import (
    alertmanager,
    grafana,
    hpa,
    prometheus_adapter,
    prometheus_rules,
    promtool_tests,
    runbook,
    slo_tests,
)
from rlmgen.model.types import Spec
from rlmgen.output import parallel

Emitter = Callable[[Spec, Rules], dict[str, str]]

# Every artifact kind, in the order its files are listed.
EMITTERS: tuple[tuple[str, Emitter], ...] = (
    ("prometheus_rules", prometheus_rules.emit),
    ("promtool_tests", promtool_tests.emit),
    ("slo_tests", slo_tests.emit),
    ("grafana", grafana.emit),
    ("hpa", hpa.emit),
    ("prometheus_adapter", prometheus_adapter.emit),
    ("alertmanager", alertmanager.emit),
    ("runbook", runbook.emit),
)

# What an environment's services share (out/<environment>/_cluster/): each service's part,
# made from its spec alone (and cached with it), and the files made of all the parts.
ClusterEmitter = tuple[Callable[[Spec], Any], Callable[[list[Any]], dict[str, str]]]
CLUSTER_EMITTERS: tuple[tuple[str, ClusterEmitter], ...] = (
    ("alertmanager", (alertmanager.cluster_part, alertmanager.emit_cluster)),
    ("prometheus_adapter", (prometheus_adapter.cluster_part, prometheus_adapter.emit_cluster)),
    ("grafana", (grafana.cluster_part, grafana.emit_cluster)),
)

ClusterParts = dict[str, Any]  # emitter name: the service's part


def cluster_parts(spec: Spec) -> ClusterParts:
    """What `spec` adds to its environment's cluster-level files."""
    return {name: part(spec) for name, (part, _) in CLUSTER_EMITTERS}


def emit_cluster_parts(services: list[tuple[str, ClusterParts]]) -> dict[str, str]:
    """The cluster-level files of one environment, from its services' parts (put in
    service order here)."""
    ordered = [parts for _, parts in sorted(services, key=lambda service: service[0])]
    artifacts: dict[str, str] = {}
    for name, (_, combine) in CLUSTER_EMITTERS:
        for path, text in combine([parts[name] for parts in ordered]).items():
            if path in artifacts:
                raise PathClash(f"cluster emitters {name!r} and another both write {path!r}")
            artifacts[path] = text
    return artifacts


# The work split in two halves of about equal time on large specs (measured by
# benchmarks/run.py): the promtool tests in a forked child, the rest here (with the
# dashboards here too since their JSON is written faster: 4.1-4.5 s against 4.8-5.0 s
# for 10,000 metrics, where tests and dashboards took 4.3 s against 3.2 s). Below
# PARALLEL_MIN_METRICS a fork costs more than it saves.
FORKED = ("promtool_tests",)
PARALLEL_MIN_METRICS = 300


class PathClash(RuntimeError):
    """Two emitters write the same path: a bug in rlmgen, not in a spec."""


def emit_all(spec: Spec, rules: Rules) -> dict[str, str]:
    """Every artifact of `spec`, in EMITTERS order whichever process made it."""
    return emit_finished(spec, rules, dict)


Finished = TypeVar("Finished")


def emit_finished(
    spec: Spec, rules: Rules, finish: Callable[[dict[str, str]], Mapping[str, Finished]]
) -> dict[str, Finished]:
    """emit_all, each emitter's files passed through `finish` (rendering them to bytes)
    as soon as they are made, in the process that made them: a large spec's texts are
    hundreds of MB, and holding them beside their bytes would double that."""
    if len(spec.metrics) >= PARALLEL_MIN_METRICS and parallel.available():
        child = parallel.start(lambda: _run(FORKED, spec, rules, finish))
        here = tuple(name for name, _ in EMITTERS if name not in FORKED)
        try:
            produced = _run(here, spec, rules, finish)
        except BaseException:
            child.cancel()
            raise
        produced.update(child.result())
    else:
        produced = _run(tuple(name for name, _ in EMITTERS), spec, rules, finish)
    artifacts: dict[str, Finished] = {}
    for name, _ in EMITTERS:
        for path, text in produced.pop(name).items():
            if path in artifacts:
                raise PathClash(f"emitters {name!r} and another both write {path!r}")
            artifacts[path] = text
    return artifacts


def _run(
    names: tuple[str, ...],
    spec: Spec,
    rules: Rules,
    finish: Callable[[dict[str, str]], Mapping[str, Finished]],
) -> dict[str, Mapping[str, Finished]]:
    registry = dict(EMITTERS)
    return {name: finish(registry[name](spec, rules)) for name in names}
