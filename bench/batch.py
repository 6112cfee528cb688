#!/usr/bin/env python3
"""A batch of songs in one process: ``saesep extract -j 1`` against ``-j 2`` (or more), each
timed as a whole process, on the numpy engine and on the torch engine (float32
both), alternated over several rounds; medians and the ratio to ``-j 1``.

Usage: python bench/batch.py [--songs 8] [--seconds 30] [--target lead] [--jobs 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys

from common import WORK, alternated, long_song, machine, results_name, write_results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--songs", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--target", default="lead")
    ap.add_argument("--jobs", default="2", help="Comma-separated -j values compared with -j 1.")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--name", type=results_name, default="batch_cpu")
    args = ap.parse_args()
    folder = WORK / f"batch_{args.songs}x{args.seconds:g}s"
    song = long_song(args.seconds, WORK / f"song_{int(args.seconds)}s.wav")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(args.songs):  # copies, as a user's folder holds: the batch refuses one file named twice
        copy = folder / f"song{i:02d}.wav"
        if not copy.exists() or copy.stat().st_size != song.stat().st_size:
            shutil.copyfile(song, copy)
    base = [sys.executable, "-m", "saesep", "extract", "-q", "-t", args.target, "-o", str(WORK / "batch_out"),
            str(folder)]
    runs = {}
    for engine, extra in (("numpy", ["--engine", "numpy"]), ("torch", ["--engine", "torch"])):
        for j in [1] + [int(x) for x in args.jobs.split(",")]:
            runs[f"{engine}, -j {j}"] = base + extra + ["-j", str(j)]
    m = machine()
    audio = args.songs * args.seconds
    print(f"CPU: {m['cpu']} ({m['cores']} cores); {args.songs} songs of {args.seconds:.0f} s, -t {args.target}, "
          f"{args.rounds} alternated rounds, medians")
    times = alternated(runs, args.rounds)
    res = {"songs": args.songs, "song_seconds": args.seconds, "target": args.target,
           "rounds": args.rounds, "runs": {}}
    for k, v in times.items():
        med = statistics.median(v)
        one = statistics.median(times[k.rsplit(",", 1)[0] + ", -j 1"])
        res["runs"][k] = {"median_s": round(med, 2), "all_s": [round(x, 2) for x in v],
                          "x_realtime": round(audio / med, 1), "speedup_over_j1": round(one / med, 2)}
        print(f"{k:<24} {med:7.2f} s  {audio / med:6.1f}x real time  {one / med:4.2f}x -j 1")
    write_results(args.name, res)


if __name__ == "__main__":
    main()
