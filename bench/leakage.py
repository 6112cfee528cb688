#!/usr/bin/env python3
"""What a model's mask lets through, stem by stem: where its interference comes from.

    python bench/leakage.py --model saesep/models/other.pt [--data corpora/band-medium]
        [--split valid] [--tracks 60] [--power P] [--name leakage_other]

The model's ratio mask (exponent ``--power``, default the model's own; no Wiener filter,
no output gain, one STFT grid) depends only on the mixture, so it can be applied to each
true stem of the track: the energy it passes of the target is what the estimate keeps, the
energy it passes of each other stem is that stem's interference. Prints, summed over the
tracks, the share of each stem's energy the mask passes and each stem's share of all the
interference, and the SIR these give (10 log10 of target passed over interference passed,
pooled over the tracks; museval's SIR is a median over 1-s windows).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from common import machine, results_name, write_results

from saesep import audio  # noqa: E402
from saesep.datasets import find_tracks  # noqa: E402
from saesep.model import load  # noqa: E402
from saesep.backend import NumpyOps  # noqa: E402
from saesep.separation import check_mask_power, mask_power, ratio_mask  # noqa: E402
from saesep.spectral import context_margin, stft  # noqa: E402


def spectra(path, cfg) -> np.ndarray:
    """``(channels, frames, bins)`` STFT of an audio file at the model's rate."""
    x, _ = audio.read(path, sample_rate=cfg.sample_rate)
    return np.swapaxes(stft(x, cfg), -1, -2)


def passed_energy(model, track, p: float) -> dict[str, tuple[float, float]]:
    """``{stem: (energy the mask passes, energy)}`` of one track."""
    cfg = model.spectral
    mix = spectra(track.mixture, cfg)
    mag = np.abs(mix)
    m = context_margin(cfg)
    with torch.no_grad():
        est = model.estimate_sequence(torch.nn.functional.pad(torch.from_numpy(mag), (0, 0, m, m))).numpy()
    mask = ratio_mask(NumpyOps(), est, mag, p)
    out = {}
    for stem, path in track.stems.items():
        s = spectra(path, cfg)
        out[stem] = (float(np.sum(np.abs(mask * s) ** 2)), float(np.sum(np.abs(s) ** 2)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default="corpora/band-medium")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--tracks", type=int, default=60, help="the first N tracks that have the target")
    ap.add_argument("--power", type=float, default=None, help="the mask's exponent (default: the model's)")
    ap.add_argument("--name", type=results_name, default=None, help="write bench/results/NAME.json")
    args = ap.parse_args()
    model = load(args.model)
    p = mask_power(model) if args.power is None else check_mask_power(args.power)
    tracks = [t for t in find_tracks(args.data, args.split) if model.target in t.stems and t.mixture][:args.tracks]
    total: dict[str, np.ndarray] = {}
    for t in tracks:
        for stem, e in passed_energy(model, t, p).items():
            total[stem] = total.get(stem, np.zeros(2)) + e
    interference = sum(v[0] for s, v in total.items() if s != model.target)
    sir = 10 * np.log10(total[model.target][0] / interference)
    print(f"{machine()['cpu']}\n{args.model} ({model.target}), exponent {p:g}, {len(tracks)} tracks of {args.data}/{args.split}")
    print(f"{'stem':<8} {'passed':>7} {'of the interference':>20}")
    for s, (passed, energy) in sorted(total.items()):
        share = "" if s == model.target else f"{passed / interference:.0%}"
        print(f"{s:<8} {passed / energy:>7.0%} {share:>20}")
    print(f"pooled SIR {sir:.2f} dB")
    if args.name:
        write_results(args.name, {"model": args.model, "data": args.data, "split": args.split,
                                  "tracks": len(tracks), "mask_power": p, "pooled_sir_db": round(float(sir), 2),
                                  "stems": {s: {"passed": v[0], "energy": v[1]} for s, v in total.items()}})


if __name__ == "__main__":
    main()
