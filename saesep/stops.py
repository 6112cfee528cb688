"""Stop signals (SIGINT, SIGTERM): the CLI's handler, and sections a stop must not cut in two.

The handler raises :class:`~saesep.errors.Stopped` in the main thread, which unwinds the
command (temporary files removed, worker processes stopped). Inside :func:`held` a stop
waits: a section that creates a file and registers its removal, or starts worker
processes, finishes first, and the stop is raised as it ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading

from .errors import Stopped

_lock = threading.RLock()  # re-entrant: the handler may run in the main thread while it holds the lock
_holding = 0  # sections open now, in any thread
_pending: int | None = None  # the first stop signal that arrived meanwhile


def on_stop_signal(signum, frame) -> None:
    """The CLI's SIGINT/SIGTERM handler: raise :class:`Stopped`, or later if a section holds stops."""
    global _pending
    with _lock:
        if _holding:
            _pending = _pending or signum
            return
    for s in (signal.SIGINT, signal.SIGTERM):  # a second signal stops at once
        signal.signal(s, signal.SIG_DFL)
    raise Stopped(signum)


@contextlib.contextmanager
def held():
    """A stop that arrives inside the block is raised as the block ends (in the main thread,
    whichever thread the block ran in). Blocks nest and may run in several threads."""
    global _holding, _pending
    with _lock:
        _holding += 1
    try:
        yield
    finally:
        with _lock:
            _holding -= 1
            got = None
            if not _holding:
                got, _pending = _pending, None
        if got:
            signal.raise_signal(got)  # the handler runs again, now with nothing held
