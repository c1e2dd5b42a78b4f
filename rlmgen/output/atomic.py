"""The two file-system primitives that keep `out/` whole: an exclusive lock held by one
build at a time, and a directory swap that is never partial.

The lock is `flock` on the output directory itself (no lock file to commit or clean up;
the kernel releases it when the process dies, even by SIGKILL). The swap exchanges the
staged tree and the old one with a single `renameat2(RENAME_EXCHANGE)`, so at every
instant `out/<service>` is the complete old tree or the complete new one. Where the
kernel or the file system lacks the exchange, two renames are used and an interrupted
swap is finished by `writer.recover` (the backup's name says what it is).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
# Errors meaning "this kernel or file system cannot exchange": fall back to two renames.
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}


class LockTimeout(Exception):
    """Another process held the lock for longer than the caller would wait."""


def _renameat2() -> Callable[..., int] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2  # glibc 2.28+
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    function.argtypes += [ctypes.c_uint]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_RENAMEAT2 = _renameat2()


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing directories in one atomic step; False when the system cannot."""
    if _RENAMEAT2 is None:
        return False
    status = _RENAMEAT2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if status == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(second))


def sync_directory(directory: Path) -> None:
    """Make renames inside `directory` durable (a crash after the build keeps them)."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def locked(
    directory: Path, timeout: float, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold an exclusive lock on `directory`, waiting at most `timeout` seconds for it."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout from None
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                time.sleep(0.05)
        yield
    finally:
        os.close(descriptor)  # releases the lock
