#!/usr/bin/env python3
"""Paired difference between two methods' per-track scores, each from a stored results file.

A file is a ``bench/quality.py`` result (its target's ``per_track``) or a ``saesep evaluate
--json`` result (its ``tracks``); a method is named after a colon (default ``saesep``).
Prints the medians, the mean of A − B over the tracks both score, on how many A is better,
the standard error, the median difference and the Wilcoxon signed-rank p-value.

    python bench/pair.py bench/results/museval_band_other_all.json \\
        bench/results/umx_band_other.json:open-unmix --target other
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from common import paired, per_track


def scores(spec: str, target: str | None, metric: str) -> dict:
    """``{track: score}`` of the method named in ``FILE[:METHOD]``."""
    path, _, method = spec.partition(":")
    data = json.loads(Path(path).read_text())
    method = method or "saesep"
    if "tracks" in data:  # saesep evaluate --json
        return per_track(data, metric, method)
    targets = data["targets"]
    if target is None:
        if len(targets) != 1:
            raise SystemExit(f"{path} holds {', '.join(targets)}: name one with --target")
        target = next(iter(targets))
    return {name: row[method][metric] for name, row in targets[target]["per_track"].items() if method in row}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", metavar="FILE[:METHOD]")
    ap.add_argument("b", metavar="FILE[:METHOD]")
    ap.add_argument("--target", default=None, help="the target of a quality.py file holding several")
    ap.add_argument("--metric", default="SDR")
    args = ap.parse_args()
    a, b = (scores(s, args.target, args.metric) for s in (args.a, args.b))
    p = paired(a, b)
    for label, s, v in (("A", args.a, a), ("B", args.b, b)):
        print(f"{label} {s}: median {args.metric} {np.nanmedian(list(v.values())):.2f} dB over {len(v)} tracks")
    print(f"A - B: mean {p['mean']:+.2f} dB, A better on {p['better']}/{p['tracks']}, "
          f"standard error {p.get('se', float('nan')):.2f}, median {p.get('median', float('nan')):+.2f}, "
          f"Wilcoxon p = {p.get('wilcoxon_p', float('nan')):.3g}")


if __name__ == "__main__":
    main()
