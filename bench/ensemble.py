#!/usr/bin/env python3
"""Averaging the estimates of models of one role (e.g. trained with different seeds) against
the first model alone, per track of the valid splits.

For each track: each model's final estimate as ``saesep extract`` gives it (each with the
options its file records, or with those of ``--options-from``: a freshly trained file records
none and would separate with the defaults), and their average; the Music Demixing Challenge's whole-track SDR
of each and the paired differences against the first model over each corpus's split.

Usage: python bench/ensemble.py --model saesep/models/lead.pt --model lead_seed2.pt [--split valid]
           [--options-from saesep/models/lead.pt]
           [--corpus corpora/band-medium --corpus corpora/medium ...] [--name ensemble_lead_valid]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from common import paired, read_target, write_results

from saesep.datasets import find_tracks  # noqa: E402
from saesep.evaluation import mdx_sdr  # noqa: E402
from saesep.model import load  # noqa: E402
from saesep.workers import one_thread, process_pool  # noqa: E402

CORPORA = ["corpora/band-medium", "corpora/medium", "corpora/band-opl3-valid", "corpora/medium-opl3-valid"]


def _track(args) -> dict | None:
    from saesep.network import load_models
    from saesep.separation import SeparationOptions, separate

    t, model_paths, target, options = args
    models = [load_models([p]) for p in model_paths]
    audio = read_target(t, target)
    if audio is None:
        return None
    ref, mix, sr = audio
    estimates = [separate(mix, sr, m, SeparationOptions(**options))[target] for m in models]
    res = {"track": t.name, "ensemble": mdx_sdr(ref, sum(estimates) / len(estimates))["SDR"]}
    for i, est in enumerate(estimates):
        res[str(i)] = mdx_sdr(ref, est)["SDR"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", required=True, help="Two or more models of one role.")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--corpus", action="append")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--options-from", default=None, metavar="MODEL",
                    help="Separate every model with this file's mask exponent, filter iterations and grids.")
    ap.add_argument("--name", default=None)
    args = ap.parse_args()
    targets = {load(p).target for p in args.model}
    if len(args.model) < 2 or len(targets) != 1:
        raise SystemExit("give two or more --model of one role")
    target = targets.pop()
    options = {}
    if args.options_from:
        meta = load(args.options_from).meta
        options = {k: meta[k] for k in ("mask_power", "wiener_iterations", "shifts") if meta.get(k) is not None}
    out = {"models": args.model, "split": args.split, "options": options or "each file's own", "metric": "MDX SDR",
           "corpora": {}}
    for c in args.corpus or CORPORA:
        tracks = find_tracks(Path(c) / args.split)
        with process_pool(args.jobs, initializer=one_thread) as pool:
            rows = [r for r in pool.map(_track, [(t, args.model, target, options) for t in tracks]) if r]
        first = {r["track"]: r["0"] for r in rows}
        summary = {"first_mean": round(float(np.mean(list(first.values()))), 3),
                   "ensemble_mean": round(float(np.mean([r["ensemble"] for r in rows])), 3),
                   "ensemble_minus_first": paired({r["track"]: r["ensemble"] for r in rows}, first)}
        for i in range(1, len(args.model)):
            summary[f"model_{i}_minus_first"] = paired({r["track"]: r[str(i)] for r in rows}, first)
        print(f"{c}: ensemble {summary['ensemble_mean']:.3f} dB against {summary['first_mean']:.3f}: paired "
              f"{summary['ensemble_minus_first']['mean']:+.3f} ({summary['ensemble_minus_first']['better']}/{len(rows)})",
              flush=True)
        out["corpora"][c] = {**summary, "per_track": rows}
    write_results(args.name or f"experiments/ensemble_{Path(args.model[0]).stem}_{args.split}", out)


if __name__ == "__main__":
    main()
