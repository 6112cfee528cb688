"""torch.distributed helpers: the process group torchrun describes, and the calls training makes on it.

Outside torchrun (no ``WORLD_SIZE``), the world is one process and every call is a no-op.
"""

from __future__ import annotations

import os

import torch


def world() -> int:
    return torch.distributed.get_world_size() if torch.distributed.is_available() and torch.distributed.is_initialized() else 1


def rank() -> int:
    return torch.distributed.get_rank() if world() > 1 else 0


def init(device: str) -> tuple[int, int]:
    """Join the process group torchrun describes (env RANK/WORLD_SIZE); gloo on CPU, nccl on GPU."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return rank(), world()


def all_reduce_sum(tensors) -> None:
    if world() > 1:
        for t in tensors:
            torch.distributed.all_reduce(t)


def all_reduce_mean(tensors) -> None:
    if world() > 1:
        for t in tensors:
            torch.distributed.all_reduce(t)
            t /= world()


def barrier() -> None:
    if world() > 1:
        torch.distributed.barrier()
