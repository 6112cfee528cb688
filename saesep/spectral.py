"""Spectral front end: STFT/ISTFT, magnitude and phase, context stacking, γ normalisation.

Shapes: audio ``(..., samples)``; spectra ``(..., bins, frames)`` with
``bins = n_fft // 2 + 1``; context blocks ``(n, 2C+1, bins)``.
Frame ``t`` is centred on sample ``t * hop`` (librosa's ``center=True`` with zero padding),
and one extra frame past the end makes every sample lie under at least two
frames, so the ISTFT never divides by a vanishing window sum at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .config import SpectralConfig

if TYPE_CHECKING:
    import torch

EPS = 1e-8


def window(cfg: SpectralConfig) -> np.ndarray:
    """The analysis/synthesis window, ``(n_fft,)`` float32: the periodic window librosa uses
    (``scipy.signal.get_window(name, n_fft, fftbins=True)``, the tests' reference), written
    out because importing scipy.signal takes longer than a short song's whole extraction."""
    n = np.arange(cfg.n_fft) / cfg.n_fft
    if cfg.librosa_window == "boxcar":
        return np.ones(cfg.n_fft, np.float32)
    a0 = {"hann": 0.5, "hamming": 0.54}[cfg.librosa_window]
    return (a0 - (1 - a0) * np.cos(2 * np.pi * n)).astype(np.float32)


def n_frames(n_samples: int, cfg: SpectralConfig) -> int:
    """Frames of a signal of ``n_samples`` (centred framing, one frame past the end)."""
    return 2 + n_samples // cfg.hop


def frames_rfft(frames, win, ops):
    """Windowed FFTs of signal frames ``(..., n_fft)`` → ``(..., bins)`` complex, ``win`` the
    :func:`window` in ``ops``'s array type: the streaming separator's STFT (equal to
    :func:`stft`'s frames, which the tests check against it)."""
    return ops.rfft(frames * win)


def stft(audio: np.ndarray, cfg: SpectralConfig) -> np.ndarray:
    """Complex STFT ``(..., bins, frames)`` complex64 of ``(..., samples)`` audio."""
    import librosa

    audio = np.asarray(audio, dtype=np.float32)
    audio = np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(0, cfg.hop)])
    return librosa.stft(audio, n_fft=cfg.n_fft, hop_length=cfg.hop,
                        window=cfg.librosa_window, center=True, pad_mode="constant")


def istft(spec: np.ndarray, cfg: SpectralConfig, length: int) -> np.ndarray:
    """Inverse of :func:`stft`: ``(..., bins, frames)`` → ``(..., length)`` float32."""
    import librosa

    return librosa.istft(spec, n_fft=cfg.n_fft, hop_length=cfg.hop, window=cfg.librosa_window,
                         center=True, length=length).astype(np.float32)


def magnitude(spec: np.ndarray) -> np.ndarray:
    return np.abs(spec).astype(np.float32)


def phase(spec: np.ndarray) -> np.ndarray:
    """Unit-modulus phase factor ``spec / |spec|`` (1 where the spectrum is 0)."""
    mag = np.abs(spec)
    out = np.ones_like(spec)
    np.divide(spec, mag, out=out, where=mag > 0)
    return out


def context_offsets(cfg: SpectralConfig) -> np.ndarray:
    """Frame offsets of the context relative to the centre frame, ``(2C+1,)``."""
    return np.arange(-cfg.context, cfg.context + 1) * cfg.context_stride


def context_margin(cfg: SpectralConfig) -> int:
    """Frames needed on each side of a centre frame."""
    return cfg.context * cfg.context_stride


def stack_context(mag: torch.Tensor, cfg: SpectralConfig, margin_padded: bool = False) -> torch.Tensor:
    """Context blocks of every frame.

    mag: ``(batch, bins, frames)`` magnitudes.
    margin_padded: ``mag`` already holds ``context_margin`` extra frames on each side
        (the streaming case); otherwise zeros (silence) are used beyond the edges.
    Returns ``(batch * centre_frames, 2C+1, bins)``, frames of one batch item contiguous.
    """
    import torch

    m = context_margin(cfg)
    if not margin_padded and m:
        mag = torch.nn.functional.pad(mag, (m, m))
    b, bins, total = mag.shape
    centres = total - 2 * m
    idx = torch.arange(centres, device=mag.device)[:, None] + m + torch.as_tensor(context_offsets(cfg), device=mag.device)
    blocks = mag.transpose(1, 2)[:, idx]  # (batch, centres, 2C+1, bins)
    return blocks.reshape(b * centres, cfg.context_frames, bins)


def gamma(blocks: torch.Tensor) -> torch.Tensor:
    """The paper's normaliser: mean Euclidean norm of a block's frames. ``(n, F, bins)`` → ``(n, 1)``."""
    return blocks.norm(dim=-1).mean(dim=-1, keepdim=True)


def normalize(blocks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Divide each block by its γ. Returns ``(x (n, F*bins), γ (n, 1))``; silent blocks stay 0."""
    g = gamma(blocks)
    x = blocks.reshape(blocks.shape[0], -1) / (g + EPS)
    return x, g
