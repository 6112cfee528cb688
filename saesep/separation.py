"""Separation: mixture → magnitude estimate → (mask) → mixture phase → ISTFT, streamed.

The file is read, resampled, transformed, separated, inverted and written in
segments; every stage keeps only a segment plus a small overlap, so memory does
not depend on the song's length. The streamed result equals the whole-file
pipeline (``spectral.stft`` → network → ``spectral.istft``) to float precision.
"""

from __future__ import annotations

import dataclasses
import reprlib
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from . import audio as audio_io
from .backend import PRECISIONS, NumpyOps, TorchOps, choose_engine, reuse_freed_memory
from .config import SpectralConfig
from .errors import SaesepError
from .models import auto_rest_target
from .spectral import context_margin, frames_rfft, n_frames, window
from .wiener import check_iterations, refine

RESIDUAL = "residual"
MASKS = ("ratio", "none", "soft")
SOFT_POWER = 2.0  # the soft mask's exponent unless one is given
MIN_SEGMENT, MAX_SEGMENT = 0.1, 3600.0  # seconds: fewer frames than this per step only costs time
MAX_SHIFTS = 8  # STFT grids averaged at most: 4 gave lead 0.005 dB over 2 (docs/experiments.md)


def compute_dtype(precision: str, device="cpu", macs_per_frame: int = 0):
    """The torch dtype of the network's matrix products (see :func:`saesep.backend.choose_engine`)."""
    import torch

    _, prec = choose_engine(str(device), precision, macs_per_frame)
    return torch.bfloat16 if prec == "bfloat16" else torch.float32


def check_mask_power(p) -> float:
    """``p`` as a mask exponent, in (0, 16], or a one-line error (NaN, strings and booleans too)."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0 < p <= 16:
        raise SaesepError(f"mask power must be in (0, 16], got {p!r}")
    return float(p)


def _recorded(model, key: str, default, check, what: str, flag: str):
    """The separation default ``model``'s file records (``meta[key]``, else ``default``),
    passed through ``check``; a bad one is a one-line error naming the model."""
    value = model.meta.get(key, default)
    try:
        return check(value)
    except SaesepError:  # reprlib: a recorded list (a gain per bin) stays short enough for one line
        raise SaesepError(f"the '{model.target}' model records a bad {what} ({reprlib.repr(value)}); "
                          f"give {flag}") from None


def mask_power(model) -> float:
    """The exponent of ``model``'s ratio mask: the one its file records (``meta["mask_power"]``,
    e.g. chosen with :func:`saesep.evaluation.choose_options`), else 1."""
    return _recorded(model, "mask_power", 1.0, check_mask_power, "mask exponent", "--mask-power")


def wiener_iterations(model) -> int:
    """The EM iterations of the stereo Wiener filter on ``model``'s estimates: the count its
    file records (``meta["wiener_iterations"]``, e.g. chosen with
    :func:`saesep.evaluation.choose_options`), else 0."""
    return _recorded(model, "wiener_iterations", 0, check_iterations, "Wiener iteration count", "--niter")


def check_shifts(n) -> int:
    """``n`` as a count of STFT grids averaged (1: one grid), or a one-line error."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_SHIFTS:
        raise SaesepError(f"shifts must be an integer from 1 to {MAX_SHIFTS}, got {n!r}")
    return int(n)


def shifts(model) -> int:
    """The STFT grids ``model``'s estimates are averaged over: the count its file records
    (``meta["shifts"]``), else 1."""
    return _recorded(model, "shifts", 1, check_shifts, "shift count", "--shifts")


MAX_GAIN = 2.0  # a recorded output gain stays within ±6 dB of the estimate (saesep.calibration)


def check_gain(g, n_bins: int) -> np.ndarray:
    """``g`` as an output gain per network bin: ``n_bins`` numbers in [1/MAX_GAIN, MAX_GAIN],
    or a one-line error."""
    try:
        a = np.asarray(g, dtype=np.float64)
    except (TypeError, ValueError):
        a = None
    if a is None or a.shape != (n_bins,) or not np.all((a >= 1 / MAX_GAIN) & (a <= MAX_GAIN)):
        raise SaesepError(f"an output gain must be {n_bins} numbers from {1 / MAX_GAIN:g} to {MAX_GAIN:g}")
    return a.astype(np.float32)


