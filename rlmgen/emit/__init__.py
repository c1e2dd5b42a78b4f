"""Emitters: pure functions `(Spec, Rules) -> {relative path: text}`, one module per
artifact kind, listed once in EMITTERS. They never touch the disk, read the clock or
depend on dict/set order, and none imports another: what two of them share is derived
(rlmgen.derive) or a convention (rlmgen.model.conventions)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import Any, TypeVar

from rlmgen.derive.rules import Rules
from rlmgen.model.types import Spec
from rlmgen.output import parallel

Emitter = Callable[[Spec, Rules], dict[str, str]]


def _imported_when_called(module: str, function: str = "emit") -> Callable[..., Any]:
    """`rlmgen.emit.<module>.<function>`, its module imported at the first call: a forked
    child imports only the emitters it runs, while the parent imports the others (Jinja
    and the Grafana SDK are a fifth of a small build's start)."""

    def call(*args: Any) -> Any:
        return getattr(import_module(f"{__name__}.{module}"), function)(*args)

    call.__qualname__ = call.__name__ = f"{module}.{function}"
    return call


# Every artifact kind, in the order its files are listed.
EMITTERS: tuple[tuple[str, Emitter], ...] = tuple(
    (name, _imported_when_called(name))
    for name in (
        "prometheus_rules",
        "promtool_tests",
        "slo_tests",
        "grafana",
        "hpa",
        "prometheus_adapter",
        "alertmanager",
        "runbook",
    )
)

# What an environment's services share (out/<environment>/_cluster/): each service's part,
# made from its spec alone (and cached with it), and the files made of all the parts.
ClusterEmitter = tuple[Callable[[Spec], Any], Callable[[list[Any]], dict[str, str]]]
CLUSTER_EMITTERS: tuple[tuple[str, ClusterEmitter], ...] = tuple(
    (
        name,
        (_imported_when_called(name, "cluster_part"), _imported_when_called(name, "emit_cluster")),
    )
    for name in ("alertmanager", "prometheus_adapter", "grafana")
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


# The work split in two halves: the tests (promtool's and the SLOs') in a forked child,
# the rest here. For 10,000 metrics the two take about the same time (benchmarks/run.py:
# tests 3.0-3.1 s; rules, runbook and dashboards 3.2 s); for the seed
# the child computes the SLO scenarios while this process imports Jinja and the Grafana
# SDK. The forked work is counted roughly in milliseconds: one per level alert, fifty per
# alerting SLO. A build of one spec file forks from FORK_MIN_WORK (a fork of a small
# process costs a few milliseconds); a build of many, one after the other, only for a
# large spec (FORK_MIN_WORK_AMONG_MANY): each fork of a process that holds the files made
# so far costs some 20 ms of system time, measured on a platform of 50 specs.
FORKED = ("promtool_tests", "slo_tests")
FORK_MIN_WORK = 20
FORK_MIN_WORK_AMONG_MANY = 500
_SLO_WORK = 50


class PathClash(RuntimeError):
    """Two emitters write the same path: a bug in rlmgen, not in a spec."""


def emit_all(spec: Spec, rules: Rules) -> dict[str, str]:
    """Every artifact of `spec`, in EMITTERS order whichever process made it."""
    return emit_each([(spec, rules)], lambda _spec, texts: texts)[0]


Finished = TypeVar("Finished")
Finish = Callable[[Spec, dict[str, str]], Mapping[str, Finished]]


def emit_each(
    specs: Sequence[tuple[Spec, Rules]],
    finish: Finish[Finished],
    meanwhile: Callable[[], object] = lambda: None,
    *,
    fork_from: int = FORK_MIN_WORK,
) -> list[dict[str, Finished]]:
    """Every artifact of each spec (a spec file's environments), in EMITTERS order whichever
    process made it, with one fork for all when their forked work is `fork_from` or more;
    `meanwhile()` is called here before the child's results are awaited. Each emitter's
    files pass through `finish(spec, files)` (rendering them to bytes) as soon as they are
    made, in the process that made them: a large spec's texts are hundreds of MB, and
    holding them beside their bytes would double that."""
    everything = tuple(name for name, _ in EMITTERS)
    if forked_work(specs) >= fork_from and parallel.available():
        child = parallel.start(lambda: [_run(FORKED, *spec, finish) for spec in specs])
        here = tuple(name for name in everything if name not in FORKED)
        try:
            produced = [_run(here, *spec, finish) for spec in specs]
            meanwhile()
        except BaseException:
            child.cancel()
            raise
        for mine, theirs in zip(produced, child.result(), strict=True):
            mine.update(theirs)
    else:
        produced = [_run(everything, *spec, finish) for spec in specs]
        meanwhile()
    return [_in_order(files) for files in produced]


def forked_work(specs: Sequence[tuple[Spec, Rules]]) -> int:
    """The FORKED emitters' work, roughly in milliseconds: level alerts and alerting SLOs."""
    return sum(
        sum(1 for rule in rules.alerts if rule.origin == "levels")
        + _SLO_WORK * sum(1 for target in spec.slos if target.alerts)
        for spec, rules in specs
    )


def _in_order(produced: dict[str, Mapping[str, Finished]]) -> dict[str, Finished]:
    artifacts: dict[str, Finished] = {}
    for name, _ in EMITTERS:
        for path, text in produced.pop(name).items():
            if path in artifacts:
                raise PathClash(f"emitters {name!r} and another both write {path!r}")
            artifacts[path] = text
    return artifacts


def _run(
    names: tuple[str, ...], spec: Spec, rules: Rules, finish: Finish[Finished]
) -> dict[str, Mapping[str, Finished]]:
    registry = dict(EMITTERS)
    return {name: finish(spec, registry[name](spec, rules)) for name in names}
