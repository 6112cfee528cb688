#!/usr/bin/env python3
"""Quality on the corpus test split: saesep (plain and with the all-roles soft mask) vs oracles,
passthrough, the NMF baseline and Open-Unmix trained on the same data for the same CPU time.

BSS Eval v4 (museval), 1 s windows, median over windows then over tracks.
Usage: python bench/quality.py [--data corpora/medium] [--tracks 12] [--targets bass,lead,other,drums]
                               [--methods saesep,open-unmix,mixture,irm1] [--umx-cpu-scale 1]
                               [--model other=candidate.pt]
Open-Unmix gets the CPU seconds recorded in saesep's model file (training threads and loaders
together); a trained Open-Unmix model is kept under bench/work/ and reused for the same budget.
--umx-scores FILE takes Open-Unmix's per-track scores from an earlier results file of this
benchmark instead (when its model is no longer kept and only saesep's separation changed):
they depend only on that model and the tracks, and its budget must be the one saesep's file gives.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from common import ROOT, WORK, gap_closed, paired, score_all, results_name, write_results

import umx as umx_bench  # noqa: E402
from saesep import audio, models as builtin  # noqa: E402
from saesep.corpus import extra_render_path  # noqa: E402
from saesep.datasets import find_tracks  # noqa: E402
from saesep.evaluation import NMFBaseline, oracle  # noqa: E402
from saesep.model import load  # noqa: E402
from saesep.separation import SeparationOptions, separate  # noqa: E402

ORACLES = ("irm1", "irm2", "ibm", "oracle-mag", "mixture")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "corpora" / "medium"))
    ap.add_argument("--tracks", type=int, default=12, help="test tracks per target (the first N, sorted)")
    ap.add_argument("--targets", default="bass,lead,other,drums")
    ap.add_argument("--no-umx", action="store_true")
    ap.add_argument("--no-nmf", action="store_true")
    ap.add_argument("--name", type=results_name, default="quality", help="results file name under bench/results/")
    ap.add_argument("--umx-cpu-scale", type=float, default=1.0,
                    help="Open-Unmix's CPU budget as a multiple of saesep's training CPU time (1: equal)")
    ap.add_argument("--umx-scores", default=None, metavar="FILE",
                    help="Open-Unmix's per-track scores from an earlier results file (bench/results/NAME.json)")
    ap.add_argument("--model", action="append", default=[], metavar="ROLE=FILE",
                    help="a model file instead of the built-in for ROLE (a candidate; repeatable)")
    ap.add_argument("--methods", default=None, help="comma-separated subset of: saesep, saesep-wiener, "
                    f"{', '.join(ORACLES)}, nmf, open-unmix (default: all)")
    args = ap.parse_args()
    wanted = set(args.methods.split(",")) if args.methods else None
    if wanted is not None:
        wanted |= {"saesep", "mixture", "irm1"}  # the gap needs them
        args.no_nmf |= "nmf" not in wanted
        args.no_umx |= "open-unmix" not in wanted
    bad = [m for m in args.model if "=" not in m]
    if bad:
        ap.error(f"--model takes ROLE=FILE, got '{bad[0]}'")
    files = {**builtin.available(), **dict(m.split("=", 1) for m in args.model)}
    models = {t: load(p) for t, p in files.items()}
    test = find_tracks(args.data, "test")
    train = find_tracks(args.data, "train")
    out = {"data": args.data, "tracks_per_target": args.tracks, "models": {t: str(p) for t, p in files.items()},
           "targets": {}}
    for target in args.targets.split(","):
        model = models[target]
        tracks = [t for t in test if target in t.stems][: args.tracks]
        extra = {}
        if not args.no_nmf:
            t0 = time.time()
            nmf = NMFBaseline(model.spectral).fit(train[:60], target)
            extra["nmf_fit_seconds"] = round(time.time() - t0, 1)
        umx_model = None
        # the CPU time saesep's training took (all its threads and loaders); older files: 2 cores x wall time
        cpu_budget = args.umx_cpu_scale * (model.history.get("cpu_seconds") or 2 * (model.meta.get("train_seconds") or 300))
        earlier = None
        if args.umx_scores:
            earlier = json.loads(Path(args.umx_scores).read_text())["targets"][target]
            if abs(earlier["open-unmix"]["cpu_budget_s"] - cpu_budget) > 1:
                raise SystemExit(f"{args.umx_scores}: Open-Unmix had {earlier['open-unmix']['cpu_budget_s']} CPU s, "
                                 f"not {cpu_budget:.1f}")
            extra["open-unmix"] = {**earlier["open-unmix"], "scores_from": args.umx_scores}
        elif not args.no_umx and umx_bench.available():
            # the same training tracks as saesep's model: the corpus and its extra renders (make_models)
            named = model.meta.get("data")  # folder names beside --data (make_models); older files: extra renders
            extra_roots = ([Path(args.data).parent / n for n in named if n != Path(args.data).name]
                           if isinstance(named, list) else
                           [extra_render_path(args.data, e["name"]) for e in model.meta.get("corpus", {}).get("extra_train", [])])
            umx_train = train + [t for r in extra_roots for t in find_tracks(r, "train")]
            umx_model, info = umx_bench.train_umx_cached(umx_train, target, cpu_budget, WORK)
            info["train_tracks"] = len(umx_train)
            extra["open-unmix"] = {**info, "cpu_budget_s": cpu_budget, "cpu_scale": args.umx_cpu_scale}
        jobs = []
        for t in tracks:
            mix, sr = audio.read(t.mixture)
            ref, _ = audio.read(t.stems[target])
            ests = {"saesep": separate(mix, sr, model)[target]}
            if wanted is None or "saesep-wiener" in wanted:
                ests["saesep-wiener"] = separate(mix, sr, models, SeparationOptions(mask="soft", rest_to=None))[target]
            for m in ORACLES:
                if wanted is None or m in wanted:
                    ests[m] = oracle(m, mix, ref, model.spectral, sr)
            if not args.no_nmf:
                ests["nmf"] = nmf.separate(mix, sr)
            if umx_model is not None:
                ests["open-unmix"] = umx_bench.separate_umx(umx_model, mix, sr, target)
            jobs += [((t.name, m), ref, e, mix, sr) for m, e in ests.items()]
        per_track: dict = {}
        for (name, m), sc in score_all(jobs):
            per_track.setdefault(name, {})[m] = sc
        if earlier is not None:
            for name in per_track:
                per_track[name]["open-unmix"] = earlier["per_track"][name]["open-unmix"]
        methods = list(next(iter(per_track.values())))
        med = {m: {k: float(np.nanmedian([per_track[n][m][k] for n in per_track])) for k in ("SDR", "SIR", "SAR", "SI-SDR")}
               for m in methods}
        closed = gap_closed(med["saesep"]["SDR"], med["mixture"]["SDR"], med["irm1"]["SDR"])
        sdr = {m: {n: v[m]["SDR"] for n, v in per_track.items()} for m in methods}
        vs = {m: paired(sdr["saesep"], sdr[m]) for m in methods if m != "saesep"}
        out["targets"][target] = {"median": med, "per_track": per_track, "gap_closed_to_irm1": round(closed, 3),
                                  "saesep_minus": vs, **extra}
        print(f"\n== {target} ({len(per_track)} test tracks) ==")
        print(f"{'method':<14} {'SDR':>7} {'SIR':>7} {'SAR':>7} {'SI-SDR':>7}")
        for m in methods:
            v = med[m]
            print(f"{m:<14} {v['SDR']:7.2f} {v['SIR']:7.2f} {v['SAR']:7.2f} {v['SI-SDR']:7.2f}")
        print(f"saesep closes {100 * closed:.0f} % of the passthrough -> IRM1 gap")
        for m in ("open-unmix", "nmf", "saesep-wiener"):
            if m in vs:
                p = vs[m]
                print(f"saesep - {m}: paired mean SDR {p['mean']:+.2f} dB, saesep better on {p['better']}/{p['tracks']} tracks")
    write_results(args.name, out)


if __name__ == "__main__":
    main()
