"""Worker processes that never outlive the command that started them.

A stop signal reaches the CLI as :class:`~saesep.errors.Stopped`, which unwinds through
:func:`process_pool` and terminates the pool; a parent killed outright (SIGKILL) takes
its workers with it through the kernel's parent-death signal (Linux).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies, however the parent dies (Linux)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent is already gone
        os._exit(1)


def _init(initializer) -> None:
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    if initializer is not None:
        initializer()


@contextlib.contextmanager
def process_pool(jobs: int, initializer=None):
    """A spawn-started ``ProcessPoolExecutor`` whose workers stop when the block is left by an
    exception or a stop signal (spawn, not fork: a forked child can inherit a lock held by
    fluidsynth's or torch's threads and hang)."""
    ex = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
                             initargs=(initializer,))
    try:
        yield ex
    except BaseException:
        procs = list((getattr(ex, "_processes", None) or {}).values())
        ex.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            with contextlib.suppress(Exception):
                p.terminate()
        for p in procs:
            with contextlib.suppress(Exception):
                p.join(5)
        raise
    else:
        ex.shutdown(wait=True)
