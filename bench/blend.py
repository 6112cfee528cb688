#!/usr/bin/env python3
"""Models of one role averaged in the waveform: each separates the song with its own STFT
and options, and the weighted mean of their estimates is scored (a way to average
networks that ``saesep combine`` cannot: other frame lengths). Per track of the valid
splits, the Music Demixing Challenge's whole-track SDR of every model and blend, and the
paired difference of each against the first.

Usage: python bench/blend.py --model saesep/models/lead.pt --model lead_2048.pt
           [--blend 1,1 --blend 2,1] [--split valid] [--corpus band=corpora/band-medium ...]
           [--name experiments/lead_blend_valid]
(a blend's weights follow the --model order; default corpora: band, classical and the
two FM-synth valid splits, as bench/generalisation.py names them)
"""

from __future__ import annotations

import argparse

import numpy as np

from common import paired, read_target, results_name, write_results

from saesep.datasets import find_tracks  # noqa: E402
from saesep.evaluation import mdx_sdr  # noqa: E402
from saesep.workers import one_thread, process_pool  # noqa: E402

CORPORA = {"band": "corpora/band-medium", "classical": "corpora/medium",
           "band-fm": "corpora/band-opl3-valid", "classical-fm": "corpora/medium-opl3-valid"}


def _track(args) -> dict | None:
    from saesep.network import load_models
    from saesep.separation import SeparationOptions, separate

    t, paths, blends = args
    models = [load_models([p]) for p in paths]
    target = next(iter(models[0]))
    audio = read_target(t, target)
    if audio is None:
        return None
    ref, mix, sr = audio
    opts = SeparationOptions(outputs=(target,), rest_to=None)
    ests = [separate(mix, sr, m, opts)[target] for m in models]
    scores = {f"model{i}": mdx_sdr(ref, e)["SDR"] for i, e in enumerate(ests)}
    for w in blends:
        mean = sum(wi * e for wi, e in zip(w, ests)) / sum(w)
        scores["blend " + ",".join(f"{wi:g}" for wi in w)] = mdx_sdr(ref, mean)["SDR"]
    return {"track": t.name, **scores}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="a model file (repeat; the first is the reference)")
    ap.add_argument("--blend", action="append", default=None, help="weights per model, e.g. 1,1 (repeat)")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--corpus", action="append", default=None, help="NAME=FOLDER (repeat)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--name", type=results_name, default="experiments/blend_valid")
    a = ap.parse_args()
    blends = [[float(x) for x in b.split(",")] for b in (a.blend or [",".join(["1"] * len(a.model))])]
    if any(len(b) != len(a.model) for b in blends):
        ap.error("each --blend gives one weight per --model")
    corpora = dict(c.split("=", 1) for c in a.corpus) if a.corpus else CORPORA
    out = {"models": a.model, "split": a.split, "metric": "whole-track SDR (MDX)", "corpora": {}}
    with process_pool(a.jobs, initializer=one_thread) as pool:
        for name, root in corpora.items():
            rows = [r for r in pool.imap(_track, [(t, a.model, blends) for t in find_tracks(root, a.split)]) if r]
            keys = [k for k in rows[0] if k != "track"]
            per = {k: {r["track"]: r[k] for r in rows} for k in keys}
            res = {k: {"median": round(float(np.median(list(v.values()))), 3),
                       "paired_vs_model0": paired(v, per["model0"])} for k, v in per.items()}
            out["corpora"][name] = {"data": root, "tracks": len(rows), "scores": res, "per_track": rows}
            print(f"{name} ({len(rows)} tracks)")
            for k, v in res.items():
                p = v["paired_vs_model0"]
                print(f"  {k:<16} median {v['median']:6.2f}  paired {p['mean']:+.3f} ({p['better']}/{p['tracks']})")
    write_results(a.name, out)


if __name__ == "__main__":
    main()
