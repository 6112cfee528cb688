"""Open-Unmix beside saesep: its model trained on our corpus for a given CPU time, and its separation.

openunmix 1.3 imports torchaudio, which has no release for torch 2.13; its model and
Separator are pure torch, so an empty module stands in (see shared/PEERS.md).
Install with: pip install --no-deps openunmix==1.3.0
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

sys.modules.setdefault("torchaudio", types.ModuleType("torchaudio"))

N_FFT, HOP, MAX_BIN = 4096, 1024, 1487


def available() -> bool:
    try:
        import openunmix.model  # noqa: F401
        return True
    except ImportError:
        return False


class SegmentSampler:
    """Aligned stereo excerpts (mixture, target) from a track folder, as UMX trains (random gain
    per stem). ``pool_tracks`` tracks are held at a time and drawn afresh every ``refresh``
    batches, as saesep's own sampler does: memory does not grow with the corpus, and a long
    run sees all of it."""

    def __init__(self, tracks, target, seconds=6.0, seed=0, pool_tracks=64, refresh=50):
        self.tracks = [t for t in tracks if target in t.stems]
        self.target, self.pool_tracks, self.refresh = target, pool_tracks, refresh
        self.rng = np.random.default_rng(seed)
        self.len = int(seconds * 44100)
        self.batches, self.items = 0, []

    def _load(self, track):
        from saesep import audio

        stems = {n: audio.read(p)[0] for n, p in track.stems.items()}
        n = min(a.shape[1] for a in stems.values())
        tgt = stems[self.target][:, :n]
        rest = sum(a[:, :n] for k, a in stems.items() if k != self.target) if len(stems) > 1 else np.zeros_like(tgt)
        return tgt, rest

    def batch(self, n):
        if self.batches % self.refresh == 0:
            k = min(self.pool_tracks, len(self.tracks))
            self.items = [self._load(self.tracks[i]) for i in sorted(self.rng.choice(len(self.tracks), k, replace=False))]
        self.batches += 1
        xs, ys = [], []
        for _ in range(n):
            tgt, rest = self.items[self.rng.integers(len(self.items))]
            start = int(self.rng.integers(0, max(1, tgt.shape[1] - self.len)))
            g1, g2 = self.rng.uniform(0.25, 1.25, 2)
            t = tgt[:, start:start + self.len] * g1
            r = rest[:, start:start + self.len] * g2
            xs.append(t + r)
            ys.append(t)
        return torch.from_numpy(np.stack(xs).astype(np.float32)), torch.from_numpy(np.stack(ys).astype(np.float32))


def _mag(x):
    """(batch, channels, samples) -> (frames, batch, channels, bins) magnitude, as UMX expects."""
    w = torch.hann_window(N_FFT)
    b, c, n = x.shape
    spec = torch.stft(x.reshape(b * c, n), N_FFT, HOP, window=w, return_complex=True, center=True)
    return spec.abs().reshape(b, c, spec.shape[-2], spec.shape[-1])  # (b, c, bins, frames)


def _new_umx(**stats):
    """The Open-Unmix model this benchmark trains (stereo, hidden 512, bins up to MAX_BIN)."""
    from openunmix.model import OpenUnmix

    return OpenUnmix(nb_bins=N_FFT // 2 + 1, nb_channels=2, hidden_size=512, max_bin=MAX_BIN, **stats)


def train_umx(tracks, target, cpu_seconds: float, seed: int = 0, batch: int = 8, log=print):
    """Train an OpenUnmix model for ``cpu_seconds`` of process CPU time (MSE on magnitudes, Adam 1e-3)."""
    torch.manual_seed(seed)
    sampler = SegmentSampler(tracks, target, seed=seed)
    # input statistics, as UMX's training script computes them
    x, _ = sampler.batch(16)
    m = _mag(x).permute(0, 1, 3, 2).reshape(-1, N_FFT // 2 + 1)[:, :MAX_BIN]
    model = _new_umx(input_mean=m.mean(0).numpy(), input_scale=(1.0 / (m.std(0) + 1e-8)).numpy())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.process_time()
    steps, losses = 0, []
    while time.process_time() - t0 < cpu_seconds:
        x, y = sampler.batch(batch)
        loss = torch.nn.functional.mse_loss(model(_mag(x)), _mag(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
        losses.append(loss.item())
    log(f"open-unmix {target}: {steps} steps in {time.process_time() - t0:.0f} CPU s, last loss {np.mean(losses[-10:]):.4g}")
    return model.eval(), {"steps": steps, "cpu_seconds": round(time.process_time() - t0, 1), "batch": batch,
                          "segment_seconds": 6.0, "pool_tracks": sampler.pool_tracks, "pool_refresh": sampler.refresh}


def train_umx_cached(tracks, target, cpu_seconds: float, work, seed: int = 0, log=print):
    """:func:`train_umx`, or the model a previous run trained on the same tracks with the same
    target, budget and seed."""
    data = hashlib.sha1("\n".join(str(t.path.resolve()) for t in tracks).encode()).hexdigest()[:10]
    path = Path(work) / f"umx_{target}_{round(cpu_seconds)}s_seed{seed}_{data}.pt"
    if path.exists():
        saved = torch.load(path, weights_only=True)
        model = _new_umx()
        model.load_state_dict(saved["state_dict"])
        log(f"open-unmix {target}: reusing {path.name}")
        return model.eval(), json.loads(saved["info_json"])
    model, info = train_umx(tracks, target, cpu_seconds, seed=seed, log=log)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"state_dict": model.state_dict(), "info_json": json.dumps(info)}, tmp)
    tmp.replace(path)
    return model, info


@torch.no_grad()
def separate_umx(model, mixture: np.ndarray, sample_rate: int, target: str, niter: int = 1) -> np.ndarray:
    """Open-Unmix's Separator (Wiener EM with ``niter`` iterations) on a ``(2, samples)`` mixture."""
    from openunmix.model import Separator

    sep = Separator({target: model}, niter=niter, residual=True, sample_rate=sample_rate, n_fft=N_FFT, n_hop=HOP, nb_channels=2).eval()
    est = sep(torch.from_numpy(mixture[None].astype(np.float32)))
    return est[0, 0].numpy()
