#!/usr/bin/env python3
"""Training: LS vs identity vs random init at equal iterations and at equal training time
(the staircase of each, one PNG per comparison), the uhlich2015 preset at a reduced budget,
wall times and J after each layer; optionally the test SDR of every run.

Equal time: identity and random first run the same iterations as LS; then they run again
with their iterations per stage scaled by (LS's time in the stages) / (their own), so that
each spends about the time LS spends, least-squares solves included.

Usage: python bench/training.py [--data corpora/medium] [--target bass] [--iters 200] [--eval-tracks N]
"""

from __future__ import annotations

import argparse
import time

from common import RESULTS, ROOT, WORK, paired, per_track, write_results

from saesep.evaluation import evaluate  # noqa: E402
from saesep.plot import plot_history  # noqa: E402
from saesep.training import train  # noqa: E402


def stage_seconds(history: dict) -> float:
    return sum(st["seconds"] for st in history["stages"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "corpora" / "medium"))
    ap.add_argument("--target", default="bass")
    ap.add_argument("--iters", type=int, default=200, help="iterations per layer (fine-tune: the same)")
    ap.add_argument("--eval-tracks", type=int, default=0,
                    help="also score the test SDR of every run on the first N test tracks (slow: museval)")
    args = ap.parse_args()
    runs = {}
    quiet = dict(progress=False, log=lambda m: None)
    common = dict(layers=3, eval_every=max(10, args.iters // 10))

    def run(label: str, iters: int, **kw) -> dict:
        t = time.time()
        path = WORK / f"train_{label.replace(' ', '_').replace(',', '')}.pt"
        m = train(args.data, path, target=args.target, iters_per_layer=iters, finetune_iters=iters,
                  **{**common, **kw}, **quiet)
        h = m.history
        r = runs[label] = {"iters_per_stage": iters, "seconds": round(time.time() - t, 1),
                           "stage_seconds": round(stage_seconds(h), 1), "J_valid_final": h["stages"][-1]["J_valid"],
                           "layers_added": h["layers_added"], "stages": h["stages"], "history": h}
        line = ", ".join(f"L{e['layer']} {e['J_valid_before']:.3f}->{e['J_valid_after']:.3f}" for e in h["layers_added"])
        sdr = ""
        if args.eval_tracks:
            res = evaluate(args.data, "test", model=path, methods=["saesep"], max_tracks=args.eval_tracks, progress=False)
            r["test_sdr"] = per_track(res, "SDR")
            r["test_sdr_median"] = res["median"]["saesep"]["SDR"]
            sdr = f"  test SDR {r['test_sdr_median']:.2f} dB"
        print(f"{label:<34} {iters:5d} it/stage {r['stage_seconds']:6.0f} s in stages "
              f"final J_valid {r['J_valid_final']:.4f}{sdr}  ({line})", flush=True)
        return r

    ls = run("ls", args.iters, preset="default", init="ls")
    for init in ("identity", "random"):
        same = run(f"{init}, equal iterations", args.iters, preset="default", init=init)
        scaled = max(1, round(args.iters * ls["stage_seconds"] / max(same["stage_seconds"], 1e-9)))
        run(f"{init}, equal time", scaled, preset="default", init=init)
    run("uhlich2015 (L-BFGS, 2e4 samples)", max(5, args.iters // 10), preset="uhlich2015", samples=20000, eval_every=5)

    figures = {}
    for kind, x in (("equal time", "seconds"), ("equal iterations", "iteration")):
        labels = ["ls"] + [k for k in runs if k.endswith(kind)]
        png = RESULTS / (f"staircase_{args.target}.png" if kind == "equal time" else f"staircase_{args.target}_iterations.png")
        plot_history([runs[k]["history"] for k in labels], png, x=x, labels=[k.split(",")[0] for k in labels],
                     title=f"{args.target}: LS vs identity vs random init, {kind} (LS: {args.iters} it per stage)")
        figures[kind] = str(png.relative_to(ROOT))
        print(f"staircase figure, {kind}: {png.relative_to(ROOT)}")
    if args.eval_tracks:  # paired against LS init
        base = ls["test_sdr"]
        for label, r in runs.items():
            if label != "ls":
                p = paired(r["test_sdr"], base)
                r["test_sdr_paired_vs_ls"] = p["mean"]
                print(f"{label:<34} test SDR − LS init: paired mean {p['mean']:+.2f} dB, "
                      f"better on {p['better']}/{p['tracks']} tracks")
    for r in runs.values():
        r.pop("history")
    write_results(f"training_{args.target}", {"target": args.target, "iters": args.iters,
                                              "eval_tracks": args.eval_tracks, "figures": figures, "runs": runs})


if __name__ == "__main__":
    main()
