"""Independent pieces of work (one spec file each) run across processes, their results in
the order given: the same output as one process, the cores of the machine used.

Workers start from a fork server that has imported rlmgen once (an explicit start method:
never fork a process that may hold threads, and no interpreter start per task). Results
come back pickled; the model's read-only mappings (MappingProxyType) are registered here
so that they can travel."""

from __future__ import annotations

import copyreg
import os
import signal
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any, TypeVar

JOBS_ENV = "RLMGEN_JOBS"
Result = TypeVar("Result")


def _mapping_proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


copyreg.pickle(MappingProxyType, lambda proxy: (_mapping_proxy, (dict(proxy),)))


def default_jobs() -> int:
    """RLMGEN_JOBS, else the CPUs this process may run on."""
    given = os.environ.get(JOBS_ENV, "")
    if given.isdigit() and int(given) >= 1:
        return int(given)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _worker_started() -> None:
    # Ctrl-C is the parent's to handle (it stops the pool); the generators' own forked
    # half would only compete with the other workers for the same cores.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["RLMGEN_PARALLEL"] = "0"


def run_ordered(
    function: Callable[..., Result],
    arguments: Sequence[tuple[Any, ...]],
    jobs: int,
    on_start: Callable[[int], None] = lambda _index: None,
    preload: Sequence[str] = (),
) -> list[Result]:
    """`[function(*a) for a in arguments]`, computed by up to `jobs` processes (in this
    one when one job, or one piece, is all there is); `on_start(i)` is told as the i-th
    result is awaited. An exception of a piece is raised here."""
    jobs = min(jobs, len(arguments))
    if jobs <= 1:
        results = []
        for index, args in enumerate(arguments):
            on_start(index)
            results.append(function(*args))
        return results
    import multiprocessing  # here: a run of one piece need not import them (15 ms)
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_started)
    try:
        futures = [pool.submit(function, *args) for args in arguments]
        results = []
        for index, future in enumerate(futures):
            on_start(index)
            results.append(future.result())
        return results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
