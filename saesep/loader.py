"""Training batches drawn by loader processes while the network trains.

Batch ``k`` of a sample stream is a pure function of ``(seed, rank, stream, k,
size, blocks drawn before)`` (:class:`saesep.datasets.BlockSampler`), so the
batches — and the model — are the same with 0, 1 or 8 loader processes, and a
checkpoint needs only the batch counter. With ``workers > 0`` the next batches
are requested ahead of time (assuming the next draw has the size the caller
says) and drawn round-robin by the loader processes; a request that turns out
wrong (a stage ended early, the LS pass began) is simply dropped.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass

import torch

from .config import SpectralConfig, TrainConfig
from .datasets import TRAIN, BlockSampler, Track
from .errors import SaesepError


@dataclass
class SamplerSpec:
    """Everything a loader process needs to build the samplers of this process's ranks."""

    tracks: list[Track]
    target: str
    spectral: SpectralConfig
    train: TrainConfig
    seeds: list[int]

    def build(self) -> list[BlockSampler]:
        return [BlockSampler(self.tracks, self.target, self.spectral, self.train, seed=s) for s in self.seeds]


def draw(samplers: list[BlockSampler], n: int, index: int, stream: int, drawn: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch ``index`` of every sampler (one per emulated rank), concatenated."""
    parts = [sm.sample(n, index, stream, drawn) for sm in samplers]
    if len(parts) == 1:
        return parts[0]
    return torch.cat([a for a, _ in parts]), torch.cat([b for _, b in parts])


def _loader(spec: SamplerSpec, requests, results) -> None:
    """Loader process: answer ``(n, index, stream, drawn)`` requests in order until ``None``."""
    from .workers import die_with_parent

    die_with_parent()
    torch.set_num_threads(1)
    samplers = spec.build()
    while True:
        req = requests.get()
        if req is None:
            return
        try:
            results.put((req, *draw(samplers, *req)))
        except SaesepError as e:
            results.put((req, "error", str(e)))
        except Exception as e:  # noqa: BLE001 - reported in the training process as one line
            results.put((req, "error", f"data loader failed: {type(e).__name__}: {e}"))


def auto_workers(device: str = "cpu") -> int:
    """Loader processes worth starting for training on ``device``.

    On the CPU none: drawing a batch and the training step both use every core
    already (bench/loader.py on 2 cores: 1 loader + 1 training thread reaches 0.76x
    the samples/s of 2 threads in one process). On a GPU the training step leaves the
    CPU idle, so batches are drawn by one process per 4 cores (1 to 4).
    """
    if not device.startswith("cuda"):
        return 0
    return max(1, min(4, (os.cpu_count() or 1) // 4))


class BatchSource:
    """Draws the training stream's batches in order, in this process or in ``workers`` loader processes."""

    def __init__(self, spec: SamplerSpec, workers: int = 0, prefetch: int = 2):
        self.spec = spec
        self.workers = max(0, int(workers))
        self.index = 0  # next batch of the training stream
        self.drawn = 0  # blocks drawn from it so far
        self.pending: deque = deque()  # (request, worker) in the order they were sent
        self.sent = 0
        self.depth = max(1, prefetch) * max(1, self.workers)
        self.local: list[BlockSampler] | None = None
        self.procs = []
        if self.workers:
            # fork, as torch's DataLoader does on Linux: no re-import of the caller's script
            # (which would need an ``if __name__ == "__main__"`` guard); the loaders run no OpenMP
            # (one thread) and touch no GPU, so forking a process that holds both is safe
            method = "fork" if "fork" in torch.multiprocessing.get_all_start_methods() else "spawn"
            ctx = torch.multiprocessing.get_context(method)
            self.queues = [(ctx.Queue(), ctx.Queue()) for _ in range(self.workers)]
            for q_in, q_out in self.queues:
                p = ctx.Process(target=_loader, args=(spec, q_in, q_out), daemon=True)
                p.start()
                self.procs.append(p)

    # ---- checkpoint state -------------------------------------------------------
    def state(self) -> dict:
        return {"index": self.index, "drawn": self.drawn}

    def set_state(self, state: dict) -> None:
        self._drop_pending()
        self.index, self.drawn = int(state["index"]), int(state["drawn"])

    # ---- drawing ------------------------------------------------------------------
    def fixed(self, n: int, stream: int, batch: int = 4096, pool: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """A fixed set of ``n`` blocks per (emulated) rank of another stream (monitor, L-BFGS
        set), from pool ``pool`` of the training stream; rank-major: rank 0's ``n`` blocks
        first, as each process holds them."""
        first = pool * 100_000  # batch indices of another pool's set: other draws
        reqs = [(min(batch, n - i), first + k, stream, pool * self.spec.train.pool_refresh)
                for k, i in enumerate(range(0, n, batch))]
        if not self.workers:
            parts = [draw(self._local(), *r) for r in reqs]
        else:
            self._drop_pending()
            for r in reqs:
                self._send(r)
            parts = [self._receive() for _ in reqs]
        # each part holds its chunk of every rank in turn: regroup rank-major
        ranks = range(len(self.spec.seeds))
        out = [torch.cat([part[i][r * req[0]:(r + 1) * req[0]] for r in ranks for part, req in zip(parts, reqs)])
               for i in (0, 1)]
        return out[0], out[1]

    def pool(self) -> int:
        """The pool of tracks the next training batch comes from."""
        return self.drawn // self.spec.train.pool_refresh

    def next(self, n: int, next_n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The next ``n`` blocks of the training stream (of every emulated rank).

        ``next_n``: the size the following call will ask for (default ``n``); those
        batches are requested now so they are ready when asked for.
        """
        req = (n, self.index, TRAIN, self.drawn)
        if not self.workers:
            out = draw(self._local(), *req)
        else:
            if self.pending and self.pending[0][0] != req:
                self._drop_pending()
            if not self.pending:
                self._send(req)
            out = self._receive()
        self.index += 1
        self.drawn += n
        if self.workers:
            self._prefetch(next_n or n)
        return out

    def close(self) -> None:
        for (q_in, _), p in zip(getattr(self, "queues", []), getattr(self, "procs", [])):
            if p.is_alive():
                q_in.put(None)
        for p in getattr(self, "procs", []):
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        self.procs = []

    def __del__(self):
        self.close()

    # ---- internals ------------------------------------------------------------------
    def _local(self) -> list[BlockSampler]:
        if self.local is None:
            self.local = self.spec.build()
        return self.local

    def _prefetch(self, n: int) -> None:
        index, drawn = self.index, self.drawn
        for req, _ in self.pending:  # continue after what is already asked for
            if req[2] == TRAIN:
                index, drawn = req[1] + 1, req[3] + req[0]
        while len(self.pending) < self.depth:
            self._send((n, index, TRAIN, drawn))
            index, drawn = index + 1, drawn + n

    def _send(self, req) -> None:
        w = self.sent % self.workers
        self.sent += 1
        self.queues[w][0].put(req)
        self.pending.append((req, w))

    def _receive(self) -> tuple[torch.Tensor, torch.Tensor]:
        req, w = self.pending.popleft()
        while True:
            try:
                got = self.queues[w][1].get(timeout=10)
                break
            except Exception:  # queue.Empty: check the loader is still alive
                if not self.procs[w].is_alive():
                    raise SaesepError(f"data loader process {w} died (exit code {self.procs[w].exitcode})") from None
        if got[0] != req:
            raise SaesepError("data loader out of step (internal error)")
        if isinstance(got[1], str):
            raise SaesepError(got[2])
        return got[1], got[2]

    def _drop_pending(self) -> None:
        while self.pending:
            try:
                self._receive()
            except SaesepError:
                pass  # a speculative request may fail where the real one would not be made