def output_gain(model) -> np.ndarray | None:
    """The least-squares gain per frequency bin that ``model``'s file records for its final
    estimates (``meta["output_gain"]``, fitted with :func:`saesep.calibration.fit_output_gain`),
    else None (no gain)."""
    if model.meta.get("output_gain") is None:
        return None
    return _recorded(model, "output_gain", None, lambda g: check_gain(g, model.spectral.net_bins),
                     "output gain", "SeparationOptions(calibrate=False)")


def ratio_mask(ops, e, cmag, p: float):
    """The ratio mask with exponent p: |Ŝ|ᵖ / (|Ŝ|ᵖ + (|X| − |Ŝ|)₊ᵖ) (0 where both are 0);
    ``e``: the estimate |Ŝ|, ``cmag``: |X|, ``ops``: the array library (``NumpyOps()`` for numpy)."""
    ep = e ** p
    return ep / (ep + ops.maximum(cmag - e, 0) ** p + 1e-12)


def _ops(model):
    """The array operations of the library ``model`` runs on."""
    return NumpyOps() if model.engine == "numpy" else TorchOps(model.device)


@dataclass
class SeparationOptions:
    """mask: ``ratio`` (default: each model's estimate against what it leaves of the
    mixture, |Ŝ|ᵖ / (|Ŝ|ᵖ + (|X| − |Ŝ|)₊ᵖ), applied to X, with the mixture phase; with
    p = 1 the ratio mask min(|Ŝ|/|X|, 1)), ``none`` (the estimated magnitude unbounded, as
    in the paper) or ``soft`` (Wiener-style mask Ŝᵖ / Σ Ŝᵢᵖ over the targets and the
    left-over background; models with other STFT settings than the target's run in their
    own branch and do not enter its mask).
    mask_power: the exponent p. ``None`` (the default): for ``ratio`` each model's own
    (:func:`mask_power`), for ``soft`` 2 (power; 1: magnitude).
    residual: also return the mixture minus the extracted target(s).
    rest_to: a target that also takes ``rest_share`` of the rest — what all the models
        together leave of the mixture. ``auto`` (the default): the built-in policy of
        :func:`saesep.models.auto_rest_target` (other, when bass, lead, drums and other run
        together); ``None``: off.
    outputs: the targets to return (default: every model's); the other models only
        contribute to ``rest_to``.
    wiener_iterations: EM iterations of the multichannel Wiener filter (:mod:`saesep.wiener`)
        on the masked estimates of stereo input, with statistics over each segment: ratio and
        none, each estimate against the mixture minus it; soft, the targets and the
        background together. 0: off. ``None`` (the default): for ratio and none each model's
        own (:func:`wiener_iterations`), for soft 0. Mono and multichannel input are left as
        the mask gives them (with one channel the filter is the mask with exponent 2).
    shifts: the number N of STFT grids, offset from each other by hop / N samples, whose
        estimates are averaged (as Demucs averages time-shifted runs): each grid sees the
        song at other frame positions, and the average has fewer artefacts, at N times the
        cost. ``None`` (the default): the most any model of an STFT setting records
        (:func:`shifts`), else 1.
    calibrate: with the ratio mask, scale each model's final estimate (after the Wiener
        filter) by the gain per frequency bin its file records (:func:`output_gain`); False:
        the estimate as the mask and filter give it.
    segment_seconds: audio processed at once, 0.1 s to 1 hour; bounds the memory.
    precision: of the network's matrix products: ``float32``, ``bfloat16`` or ``auto``
        (:func:`saesep.backend.choose_engine` decides). Sums, biases and everything around
        the network stay float32.
    """

    mask: str = "ratio"
    mask_power: float | None = None
    residual: bool = False
    wiener_iterations: int | None = None
    shifts: int | None = None
    calibrate: bool = True
    segment_seconds: float = 5.0
    precision: str = "auto"
    rest_to: str | None = "auto"
    rest_share: float = 0.5
    outputs: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise SaesepError(f"unknown precision '{self.precision}' (choose {', '.join(PRECISIONS)})")
        if self.mask not in MASKS:
            raise SaesepError(f"unknown mask '{self.mask}' (choose {', '.join(MASKS)})")
        if not 0 < self.rest_share <= 1:  # also refuses NaN
            raise SaesepError(f"rest share must be in (0, 1], got {self.rest_share}")
        if self.mask_power is not None:
            self.mask_power = check_mask_power(self.mask_power)
        if self.wiener_iterations is not None:
            self.wiener_iterations = check_iterations(self.wiener_iterations)
        if self.shifts is not None:
            self.shifts = check_shifts(self.shifts)
        if not MIN_SEGMENT <= self.segment_seconds <= MAX_SEGMENT:
            raise SaesepError(f"segment must be {MIN_SEGMENT:g} to {MAX_SEGMENT:g} seconds, got {self.segment_seconds}")
        if self.outputs is not None:
            self.outputs = tuple(self.outputs)

    def rest_target(self, targets) -> str | None:
        """The target that takes a share of the rest, for models of these ``targets``."""
        targets = list(targets)
        if self.rest_to in (None, "none"):
            return None
        if self.rest_to == "auto":
            return auto_rest_target(targets)
        if self.rest_to not in targets:
            raise SaesepError(f"rest target '{self.rest_to}' is none of the models' targets ({', '.join(targets)})")
        return self.rest_to

    def output_names(self, targets) -> list[str]:
        """The targets returned, in the models' order (plus ``residual`` if asked)."""
        targets = list(targets)
        names = targets if self.outputs is None else [t for t in targets if t in self.outputs]
        missing = [t for t in (self.outputs or ()) if t not in targets]
        if missing or not names:
            raise SaesepError(f"output(s) {', '.join(missing) or '(none)'} not among the models' targets ({', '.join(targets)})")
        return names + ([RESIDUAL] if self.residual else [])


