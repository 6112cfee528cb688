"""The array library extraction runs on, and the policy that picks it.

``numpy`` runs on the CPU in float32 without importing torch, so a whole ``saesep extract``
process starts in a fraction of torch's own import time (shell scripts start one process
per song). ``torch`` runs on a GPU, or in bfloat16 on a CPU with AMX tiles.
The separator's code is written once against the few operations below.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from .errors import SaesepError

ENGINES = ("auto", "numpy", "torch")
PRECISIONS = ("auto", "float32", "bfloat16")
# auto uses bfloat16 (torch) on an AMX CPU only for networks at least this many multiply-adds
# per frame: below it the product is a small part of the work and float32 costs nothing
BFLOAT16_MIN_MACS = 4_000_000


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles (fast bfloat16 products)."""
    return "amx_tile" in cpu_flags()


def cpu_has_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX); without, torch
    emulates it: the lead model ran 7× slower than in float32 on an AMD EPYC with AVX2 only."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


# glibc hands freed blocks of 128 KB and more straight back to the system, so each of the
# separator's segment-sized temporaries (hundreds of KB) is a fresh mapping whose pages fault
# in again: about a fifth of the default model's extraction time, most of it in the Wiener
# filter (bench/speed.py). Freed memory is kept for reuse instead, up to these sizes (below
# the 32 MB ceiling of glibc's own adaptive threshold).
MMAP_THRESHOLD = 16 << 20
TRIM_THRESHOLD = 32 << 20
_MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


@functools.lru_cache(maxsize=1)
def reuse_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process (once); False where there is
    no glibc ``mallopt`` (macOS, Windows) or the user set them (``MALLOC_*_`` variables)."""
    if any(k in os.environ for k in _MALLOC_ENV):
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
    return bool(mallopt(m_mmap_threshold, MMAP_THRESHOLD)) and bool(mallopt(m_trim_threshold, TRIM_THRESHOLD))


def choose_engine(device: str, precision: str = "auto", macs_per_frame: int = 0,
                  engine: str = "auto") -> tuple[str, str]:
    """``(engine, precision)`` for extraction: the one place this is decided.

    Off the CPU: torch, bfloat16 only when asked for. On a CPU, ``bfloat16`` means torch;
    ``auto`` also means torch in bfloat16 on an AMX CPU for networks of at least
    :data:`BFLOAT16_MIN_MACS` multiply-adds per frame. Otherwise float32 on numpy (unless
    torch is asked for): a process starts in a fraction of torch's import time, which is most
    of a shell script's cost per song, and holds a third of the memory; on 2 cores a batch of
    six 4-minute songs took as long as on torch float32 (bench/startup.py has the figures).
    """
    if precision not in PRECISIONS:
        raise SaesepError(f"unknown precision '{precision}' (choose {', '.join(PRECISIONS)})")
    if engine not in ENGINES:
        raise SaesepError(f"unknown engine '{engine}' (choose {', '.join(ENGINES)})")
    if str(device) != "cpu":
        if engine == "numpy":
            raise SaesepError("the numpy engine runs on the CPU only (use --device cpu)")
        return "torch", "bfloat16" if precision == "bfloat16" else "float32"
    if precision == "bfloat16" or (precision == "auto" and engine != "numpy" and cpu_has_amx()
                                   and macs_per_frame >= BFLOAT16_MIN_MACS):
        if engine == "numpy":
            raise SaesepError("bfloat16 needs the torch engine")
        return "torch", "bfloat16"
    return ("numpy" if engine == "auto" else engine), "float32"


def resolve_device(device: str) -> str:
    """``cpu``, ``cuda[:N]``, or ``auto`` (a CUDA GPU when there is one); torch is imported only off the CPU."""
    if device == "cpu":
        return device
    if device != "auto" and not device.startswith("cuda"):
        raise SaesepError(f"unknown device '{device}' (choose auto, cpu or cuda)")
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise SaesepError("--device cuda asked for, but no CUDA GPU is available")
    return device


def cores() -> int:
    """The cores this process may run on."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# threads of the numpy engine's FFTs (scipy's workers): all the cores, fewer while several
# files run in parallel threads (saesep.workers.threads_shared)
fft_threads = cores()


class NumpyOps:
    """The separator's operations on numpy arrays (``frames``: strided views, no copies)."""

    name = "numpy"

    def asarray(self, x: np.ndarray) -> np.ndarray:
        return x

    def to_numpy(self, x) -> np.ndarray:
        return x

    def frames(self, x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
        """``(..., samples)`` → ``(..., frames, n_fft)``."""
        return np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=-1)[..., ::hop, :]

    def rfft(self, x):
        # scipy's pocketfft: ~4x numpy's for float32 frames here, for 0.2 s of import
        from scipy import fft

        return fft.rfft(x, workers=fft_threads)

    def irfft(self, x, n: int):
        from scipy import fft

        return fft.irfft(x, n=n, workers=fft_threads)

    def pad_frames(self, x, lo: int, hi: int):
        """Zero frames before and after axis -2."""
        return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(lo, hi), (0, 0)])

    def concat_last(self, xs):
        return np.concatenate(xs, axis=-1)

    abs = staticmethod(np.abs)
    stack = staticmethod(np.stack)
    where = staticmethod(np.where)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)

    def mean0(self, x):
        return x.mean(0, keepdims=True)

    def norm(self, x):
        """Euclidean norm over the last axis."""
        return np.sqrt(np.einsum("...i,...i->...", x, x))

    def cast(self, x, dtype):
        return x.astype(dtype, copy=False)

    def relu_(self, x):
        return np.maximum(x, 0, out=x)

    float32 = np.float32


class TorchOps:
    """The same operations on torch tensors on ``device``."""

    name = "torch"

    def __init__(self, device="cpu"):
        import torch

        self.torch, self.device = torch, device
        self.float32 = torch.float32

    def asarray(self, x: np.ndarray):
        return self.torch.from_numpy(x).to(self.device)

    def to_numpy(self, x) -> np.ndarray:
        return x.cpu().numpy()

    def frames(self, x, n_fft: int, hop: int):
        return x.unfold(-1, n_fft, hop)

    def rfft(self, x):
        return self.torch.fft.rfft(x)

    def irfft(self, x, n: int):
        return self.torch.fft.irfft(x, n=n)

    def pad_frames(self, x, lo: int, hi: int):
        return self.torch.nn.functional.pad(x, (0, 0, lo, hi))

    def concat_last(self, xs):
        return self.torch.cat(xs, dim=-1)

    def abs(self, x):
        return x.abs()

    def stack(self, xs):
        return self.torch.stack(list(xs))

    def where(self, c, a, b):
        return self.torch.where(c, a, b)

    def maximum(self, x, v):
        return x.clamp_min(v)

    def minimum(self, x, v):
        return x.clamp_max(v)

    def mean0(self, x):
        return x.mean(0, keepdim=True)

    def norm(self, x):
        return x.norm(dim=-1)

    def cast(self, x, dtype):
        return x.to(dtype)

    def relu_(self, x):
        return x.relu_()
