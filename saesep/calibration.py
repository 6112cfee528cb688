"""The output gain: a least-squares correction, per frequency bin, of a model's final estimates.

The ratio mask with a soft exponent, the Wiener filter and the averaged STFT grids leave a
model's estimates quieter than the instrument where the network is unsure: the built-in lead
model's, by 4 to 9 dB between 3 and 8 kHz on its own training songs. For each bin f the gain

    g_f = Σ Re(Ŝ* S) / Σ |Ŝ|²

is the scale that minimises Σ |S − g_f Ŝ|² over the frames of training songs (least squares
on them pooled, as the network's layers are fitted; dividing each song's sums by its
reference's energy let songs with little of the instrument pull the gains down, and lost
0.47 dB on unseen-instrument valid pieces for lead), kept within ±6 dB
(:data:`saesep.separation.MAX_GAIN`). The model file records it (``meta["output_gain"]``) and
the separator applies it after the filter (:attr:`SeparationOptions.calibrate`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import audio as audio_io
from .errors import SaesepError
from .workers import one_thread, process_pool


def _track_sums(args) -> tuple[np.ndarray, np.ndarray]:
    """One track's Σ Re(Ŝ* S) and Σ |Ŝ|² per bin."""
    from .network import load_models
    from .separation import SeparationOptions, separate
    from .spectral import stft

    ref_path, mix_path, model_path, options = args
    models = load_models([model_path])
    target = next(iter(models))
    cfg = models[target].spectral
    ref, sr = audio_io.read(ref_path)
    mix, _ = audio_io.read(mix_path)
    opts = SeparationOptions(rest_to=None, outputs=(target,), calibrate=False, **options)
    est = separate(mix, sr, models, opts)[target]
    if sr != cfg.sample_rate:
        ref, est = (audio_io.resample(a, sr, cfg.sample_rate) for a in (ref, est))
    s, e = (stft(a, cfg)[:, :cfg.net_bins] for a in (ref, est))  # (C, bins, frames)
    return np.real(np.conj(e) * s).sum((0, 2)), (np.abs(e) ** 2).sum((0, 2))


def fit_output_gain(model, corpora, split: str = "train", tracks_per_corpus: int | None = 100,
                    options: dict | None = None, jobs: int | None = None, progress: bool = True) -> np.ndarray:
    """The least-squares output gain per network bin of the model file ``model``, fitted on
    the first ``tracks_per_corpus`` tracks (name order; None: all) of ``split`` of each corpus
    that have its target, separated with ``options`` (keyword arguments of
    :class:`~saesep.separation.SeparationOptions`, e.g. the model's chosen ``mask_power``,
    ``wiener_iterations``, ``shifts``; default: the model's own), without any gain it records.
    Bins the estimates do not reach (60 dB below the loudest) keep gain 1. Returns float32 ``(net_bins,)``."""
    from tqdm.auto import tqdm

    from .datasets import find_tracks
    from .network import load_models
    from .separation import MAX_GAIN

    target = next(iter(load_models([str(model)])))
    tracks = []
    for c in corpora:
        tracks += [t for t in find_tracks(c, split) if target in t.stems and t.mixture is not None][:tracks_per_corpus]
    if not tracks:
        raise SaesepError(f"no '{target}' track with a mixture in the '{split}' split of {', '.join(map(str, corpora))}")
    # each worker gets the track's files: no folder is listed again per track
    args = [(str(t.stems[target]), str(t.mixture), str(model), options or {}) for t in tracks]
    num = den = 0.0
    jobs = min(jobs or os.cpu_count() or 1, len(args))
    with tqdm(total=len(args), disable=not progress, unit="track", desc=f"output gain {target}") as bar, \
            process_pool(jobs, initializer=one_thread) as pool:
        for r in pool.imap(_track_sums, args):
            num, den = num + r[0], den + r[1]
            bar.update(1)
    if isinstance(den, float) or not np.any(den > 0):
        raise SaesepError(f"the '{target}' estimates of those tracks are silent")
    reached = den > 1e-6 * den.max()  # bins 60 dB below the loudest: not reached
    gain = np.where(reached, num / np.where(reached, den, 1.0), 1.0)
    return np.clip(gain, 1 / MAX_GAIN, MAX_GAIN).astype(np.float32)
