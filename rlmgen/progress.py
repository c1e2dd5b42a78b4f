"""A one-line progress display on stderr for long commands, only at a terminal: what is
being done and for how long, redrawn in place and erased when done. Logs and pipes never
see it (CI output stays exactly the diagnostics and the summary)."""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO

DELAY = 0.5  # seconds before the line appears: quick commands never show it
TICK = 0.2


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.step = ""
        self.started = time.monotonic()
        self.shown = False
        self.paused = False
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="rlmgen-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self.shown:
                self.stream.write("\r\x1b[K")  # erase the line
                self.stream.flush()

    def update(self, step: str) -> None:
        """Say what is being done now (`compiling specs/a.yaml (3/40)`)."""
        self.step = step
        self.paused = False

    def pause(self) -> None:
        """Erase the line until the next update, for other output to be printed."""
        with self._lock:
            self.paused = True
            if self.shown:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self.shown = False

    def _run(self) -> None:
        if self._done.wait(DELAY):
            return
        while not self._done.is_set():
            with self._lock:
                if self.paused:
                    self._done.wait(TICK)
                    continue
                elapsed = time.monotonic() - self.started
                self.stream.write(f"\r\x1b[Krlmgen: {self.step} {elapsed:.0f}s")
                self.stream.flush()
                self.shown = True
            self._done.wait(TICK)
