#!/usr/bin/env python3
"""Peak memory of `saesep extract` on a 5-minute and a 60-minute file (made on the fly).

Streaming means the two peaks are close. Usage: python bench/memory.py [--long-minutes 60]
[--target other] (``-t other`` runs all four built-in models; results in memory_other.json)
"""

from __future__ import annotations

import argparse
import sys

from common import WORK, long_song, peak_rss_mb, write_results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--short-minutes", type=float, default=5)
    ap.add_argument("--long-minutes", type=float, default=60)
    ap.add_argument("--model", default=None, help="model file (default: built-in bass)")
    ap.add_argument("--target", default=None, help="saesep extract -t TARGET (other: all four built-in models)")
    args = ap.parse_args()
    res = {}
    for label, minutes in (("short", args.short_minutes), ("long", args.long_minutes)):
        song = long_song(minutes * 60, WORK / f"mem_{int(minutes)}min.wav")
        cmd = [sys.executable, "-m", "saesep", "extract", str(song), "-o", str(WORK / "mem_out"), "-q"]
        if args.model:
            cmd += ["-m", args.model]
        if args.target:
            cmd += ["-t", args.target]
        rss, wall = peak_rss_mb(cmd)
        res[label] = {"minutes": minutes, "peak_rss_mb": round(rss, 1), "wall_s": round(wall, 1),
                      "x_realtime": round(minutes * 60 / wall, 1)}
        print(f"{minutes:5.0f} min: peak RSS {rss:7.1f} MB, {wall:6.1f} s ({minutes * 60 / wall:.0f} x real time)")
        song.unlink()  # the long file is not kept
    res["ratio_long_over_short"] = round(res["long"]["peak_rss_mb"] / res["short"]["peak_rss_mb"], 3)
    print(f"ratio long/short: {res['ratio_long_over_short']:.3f}")
    res["command"] = "extract" + (f" -t {args.target}" if args.target else "") + (f" -m {args.model}" if args.model else "")
    write_results(f"memory_{args.target}" if args.target else "memory", res)


if __name__ == "__main__":
    main()
