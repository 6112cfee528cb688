#!/usr/bin/env python3
"""Loading a training pool (decoding its tracks' stems, one STFT each): wall and CPU
seconds and peak memory, on 1 and on N threads, and optionally with another version of
saesep (``--baseline DIR``, e.g. ``git worktree add /tmp/base COMMIT``). Each runs in a
process of its own that loads one pool after another, as training does, after a pool not
timed; they take turns pool by pool, the first to read a pool's files rotating. The pools
must be the same in every run (checked with a hash of their spectra and blocks).

Training waits while a pool loads: a default run of other (7,500 Adam iterations, a pool
every 50,000 blocks) loads up to 39 pools of 32 tracks.

Usage: python bench/pool.py [--data corpora/band-medium --data corpora/medium ...]
                            [--target other] [--pools 4] [--threads 1,2] [--baseline DIR] [--name pool_cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from common import ROOT, machine, results_name, write_results

BUILT_IN_DATA = ["corpora/band-medium", "corpora/medium", "corpora/medium-gmbank"]

# a loader process: loads the pools asked for on stdin one after the other, as training does
# (each frees the one before), and answers each with a line of figures
LOADER = """
import hashlib, json, sys, time
import torch
import saesep
from saesep.config import SpectralConfig, TrainConfig
from saesep.datasets import BlockSampler, find_tracks
data, target, threads, tree = json.loads(sys.argv[1])
assert saesep.__file__.startswith(tree), saesep.__file__
torch.set_num_threads(threads)
tracks = [t for d in data for t in find_tracks(d, "train")]
sampler = BlockSampler(tracks, target, SpectralConfig(), TrainConfig(target=target), seed=0)
def peak_mb():  # the process's peak resident memory since it was last reset
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024
for line in sys.stdin:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak to what is resident now: the previous pool
    t, c = time.perf_counter(), time.process_time()
    sampler.pool(int(line))
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    peak = peak_mb()
    h = hashlib.sha256()
    for stem in sorted(sampler.spec):
        h.update(sampler.spec[stem].numpy())  # the buffers themselves, no copies
        h.update(sampler.active[stem])
    print(json.dumps({"wall": wall, "cpu": cpu, "digest": h.hexdigest(),
                      "peak_mb": peak}), flush=True)
"""


class Loader:
    """A loader process running the saesep of ``tree``."""

    def __init__(self, tree, data: list[str], target: str, threads: int):
        tree = str(tree)
        data = [str((ROOT / d).resolve()) for d in data]
        # started in the tree: `python -c` looks in its working folder first
        self.proc = subprocess.Popen([sys.executable, "-c", LOADER, json.dumps([data, target, threads, tree])],
                                     cwd=tree, env={**os.environ, "PYTHONPATH": tree}, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def load(self, epoch: int) -> dict:
        self.proc.stdin.write(f"{epoch}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            sys.exit("a loader process failed")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", help="track folders whose train splits are pooled (default: the built-ins')")
    ap.add_argument("--target", default="other")
    ap.add_argument("--pools", type=int, default=4)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--baseline", help="a checkout of another version of saesep, loaded with the most threads")
    ap.add_argument("--name", type=results_name, default="pool_cpu")
    args = ap.parse_args()
    data = args.data or BUILT_IN_DATA
    counts = [int(v) for v in args.threads.split(",")]
    runs = {f"{n} thread{'s' * (n > 1)}": (ROOT, n) for n in counts}
    if args.baseline:
        runs[f"baseline, {max(counts)} threads"] = (os.path.abspath(args.baseline), max(counts))
    print(f"{machine()['cpu']}; the train splits of {', '.join(data)}; target {args.target}")
    loaders = {k: Loader(tree, data, args.target, n) for k, (tree, n) in runs.items()}
    results: dict[str, list[dict]] = {k: [] for k in runs}
    for loader in loaders.values():
        loader.load(args.pools)  # warm-up: a pool not timed (imports, the allocator's heap)
    for epoch in range(args.pools):
        order = list(runs)[epoch % len(runs):] + list(runs)[:epoch % len(runs)]  # who reads the files first rotates
        for k in order:
            results[k].append(loaders[k].load(epoch))
        print(f"pool {epoch}: " + "; ".join(f"{k} {r[-1]['wall']:.2f} s wall, {r[-1]['cpu']:.2f} s CPU"
                                             for k, r in results.items()), flush=True)
    for loader in loaders.values():
        loader.close()
    same = all(len({r[i]["digest"] for r in results.values()}) == 1 for i in range(args.pools))
    rows = {k: {stat: round(statistics.median(r[stat] for r in v), 2) for stat in ("wall", "cpu")}
            for k, v in results.items()}
    first = next(iter(rows))
    for k, r in rows.items():
        r["peak_mb"] = round(statistics.median(v["peak_mb"] for v in results[k]))
        r["wall_speedup"] = round(rows[first]["wall"] / r["wall"], 2)
        print(f"{k}: median {r['wall']:.2f} s wall ({r['wall_speedup']:.2f}x {first}'s speed), {r['cpu']:.2f} s CPU, "
              f"peak memory {r['peak_mb']} MB while a pool loads")
    print("same pools in every run:", same)
    if not same:
        sys.exit("the runs loaded different pools")
    write_results(args.name, {"data": data, "target": args.target, "pools": args.pools, "runs": rows})


if __name__ == "__main__":
    main()
