#!/usr/bin/env python3
"""Averaging STFT grids (``--shifts N``) against one grid, per track of the valid splits.

For each track: the model's estimate of the song, and of the song after k·hop/N zeros
(k = 1..N-1, realigned), the separator's ``shifts=N`` written out (tests/test_separation.py
shows the two agree); the Music Demixing Challenge's whole-track SDR of one grid and of
the average of N, and the paired difference over each corpus's split.

Usage: python bench/shifts.py --model saesep/models/drums.pt [--shifts 2,4] [--split valid]
           [--corpus corpora/band-medium --corpus corpora/band-opl3-valid --corpus corpora/medium]
           [--name shifts_drums_valid]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from common import read_target, results_name, write_results

from saesep.datasets import find_tracks  # noqa: E402
from saesep.evaluation import mdx_sdr  # noqa: E402
from saesep.workers import process_pool  # noqa: E402


def _track(args) -> dict | None:
    import torch

    from saesep.network import load_models
    from saesep.separation import SeparationOptions, separate

    torch.set_num_threads(1)
    t, model_path, counts = args
    models = load_models([model_path])
    target = next(iter(models))
    audio = read_target(t, target)
    if audio is None:
        return None
    ref, mix, sr = audio
    one = SeparationOptions(rest_to=None, outputs=(target,), shifts=1)
    hop, n = models[target].spectral.hop, mix.shape[1]
    runs = {}  # delay -> estimate, realigned

    def run(d: int) -> np.ndarray:
        if d not in runs:
            runs[d] = separate(np.pad(mix, ((0, 0), (d, 0))), sr, models, one)[target][:, d:d + n]
        return runs[d]

    res = {"track": t.name, "1": mdx_sdr(ref, run(0))["SDR"]}
    for count in counts:
        res[str(count)] = mdx_sdr(ref, sum(run(k * hop // count) for k in range(count)) / count)["SDR"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--shifts", default="2")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--corpus", action="append")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--name", type=results_name, default=None)
    args = ap.parse_args()
    counts = [int(c) for c in args.shifts.split(",")]
    corpora = args.corpus or ["corpora/band-medium", "corpora/band-opl3-valid", "corpora/medium"]
    out = {"model": args.model, "split": args.split, "metric": "MDX SDR", "corpora": {}}
    for c in corpora:
        tracks = find_tracks(Path(c) / args.split)
        with process_pool(args.jobs) as pool:
            rows = [r for r in pool.map(_track, [(t, args.model, counts) for t in tracks]) if r]
        one = np.array([r["1"] for r in rows])
        summary = {"shifts_1_mean": round(float(one.mean()), 3)}
        for count in counts:
            diff = np.array([r[str(count)] for r in rows]) - one
            summary[f"shifts_{count}"] = {"mean": round(float(one.mean() + diff.mean()), 3),
                                          "paired": round(float(diff.mean()), 3),
                                          "better": int((diff > 0).sum()), "tracks": len(rows)}
            print(f"{c}: {count} grids {one.mean() + diff.mean():.3f} dB against {one.mean():.3f}: "
                  f"paired {diff.mean():+.3f} ({(diff > 0).sum()}/{len(rows)})", flush=True)
        out["corpora"][c] = {**summary, "per_track": rows}
    write_results(args.name or f"experiments/shifts_{Path(args.model).stem}_{args.split}", out)


if __name__ == "__main__":
    main()