class _Engine:
    """Streaming STFT → networks → ISTFT at the models' sample rate, for C channels."""

    def __init__(self, models: dict, channels: int, opts: SeparationOptions):
        reuse_freed_memory()  # segment-sized temporaries reuse freed memory
        self.models, self.opts = models, opts
        cfg = next(iter(models.values())).spectral
        self.cfg = cfg
        self.ch = channels
        self.hop, self.n_fft = cfg.hop, cfg.n_fft
        self.pad = cfg.n_fft // 2
        self.m = context_margin(cfg)
        self.seg = max(1, int(opts.segment_seconds * cfg.sample_rate / cfg.hop))
        win = window(cfg)
        self.w2 = win ** 2
        # every output is zero above its model's band (max_freq): masks and the inverse
        # FFT need only the bins up to the widest band of the group
        self.top = max(m.spectral.net_bins for m in models.values())
        self.names = list(models)
        # the ratio mask's exponent per model: the option's, else the model's own
        self.powers = [mask_power(m) if opts.mask_power is None else opts.mask_power for m in models.values()]
        # the Wiener filter's iterations per model (soft: one count for the models together)
        if opts.mask == "soft":
            self.iterations = [opts.wiener_iterations or 0] * len(models)
        else:
            self.iterations = [wiener_iterations(m) if opts.wiener_iterations is None else opts.wiener_iterations
                               for m in models.values()]
        first = next(iter(models.values()))
        self.ops = _ops(first)
        # the recorded output gains (ratio mask only: they are fitted with it), up to ``top``
        gains = [output_gain(m) if opts.calibrate and opts.mask == "ratio" else None for m in models.values()]
        self.gains = None
        if any(g is not None for g in gains):
            rows = np.ones((len(gains), self.top), np.float32)
            for row, g in zip(rows, gains):
                if g is not None:
                    row[:len(g)] = g
            self.gains = self.ops.asarray(rows[:, None, None, :])  # (outputs, 1, 1, top)
        self.dtype = self.ops.float32 if first.engine == "numpy" else \
            compute_dtype(opts.precision, first.device, max(m.macs for m in models.values()))
        self.win = self.ops.asarray(win)
        # input buffer in padded coordinates: buf[0] is padded sample buf0
        self.buf = np.zeros((channels, self.pad), np.float32)
        self.buf0 = 0
        self.f0 = 0  # next centre frame to process
        # overlap-add accumulators start at padded sample f0 * hop
        self.acc = np.zeros((len(self.names), channels, self.n_fft), np.float32)
        self.wss = np.zeros(self.n_fft, np.float32)
        self.acc_base = 0  # padded sample of acc[..., 0]; everything before it was emitted
        self.n_in = 0  # model-rate samples pushed so far
        self.n_out = 0  # samples returned by push()

    def push(self, x: np.ndarray) -> np.ndarray | None:
        """Add ``(channels, n)`` model-rate samples; return finished ``(outputs, channels, m)``."""
        self.n_in += x.shape[1]
        self.buf = np.concatenate([self.buf, x], axis=1)
        outs = []
        while True:
            f1 = self.f0 + self.seg
            need = (f1 + self.m - 1) * self.hop + self.n_fft  # padded samples needed
            if self.buf0 + self.buf.shape[1] < need:
                break
            outs.append(self._segment(f1, n_frames=None))
        if not outs:
            return None
        out = np.concatenate(outs, axis=2)
        self.n_out += out.shape[-1]
        return out

    def finish(self) -> np.ndarray | None:
        """Flush the end of the signal; returns the last ``(outputs, channels, m)`` samples."""
        total_frames = n_frames(self.n_in, self.cfg)
        end_pad = (total_frames + self.m + 1) * self.hop + self.n_fft - (self.buf0 + self.buf.shape[1])
        if end_pad > 0:
            self.buf = np.concatenate([self.buf, np.zeros((self.ch, end_pad), np.float32)], axis=1)
        outs = []
        while self.f0 < total_frames:
            outs.append(self._segment(min(self.f0 + self.seg, total_frames), n_frames=total_frames))
        outs.append(self._emit(self.pad + self.n_in))  # the tail after the last frame start
        out = np.concatenate(outs, axis=2)
        return out[..., : max(0, self.n_in - self.n_out)]

    def _segment(self, f1: int, n_frames: int | None) -> np.ndarray:
        f0, m = self.f0, self.m
        a, b = max(f0 - m, 0), f1 + m
        if n_frames is not None:
            b = min(b, n_frames)
        self._overlap_add(self._frames(a, b, f0, f1), f0, f1)
        self.f0 = f1
        # drop input no longer needed: next segment starts at frame f1 - m
        keep_from = max(f1 - m, 0) * self.hop
        if keep_from > self.buf0:
            self.buf = self.buf[:, keep_from - self.buf0:]
            self.buf0 = keep_from
        return self._emit(f1 * self.hop)

    def _frames(self, a: int, b: int, f0: int, f1: int) -> np.ndarray:
        """STFT frames [a, b) of the buffer (the context beyond the signal: zero frames)
        → networks → masked centre frames f0..f1-1 → windowed inverse FFTs
        ``(outputs, C, f1 - f0, n_fft)``, in the models' array library (numpy, or torch on
        the models' device: on a GPU only the samples go there and the frames come back).
        Frame-major throughout, and bins only up to the widest band of the models (``top``).
        """
        ops = self.ops
        s = a * self.hop - self.buf0
        e = (b - 1) * self.hop + self.n_fft - self.buf0
        x = ops.asarray(self.buf[:, s:e])
        spec = frames_rfft(ops.frames(x, self.n_fft, self.hop), self.win, ops)[..., :self.top]  # (C, b - a, top)
        centre = spec[:, f0 - a:f1 - a]
        mag = ops.abs(spec)
        mid = self.cfg.stereo == "mid" and self.ch > 1
        net_in = ops.abs(ops.mean0(spec)) if mid else mag
        cmag = mag[:, f0 - a:f1 - a]  # |centre|
        if mid:
            ref = ops.maximum(net_in[:, f0 - a:f1 - a], 1e-8)  # |mid| of the centre frames
        lo, hi = a - (f0 - self.m), (f1 + self.m) - b  # context frames beyond the signal: zeros
        if lo or hi:
            net_in = ops.pad_frames(net_in, lo, hi)
        est = []
        for model in self.models.values():
            e = ops.cast(model.estimate_sequence(net_in, self.dtype), ops.float32)  # (chs, n, top)
            if mid:  # the mid estimate becomes a mask for every channel
                e = ops.minimum(e / ref, 1.0) * cmag
            est.append(e)
        if self.opts.mask == "soft":
            p = SOFT_POWER if self.opts.mask_power is None else self.opts.mask_power
            background = ops.maximum(cmag - sum(est), 0)
            denom = sum(e ** p for e in est) + background ** p + 1e-12
            outs = ops.stack([centre * (e ** p / denom) for e in est])
        else:
            # |Ŝ| with the mixture phase = X · |Ŝ| / |X|
            safe = ops.where(cmag > 0, cmag, 1.0)
            if self.opts.mask == "ratio":  # |Ŝ| at most |X| (silence where X = 0)
                outs = ops.stack([centre * ops.minimum(e / safe, 1.0) if p == 1 else
                                  centre * ratio_mask(ops, e, cmag, p) for e, p in zip(est, self.powers)])
            else:  # unbounded; |Ŝ| with phase 0 where X = 0
                outs = ops.stack([ops.where(cmag > 0, centre * (e / safe), e) for e in est])
        if any(self.iterations) and self.ch == 2:
            outs = self._wiener(outs, centre)
        if self.gains is not None:
            outs = outs * self.gains
        return ops.to_numpy(ops.irfft(outs, n=self.n_fft) * self.win)

    def _wiener(self, outs, centre):
        """The multichannel Wiener filter on one segment's estimates ``(outputs, C, n, F)``."""
        if self.opts.mask == "soft":  # the targets and what they leave, one model of the mixture
            sources = self.ops.stack(list(outs) + [centre - outs.sum(0)])
            return refine(sources, centre, self.iterations[0], keep=len(outs))
        # each estimate against the mixture minus it, as the ratio mask sets them; models
        # with the same count together
        outs = list(outs)
        for n in set(self.iterations) - {0}:
            idx = [i for i, k in enumerate(self.iterations) if k == n]
            est = self.ops.stack([outs[i] for i in idx])
            for i, r in zip(idx, refine(self.ops.stack([est, centre[None] - est]), centre[None], n, keep=1)[0]):
                outs[i] = r
        return self.ops.stack(outs)

    def _overlap_add(self, frames: np.ndarray, f0: int, f1: int) -> None:
        """frames: windowed inverse FFTs ``(outputs, C, n, n_fft)`` of frames f0..f1-1, added
        into the accumulators, which start at padded sample ``acc_base``.
        """
        n = f1 - f0
        off = f0 * self.hop - self.acc_base
        span = off + (n - 1) * self.hop + self.n_fft
        have = self.acc.shape[-1]
        if have < span:
            self.acc = np.concatenate([self.acc, np.zeros(self.acc.shape[:-1] + (span - have,), np.float32)], axis=-1)
            self.wss = np.concatenate([self.wss, np.zeros(span - have, np.float32)])
        hop, k_max = self.hop, self.n_fft // self.hop
        if self.n_fft % hop == 0 and off % hop == 0:
            # hop-sized pieces: piece k of frame j lands on piece j + k of the output span
            o, c = frames.shape[:2]
            pieces = frames.reshape(o, c, n, k_max, hop)
            st = self.acc.strides
            acc = np.lib.stride_tricks.as_strided(self.acc[..., off:], (o, c, n + k_max - 1, hop),
                                                  (st[0], st[1], hop * st[2], st[2]))
            wss = self.wss[off:off + (n + k_max - 1) * hop].reshape(n + k_max - 1, hop)
            for k in range(k_max):
                acc[:, :, k:k + n] += pieces[:, :, :, k]
                wss[k:k + n] += self.w2[k * hop:(k + 1) * hop]
        else:
            for j in range(n):
                lo = off + j * hop
                self.acc[..., lo:lo + self.n_fft] += frames[:, :, j]
                self.wss[lo:lo + self.n_fft] += self.w2

    def _emit(self, upto: int) -> np.ndarray:
        """Output padded samples [acc_base, upto), which are final, as unpadded audio ``(outputs, C, m)``."""
        n = upto - self.acc_base
        if n <= 0:
            return np.zeros((len(self.names), self.ch, 0), np.float32)
        chunk, w = self.acc[..., :n], self.wss[:n]
        if chunk.shape[-1] < n:
            chunk = np.pad(chunk, ((0, 0), (0, 0), (0, n - chunk.shape[-1])))
            w = np.pad(w, (0, n - w.shape[0]))
        skip = min(max(self.pad - self.acc_base, 0), n)  # the padding before the signal is dropped
        w = w[skip:]
        tiny = np.finfo(np.float32).tiny
        scale = np.divide(1, w, out=np.ones_like(w), where=w > tiny)  # per sample, then one product
        out = chunk[..., skip:] * scale
        self.acc, self.wss = self.acc[..., n:], self.wss[n:]
        self.acc_base = upto
        return out


