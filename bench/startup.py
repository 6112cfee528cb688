#!/usr/bin/env python3
"""Whole-process speed, as shell scripts see it (one process per song): a bare
``python -c "import torch"`` process, ``saesep extract`` on a 1-second file and on a
4-minute stereo song, each timed as a whole process, alternated over several rounds;
medians. ``--precision bfloat16`` runs the same extraction on the torch engine, side by side.

Usage: python bench/startup.py [--rounds 7] [--seconds 240] [--name startup_cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np
import soundfile as sf

from common import WORK, alternated, long_song, machine, results_name, write_results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=240.0)
    ap.add_argument("--name", type=results_name, default="startup_cpu")
    args = ap.parse_args()
    one = WORK / "one_second.wav"
    one.parent.mkdir(parents=True, exist_ok=True)
    sf.write(one, (0.1 * np.random.default_rng(0).standard_normal((44100, 2))).astype(np.float32), 44100)
    song = long_song(args.seconds, WORK / f"song_{int(args.seconds)}s.wav")
    saesep = [sys.executable, "-m", "saesep", "extract", "-q", "-o", str(WORK / "startup_out")]
    runs = {
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "saesep extract 1-s file": saesep + [str(one)],
        "saesep extract 1-s file, torch engine (--precision bfloat16)": saesep + ["--precision", "bfloat16", str(one)],
        f"saesep extract {args.seconds:.0f}-s song": saesep + [str(song)],
        f"saesep extract {args.seconds:.0f}-s song, torch engine (--precision bfloat16)":
            saesep + ["--precision", "bfloat16", str(song)],
    }
    cpu = machine()["cpu"]
    print(f"CPU: {cpu}; {args.rounds} alternated rounds, medians")
    times = alternated(runs, args.rounds)
    med = {k: statistics.median(v) for k, v in times.items()}
    torch_s = med["python -c 'import torch'"]
    res = {"rounds": args.rounds, "song_seconds": args.seconds, "runs": {}}
    for k, v in med.items():
        row = {"median_s": round(v, 3), "all_s": [round(x, 3) for x in times[k]],
               "over_import_torch": round(v / torch_s, 2)}
        line = f"{k:<66} {v:6.2f} s  ({v / torch_s:4.2f}x import torch)"
        if "song" in k:
            row["x_realtime"] = round(args.seconds / v, 1)
            line += f"  {args.seconds / v:6.1f}x real time"
        res["runs"][k] = row
        print(line)
    write_results(args.name, res)


if __name__ == "__main__":
    main()
