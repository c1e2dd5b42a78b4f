"""Run one function in a forked child and collect its result later: the second core for
large builds. The child shares the parent's memory copy-on-write (the model is not
copied or pickled); only the result comes back, pickled through a pipe. An exception
in the child is raised again in the parent, with the child's traceback as a note."""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

# RLMGEN_PARALLEL=0 keeps every generator in one process (for debuggers and profilers).
PARALLEL_ENV = "RLMGEN_PARALLEL"


def available() -> bool:
    """Whether forking is safe here: Linux (macOS frameworks do not survive a fork), and
    no other thread that could hold a lock the child would inherit."""
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "fork")
        and threading.active_count() == 1
        and os.environ.get(PARALLEL_ENV, "1") != "0"
    )


class Child:
    """A function running in a forked process."""

    def __init__(self, pid: int, read_end: int) -> None:
        self._pid = pid
        self._read_end = read_end

    def result(self) -> Any:
        """Wait for the function; its result, or its exception raised here."""
        with os.fdopen(self._read_end, "rb") as pipe:
            try:  # read as it is unpickled: the payload is never held whole beside it
                outcome, value = pickle.load(pipe)
            except (EOFError, pickle.UnpicklingError):  # the child died writing it
                outcome = None
        _, status = os.waitpid(self._pid, 0)
        if outcome is None:
            raise RuntimeError(f"a generator process died (wait status {status})")
        if outcome == "error":
            raise value
        return value

    def cancel(self) -> None:
        """Stop the child and reap it: the parent failed, nobody wants the result."""
        os.kill(self._pid, signal.SIGKILL)
        os.close(self._read_end)
        os.waitpid(self._pid, 0)


def start(function: Callable[[], Any]) -> Child:
    """Start `function()` in a child process."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its work is checked through the parent
        os.close(read_end)
        _run_child(function, write_end)
    os.close(write_end)
    return Child(pid, read_end)


def _run_child(function: Callable[[], Any], write_end: int) -> None:  # pragma: no cover
    status = 0
    try:
        try:
            outcome = ("ok", function())
        except BaseException as exc:
            outcome = ("error", _portable(exc))
        with os.fdopen(write_end, "wb") as pipe:  # written as it is pickled
            pickle.dump(outcome, pipe, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        status = 1
    finally:
        os._exit(status)  # no atexit handlers, no flushing of the parent's buffers


def _portable(exc: BaseException) -> BaseException:
    """The exception, if it pickles, else a RuntimeError with its text; either way with
    the child's traceback attached."""
    trace = "".join(traceback.format_exception(exc))
    try:
        pickle.loads(pickle.dumps(exc))
        portable = exc
    except Exception:
        portable = RuntimeError(f"{type(exc).__name__}: {exc}")
    portable.add_note(f"in the generator process:\n{trace}")
    return portable