class _Shifted:
    """``n`` engines on one input, the k-th delayed by k·hop/n samples (zeros before the
    song); their outputs, realigned, averaged. The interface of :class:`_Engine`."""

    def __init__(self, models: dict, channels: int, opts: SeparationOptions, n: int):
        self.engines = [_Engine(models, channels, opts) for _ in range(n)]
        self.names = self.engines[0].names
        self.shape = (len(self.names), channels)
        hop = self.engines[0].hop
        self.skip = [k * hop // n for k in range(n)]  # delayed samples still to drop
        self.queues = [_Fifo(len(self.names) * channels) for _ in range(n)]
        for k, delay in enumerate(self.skip):
            if delay:
                self._queue(k, self.engines[k].push(np.zeros((channels, delay), np.float32)))

    def _queue(self, k: int, out: np.ndarray | None) -> None:
        if out is None:
            return
        out = out.reshape(-1, out.shape[-1])
        drop = min(self.skip[k], out.shape[1])
        self.skip[k] -= drop
        self.queues[k].push(out[:, drop:])

    def _average(self) -> np.ndarray | None:
        m = min(q.size for q in self.queues)
        if not m:
            return None
        return (sum(q.take(m) for q in self.queues) / len(self.queues)).reshape(*self.shape, m)

    def push(self, x: np.ndarray) -> np.ndarray | None:
        for k, e in enumerate(self.engines):
            self._queue(k, e.push(x))
        return self._average()

    def finish(self) -> np.ndarray | None:
        for k, e in enumerate(self.engines):
            self._queue(k, e.finish())
        out = self._average()
        return np.zeros((*self.shape, 0), np.float32) if out is None else out


class _Fifo:
    """Audio chunks ``(channels, n)`` queued in order; ``take(m)`` returns the first m samples."""

    def __init__(self, channels: int):
        self.ch, self.chunks, self.size = channels, [], 0

    def push(self, x: np.ndarray) -> None:
        if x.shape[1]:
            self.chunks.append(x)
            self.size += x.shape[1]

    def take(self, m: int) -> np.ndarray:
        """The first ``m`` samples (zero-padded past the end)."""
        out, need = [], m
        while need and self.chunks:
            head = self.chunks[0]
            k = min(need, head.shape[1])
            out.append(head[:, :k])
            if k == head.shape[1]:
                self.chunks.pop(0)
            else:
                self.chunks[0] = head[:, k:]
            need -= k
        self.size -= m - need
        if need or not out:
            out.append(np.zeros((self.ch, need), np.float32))
        return out[0] if len(out) == 1 else np.concatenate(out, axis=1)


class _Branch:
    """The models that share one STFT setting: their engine, and resampling of each output
    back to the input rate (queued until every branch has it). Fed at the models' rate."""

    def __init__(self, models: dict, sr_in: int, channels: int, opts: SeparationOptions):
        self.rate = next(iter(models.values())).spectral.sample_rate
        self.ch = channels
        n = opts.shifts or max(shifts(m) for m in models.values())
        self.engine = _Engine(models, channels, opts) if n == 1 else _Shifted(models, channels, opts, n)
        self.back = {name: audio_io.StreamResampler(self.rate, sr_in, channels) for name in self.engine.names}
        self.ready = {name: _Fifo(channels) for name in self.engine.names}

    def feed(self, x: np.ndarray) -> None:
        self._collect(self.engine.push(x), last=False)

    def close(self, tail: np.ndarray) -> None:
        mid = self.engine.push(tail) if tail.shape[1] else None
        fin = self.engine.finish()
        self._collect(fin if mid is None else np.concatenate([mid, fin], axis=2), last=True)

    def _collect(self, chunks: np.ndarray | None, last: bool) -> None:
        for i, name in enumerate(self.engine.names):
            part = chunks[i] if chunks is not None else np.zeros((self.ch, 0), np.float32)
            self.ready[name].push(self.back[name](part, last=last))


def stft_groups(models: dict) -> list[dict]:
    """The models grouped by STFT setting (sample rate, frame, hop, window, context), in order.

    Models that differ only in ``max_freq`` share one STFT (each sees its own band).
    """
    groups: list[dict] = []

    def stft_key(m) -> SpectralConfig:
        return dataclasses.replace(m.spectral, max_freq=0.0)

    for name, m in models.items():
        for g in groups:
            if stft_key(next(iter(g.values()))) == stft_key(m):
                g[name] = m
                break
        else:
            groups.append({name: m})
    return groups


def _separate_stream(blocks: Iterable[np.ndarray], sr_in: int, channels: int, n_samples: int | None,
                     models: dict, opts: SeparationOptions,
                     on_progress: Callable[[int], None] | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Yield dicts of output chunks (``name -> (channels, m)`` at ``sr_in``) as input blocks arrive.

    Models with different STFT settings run in separate branches (the soft mask is shared
    by the models of one branch); every output chunk holds the same span of the song.
    The concatenated outputs have exactly as many samples as the input.
    Raises SaesepError for empty, silent or non-finite input.
    """
    branches = [_Branch(g, sr_in, channels, opts) for g in stft_groups(models)]
    # the input is resampled once per model rate, whatever the number of branches at that rate
    to_model = {b.rate: audio_io.StreamResampler(sr_in, b.rate, channels) for b in branches}
    ready = {name: fifo for b in branches for name, fifo in b.ready.items()}
    names = list(models)
    keep = opts.output_names(names)
    rest_to = opts.rest_target(names)
    # input not yet matched by output, for the residual and the rest (mixture minus targets,
    # at the input rate, so they also keep what lies above the model's Nyquist frequency)
    pending = _Fifo(channels)
    need_rest = opts.residual or rest_to is not None
    written = 0
    n_read = 0
    peak = 0.0

    def emit(last: bool) -> dict[str, np.ndarray]:
        nonlocal written
        m = n_read - written if last else min(min(f.size for f in ready.values()), n_read - written)  # exact length
        out = {name: ready[name].take(m) for name in names}
        mixture = pending.take(m) if need_rest else None
        if rest_to is not None:
            out[rest_to] = out[rest_to] + opts.rest_share * (mixture - sum(out.values()))
        out = {name: out[name] for name in keep if name != RESIDUAL}
        if opts.residual:  # the mixture minus the targets returned
            out[RESIDUAL] = mixture - sum(out.values())
        for name, chunk in out.items():  # nothing non-finite ever leaves the separator
            if not np.isfinite(chunk).all():
                raise SaesepError(f"the '{name}' estimate holds NaN or infinite values (a damaged model?)")
        written += m
        return out

    for block in blocks:
        if not np.all(np.isfinite(block)):
            raise SaesepError("input contains NaN or infinite samples")
        peak = max(peak, float(np.abs(block).max()) if block.size else 0.0)
        n_read += block.shape[1]
        if need_rest:
            pending.push(block)
        at_rate = {rate: resample(block) for rate, resample in to_model.items()}
        for b in branches:
            b.feed(at_rate[b.rate])
        out = emit(last=False)
        if out[keep[0]].shape[1]:
            yield out
        if on_progress:
            on_progress(block.shape[1])
    if n_read == 0:
        raise SaesepError("input is empty (0 samples)")
    if peak == 0.0:
        raise SaesepError("input is silent (all samples are zero)")
    tails = {rate: resample(np.zeros((channels, 0), np.float32), last=True) for rate, resample in to_model.items()}
    for b in branches:
        b.close(tails[b.rate])
    yield emit(last=True)


def separate(audio: np.ndarray, sample_rate: int, models,
             options: SeparationOptions | None = None, block_seconds: float = 10.0) -> dict[str, np.ndarray]:
    """Separate an in-memory signal. ``audio``: ``(channels, samples)`` or ``(samples,)``.

    Returns ``{target: (channels, samples)}`` for ``options.outputs`` (default: every
    model's target; plus ``residual`` if asked), at ``sample_rate`` and with the input's shape.
    """
    opts = options or SeparationOptions()
    if not isinstance(models, dict):  # one model
        models = {models.target: models}
    x = np.asarray(audio, dtype=np.float32)
    squeeze = x.ndim == 1
    x = np.atleast_2d(x)
    step = max(1, int(block_seconds * sample_rate))
    blocks = (x[:, i:i + step] for i in range(0, x.shape[1], step))
    parts: dict[str, list] = {}
    for out in _separate_stream(blocks, sample_rate, x.shape[0], x.shape[1], models, opts):
        for k, v in out.items():
            parts.setdefault(k, []).append(v)
    res = {k: np.concatenate(v, axis=1) for k, v in parts.items()}
    return {k: (v[0] if squeeze else v) for k, v in res.items()}
