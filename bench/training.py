#!/usr/bin/env python3
"""Training: LS vs identity vs random init at equal iterations (the staircase of each, one PNG),
the uhlich2015 preset vs the default one at a reduced budget, wall times and J after each layer.

Usage: python bench/training.py [--data corpora/medium] [--target bass] [--iters 300]
"""

from __future__ import annotations

import argparse
import time

from common import RESULTS, ROOT, WORK, write_results

from saesep.evaluation import evaluate  # noqa: E402
from saesep.plot import plot_history  # noqa: E402
from saesep.training import train  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "corpora" / "medium"))
    ap.add_argument("--target", default="bass")
    ap.add_argument("--iters", type=int, default=300, help="iterations per layer (fine-tune: the same)")
    ap.add_argument("--eval-tracks", type=int, default=0, help="also score test SDR (slow: museval)")
    args = ap.parse_args()
    runs = {}
    quiet = dict(progress=False, log=lambda m: None)
    common = dict(iters_per_layer=args.iters, finetune_iters=args.iters, layers=3, eval_every=max(10, args.iters // 10))
    for label, kw in (("default ls", dict(preset="default", init="ls")),
                      ("default identity", dict(preset="default", init="identity")),
                      ("default random", dict(preset="default", init="random")),
                      ("uhlich2015 (L-BFGS, 2e4 samples)", dict(preset="uhlich2015", samples=20000,
                                                                iters_per_layer=max(5, args.iters // 10),
                                                                finetune_iters=max(5, args.iters // 10), eval_every=5))):
        t = time.time()
        path = WORK / f"train_{label.split()[0]}_{label.split()[1].strip('(')}.pt"
        m = train(args.data, path, target=args.target, **{**common, **kw}, **quiet)
        secs = time.time() - t
        h = m.history
        runs[label] = {"seconds": round(secs, 1), "J_valid_final": h["stages"][-1]["J_valid"],
                       "layers_added": h["layers_added"], "stages": h["stages"], "history": h}
        line = ", ".join(f"L{e['layer']} {e['J_valid_before']:.3f}->{e['J_valid_after']:.3f}" for e in h["layers_added"])
        print(f"{label:<34} {secs:6.0f} s  final J_valid {h['stages'][-1]['J_valid']:.4f}  ({line})")
        if args.eval_tracks:
            res = evaluate(args.data, "test", model=path, methods=["saesep"], progress=False)
            runs[label]["test_sdr"] = res["median"]["saesep"]["SDR"]
    png = RESULTS / f"staircase_{args.target}.png"
    plot_history([r["history"] for k, r in runs.items() if k.startswith("default")], png,
                 title=f"{args.target}: LS vs identity vs random init ({args.iters} it per layer)",
                 labels=[k.split()[1] for k in runs if k.startswith("default")])
    print(f"staircase figure: {png.relative_to(ROOT)}")
    for r in runs.values():
        r.pop("history")
    write_results(f"training_{args.target}", {"target": args.target, "iters": args.iters, "runs": runs})


if __name__ == "__main__":
    main()
