#!/usr/bin/env python3
"""Tried, not adopted: a song-level summary of the mixture as one more input frame.

    python bench/summary_frame.py [--role other] [--variant 1:block --variant 5:shape]
                                  [--iters 500] [--name experiments/summary_frame]

Lead and other take each other's sound (docs/models.md), and the network sees 13 frames
(0.15 s) of the mixture. Here each block gets one more frame in front of its context: the
root mean power spectrum of the mixture over a window of ±SECONDS around the centre frame
(zeros beyond the track, as the streaming separator would see them). For blocks summed
from stems of random songs, the powers of the stems' own windows times their gains are
summed. ``block``: the frame is divided by the block's γ, as the context frames are;
``shape``: by its own norm (the spectrum's shape only).

Each variant and a baseline (no summary) train the same short schedule (``--iters`` a
layer, as many of fine-tuning, 3 layers of 1026 units, the cosine schedule, seed 0) on the
built-in models' corpora, each in a process of its own (the variants patch the sampler).
Prints J_valid after each least-squares solve and each stage, and J_train after each
solve, and writes them to ``bench/results/NAME.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np

from common import ROOT, machine, results_name, write_results

CORPORA = [ROOT / "corpora" / c for c in ("band-medium", "medium", "medium-gmbank")]


def patch(seconds: float, scale: str) -> None:
    """Make the sampler prepend the summary frame to every block (and the network expect it)."""
    import torch

    import saesep.datasets as D
    from saesep.config import SpectralConfig
    from saesep.spectral import EPS, context_margin, gamma

    SpectralConfig.context_frames = property(lambda s: 2 * s.context + 2)  # the centre stays at index C+1

    def windowed_power(s: np.ndarray, w: int) -> np.ndarray:
        p = s.real.astype(np.float64) ** 2 + s.imag.astype(np.float64) ** 2
        c = np.concatenate([np.zeros((1, p.shape[1])), np.cumsum(p, 0)])
        t = np.arange(len(p))
        return ((c[np.minimum(t + w + 1, len(p))] - c[np.maximum(t - w, 0)]) / (2 * w + 1)).astype(np.float32)

    spectra_of, load_pool = D.BlockSampler._track_spectra, D.BlockSampler._load_pool

    def _track_spectra(self, t, u):  # each track's windowed powers, computed in its loading thread
        spectra = spectra_of(self, t, u)
        w = round(seconds * self.cfg.sample_rate / self.cfg.hop)
        self.summary_parts[t.path] = {stem: windowed_power(s, w) for stem, (s, _) in spectra.items()}
        return spectra

    def _load_pool(self, picked, channel_draw):
        self.summary_parts = {}
        load_pool(self, picked, channel_draw)
        parts = [self.summary_parts.pop(self.tracks[i].path) for i in picked]
        gap = 2 * context_margin(self.cfg) + 1  # the pool's gaps between tracks
        self.summ = {stem: torch.from_numpy(D._with_gaps([p[stem] for p in parts if stem in p], gap)) for stem in self.spec}

    def finish(power, blocks):
        s = power.sqrt()
        if scale == "shape":
            s = s / (s.norm(dim=-1, keepdim=True) + EPS)
        return torch.cat([s[:, None], blocks], 1)

    def _independent(self, n):
        c = self.cfg.context
        centres = self.rng.choice(self.active[self.target], n)
        tgt, alpha = self._blocks(self.target, centres), self._gains(n)
        mix, power = tgt * alpha, self.summ[self.target][centres] * alpha[:, 0, :, 0] ** 2
        for stem in self.others:
            if stem in self.active and len(self.active[stem]):
                k, g = self.rng.choice(self.active[stem], n), self._gains(n)
                mix = mix + self._blocks(stem, k) * g
                power = power + self.summ[stem][k] * g[:, 0, :, 0] ** 2
        return finish(power, D._abs(mix)), D._abs(tgt[:, c]) * alpha[:, 0, :, 0]

    def _aligned(self, n):
        centres = self.rng.choice(self.active[D.MIXTURE], n)
        mix, tgt = self._blocks(D.MIXTURE, centres), self._blocks(self.target, centres)[:, self.cfg.context]
        return finish(self.summ[D.MIXTURE][centres], D._abs(mix)), D._abs(tgt)

    def normalize(blocks):
        g = gamma(blocks[:, 1:])  # the context frames' γ, as without the summary
        x = blocks / (g[:, :, None] + EPS)
        if scale == "shape":
            x[:, 0] = blocks[:, 0]
        return x.reshape(blocks.shape[0], -1), g

    D.BlockSampler._track_spectra, D.BlockSampler._load_pool = _track_spectra, _load_pool
    D.BlockSampler._independent, D.BlockSampler._aligned = _independent, _aligned
    D.normalize = normalize


def run(variant: str, role: str, iters: int, out: str) -> None:
    if variant != "none":
        seconds, scale = variant.split(":")
        patch(float(seconds), scale)
    from saesep.training import train

    m = train([str(c) for c in CORPORA], out, target=role, width=1026, layers=3, iters_per_layer=iters,
              finetune_iters=iters, lr_schedule="cosine", workers=0, progress=False)
    h = m.history
    print(json.dumps({"solves": [(a["layer"], a["J_train_after"], a["J_valid_after"]) for a in h["layers_added"]],
                      "stages": [(s["name"], s["J_valid"]) for s in h["stages"]],
                      "cpu_seconds": h["cpu_seconds"]}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--role", default="other")
    ap.add_argument("--variant", action="append", help="SECONDS:block or SECONDS:shape (repeatable)")
    ap.add_argument("--iters", type=int, default=500)
    ap.add_argument("--name", type=results_name, default="experiments/summary_frame")
    ap.add_argument("--run", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.run:
        return run(a.run, a.role, a.iters, a.out)
    work = ROOT / "bench" / "work" / "summary_frame"
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    for v in ["none"] + (a.variant or ["1:block", "5:shape"]):
        out = subprocess.run([sys.executable, __file__, "--run", v, "--role", a.role, "--iters", str(a.iters),
                              "--out", str(work / f"{a.role}_{v.replace(':', '_')}.pt")],
                             capture_output=True, text=True, check=True)
        results[v] = r = json.loads(out.stdout.strip().splitlines()[-1])
        solves = ", ".join(f"layer {k}: J_train {jt:.4f} J_valid {jv:.4f}" for k, jt, jv in r["solves"])
        stages = ", ".join(f"{n} {j:.4f}" for n, j in r["stages"])
        print(f"{v:>8}: after each solve {solves}; after each stage {stages}; {r['cpu_seconds']:.0f} CPU s", flush=True)
    print(machine()["cpu"])
    write_results(a.name, {"role": a.role, "iters": a.iters, "variants": results})


if __name__ == "__main__":
    main()
