"""Training throughput with 0, 1, 2 data-loader processes (samples/s of the Adam stages).

    python bench/loader.py [--data corpora/small] [--iters 300] [--workers 0,1,2]

The model is the same for every worker count (the batches are a pure function of
the seed and the batch index); the script checks that and prints the speed-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from common import write_results  # noqa: E402  (bench/common.py puts the repository on sys.path)
from saesep.training import train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="corpora/small")
    ap.add_argument("--target", default="bass")
    ap.add_argument("--iters", type=int, default=300, help="Adam iterations per stage (2 stages)")
    ap.add_argument("--workers", default="0,1,2")
    ap.add_argument("--threads", type=int, default=None, help="torch threads of the training process")
    ap.add_argument("--out", default="bench/work")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    rows, states = [], []
    for w in [int(v) for v in args.workers.split(",")]:
        t = time.time()
        m = train(args.data, f"{args.out}/loader_w{w}.pt", target=args.target, progress=False, log=lambda m: None,
                  workers=w, layers=2, iters_per_layer=args.iters, finetune_iters=0, eval_every=args.iters, ls_samples=8192)
        st = m.history["stages"]
        sps = sum(s["iterations"] for s in st) * 256 / sum(s["seconds"] for s in st)
        rows.append({"workers": w, "samples_per_second": round(sps, 1), "wall_seconds": round(time.time() - t, 1),
                     "cpu_seconds": m.history["cpu_seconds"], "J_valid": st[-1]["J_valid"]})
        states.append(m.net.state_dict())
        print(f"workers {w}: {sps:8.0f} samples/s in the Adam stages, {time.time() - t:6.1f} s wall, J_valid {st[-1]['J_valid']:.5f}")
    same = all(all(torch.equal(a[k], s[k]) for k in a) for a, s in zip(states, states[1:]))
    base = rows[0]["samples_per_second"]
    for r in rows[1:]:
        print(f"workers {r['workers']} vs {rows[0]['workers']}: {r['samples_per_second'] / base:.2f}x samples/s")
    print("same model for every worker count:", same)
    write_results(f"loader_threads{torch.get_num_threads()}", {"data": args.data, "iters": args.iters, "rows": rows, "identical_models": same})


if __name__ == "__main__":
    main()
