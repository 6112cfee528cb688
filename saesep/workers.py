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

from . import stops

PR_SET_PDEATHSIG = 1


def one_thread() -> None:
    """A pool worker's initializer: workers share the cores, one thread each, for torch and
    for numpy's BLAS (whose threads otherwise spin on cores the other workers need: a
    separation in two such workers beside a busy process took twice the CPU time)."""
    import torch
    from threadpoolctl import threadpool_limits

    from . import backend

    torch.set_num_threads(1)
    threadpool_limits(1)
    backend.fft_threads = 1  # the numpy engine's FFTs, as threads_shared divides them


@contextlib.contextmanager
def threads_shared(jobs: int):
    """For ``jobs`` files separated in parallel threads of one process: each one's products
    and FFTs get its share of the cores, in torch (when loaded), numpy's BLAS and the numpy
    engine's FFTs; restored after. Without it, every thread's products would start a BLAS
    thread per core."""
    from threadpoolctl import threadpool_limits

    from . import backend

    share = max(1, backend.cores() // jobs)
    torch = sys.modules.get("torch")  # the numpy engine never imports torch: leave it so
    before = torch.get_num_threads() if torch is not None else None
    fft_before, backend.fft_threads = backend.fft_threads, min(backend.fft_threads, share)
    if torch is not None:
        torch.set_num_threads(min(before, share))
    try:
        with threadpool_limits(share, user_api="blas"):
            yield
    finally:
        backend.fft_threads = fft_before
        if torch is not None:
            torch.set_num_threads(before)


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
    """A spawn-started ``multiprocessing.Pool`` (use ``imap`` for results in order) whose workers
    are terminated when the block is left by an exception or a stop signal. Spawn, not fork:
    a forked child can inherit a lock held by fluidsynth's or torch's threads and hang."""
    # the pool starts its workers here, with a stop held back meanwhile: a stop in the middle
    # of writing a worker's start-up data would leave the worker printing a traceback
    with stops.held():
        pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=_init, initargs=(initializer,))
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
        pool.join()
