#!/usr/bin/env python3
"""Tried, not adopted: lead and other extracted from what the bass and drums models leave.

    python bench/cascade.py [--role lead] [--split test] [--tracks N] [--name cascade_lead]

For every track of the split that has the role (built-in models, ratio mask): ``direct``
(the role's model on the mixture) and ``cascade`` (the lead and other models on the
mixture minus the bass and drums estimates); for other also ``direct+rest`` (what
``saesep extract -t other`` gives) and ``cascade+rest`` (the cascaded other plus half of
what the cascaded lead and other leave). Prints medians and paired differences against
the product's estimate (``direct``; for other ``direct+rest``) and writes the per-track
scores to ``bench/results/NAME.json``.
"""

from __future__ import annotations

import argparse

import numpy as np

from common import ROOT, paired, score_estimates, results_name, write_results

from saesep import model as model_io, models as builtin  # noqa: E402
from saesep.datasets import find_tracks, require_target  # noqa: E402
from saesep.separation import SeparationOptions, separate  # noqa: E402


def estimates(mix: np.ndarray, sr: int, role: str, models: dict) -> dict:
    plain = SeparationOptions(rest_to=None)
    d = separate(mix, sr, models, plain)
    reduced = mix - d["bass"] - d["drums"]
    c = separate(reduced, sr, {k: models[k] for k in ("lead", "other")}, plain)
    out = {"direct": d[role], "cascade": c[role]}
    if role == "other":
        out["direct+rest"] = d["other"] + 0.5 * (mix - sum(d.values()))
        out["cascade+rest"] = c["other"] + 0.5 * (reduced - c["lead"] - c["other"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--role", default="lead", choices=["lead", "other"])
    ap.add_argument("--split", default="test")
    ap.add_argument("--data", default=str(ROOT / "corpora" / "medium"))
    ap.add_argument("--tracks", type=int, default=None)
    ap.add_argument("--name", type=results_name, default=None)
    args = ap.parse_args()
    models = {n: model_io.load(p) for n, p in builtin.available().items()}
    tracks = require_target(find_tracks(args.data, args.split), args.role, args.data)[: args.tracks]

    by_track = score_estimates(tracks, args.role, lambda mix, sr: estimates(mix, sr, args.role, models))
    scores: dict = {}
    for track, methods in by_track.items():
        for method, s in methods.items():
            scores.setdefault(method, {})[track] = s
    base = "direct+rest" if args.role == "other" else "direct"
    res = {"role": args.role, "split": args.split, "baseline": base, "methods": {}, "per_track": scores}
    for m, per in scores.items():
        row = {k: float(np.nanmedian([v[k] for v in per.values()])) for k in ("SDR", "SIR", "SAR")}
        row["paired_vs_" + base] = {k: paired({t: v[k] for t, v in per.items()}, {t: v[k] for t, v in scores[base].items()})
                                    for k in ("SDR", "SIR", "SAR")}
        res["methods"][m] = row
        p = row["paired_vs_" + base]
        print(f"{m:<13} SDR {row['SDR']:6.2f}  SIR {row['SIR']:6.2f}  SAR {row['SAR']:6.2f}  vs {base}: "
              f"SDR {p['SDR']['mean']:+.2f} dB (better on {p['SDR']['better']}/{p['SDR']['tracks']}), "
              f"SIR {p['SIR']['mean']:+.2f}, SAR {p['SAR']['mean']:+.2f}")
    write_results(args.name or f"cascade_{args.role}", res)


if __name__ == "__main__":
    main()
