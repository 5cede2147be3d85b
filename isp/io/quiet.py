"""Keeping libraries' own console lines (LibRaw's warnings, OpenEXR's errors) out of the user's
one-line errors."""
from __future__ import annotations

import contextlib
import os
import sys
import threading

_lock = threading.Lock()
_held: dict[int, list] = {}  # fd -> [users, the saved descriptor]


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()


@contextlib.contextmanager
def quiet(fds=(2,)):
    """Point the file descriptors `fds` (2: stderr; 1: stdout) at /dev/null for the duration.
    Process-wide, so counted: with overlapping users (reads in several threads) the first one
    redirects and the last one restores. Python's buffers are flushed first (what was printed
    before goes where it was meant to) and last (what a library printed through them does not)."""
    with _lock:
        taken = []
        try:
            for fd in fds:
                if fd not in _held:
                    _flush()
                    saved = os.dup(fd)
                    null = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(null, fd)
                    os.close(null)
                    _held[fd] = [0, saved]
                _held[fd][0] += 1
                taken.append(fd)
        except OSError:  # no descriptor to spare: the lines stay
            pass
    try:
        yield
    finally:
        with _lock:
            for fd in taken:
                _held[fd][0] -= 1
                if _held[fd][0] == 0:
                    _flush()
                    os.dup2(_held[fd][1], fd)
                    os.close(_held[fd][1])
                    del _held[fd]
