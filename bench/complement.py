#!/usr/bin/env python3
"""One role estimated directly, or as what the other built-in models leave of the mixture.

    python bench/complement.py [--role other] [--split test] [--data corpora/medium] [--tracks N] [--shares 0.3,0.7] [--name complement_other]

For every test track that has the role's stem, with the built-in models and the default
ratio mask:

- ``direct``: the role's own model;
- ``complement``: the mixture minus the other roles' estimates (``saesep extract -m
  bass.pt -m lead.pt -m drums.pt --residual``);
- ``mean``: the average of the two — the direct estimate plus half of what all four models
  leave of the mixture, which is what ``saesep extract -t ROLE --rest-to ROLE`` gives (for
  other, ``-t other`` does it by default); ``--shares 0.3,0.7`` adds ``share 0.3`` … (that
  share of the rest instead of half);
- ``soft``: all four models with ``--mask soft`` (models with another STFT, the bass,
  do not enter the role's mask), without the rest share; ``soft+rest``: the same plus half
  the rest (what ``saesep extract -t all --wiener`` gives for other).

Prints the median SDR of each, the paired difference against ``direct`` and the share of
the passthrough → IRM1 gap closed (passthrough and IRM1 from the role's stored scores,
``bench/results/ROLE.eval.json``), and writes the per-track scores to
``bench/results/NAME.json``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from common import RESULTS, ROOT, gap_closed, paired, per_track, score_estimates, results_name, write_results

from saesep import model as model_io, models as builtin  # noqa: E402
from saesep.datasets import find_tracks, require_target  # noqa: E402
from saesep.separation import RESIDUAL, SeparationOptions, separate  # noqa: E402

METHODS = ("direct", "complement", "mean", "soft", "soft+rest")


def estimates(mix: np.ndarray, sr: int, role: str, models: dict, shares=()) -> dict:
    others = {n: m for n, m in models.items() if n != role}
    direct = separate(mix, sr, models[role])[role]
    complement = separate(mix, sr, others, SeparationOptions(residual=True))[RESIDUAL]
    soft = separate(mix, sr, models, SeparationOptions(mask="soft", rest_to=None))[role]
    soft_rest = separate(mix, sr, models, SeparationOptions(mask="soft", rest_to=role, outputs=(role,)))[role]
    mean = separate(mix, sr, models, SeparationOptions(rest_to=role, outputs=(role,)))[role]  # the product's path
    out = {"direct": direct, "complement": complement, "mean": mean, "soft": soft, "soft+rest": soft_rest}
    for w in shares:
        out[f"share {w:g}"] = (1 - w) * direct + w * complement
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--role", default="other")
    ap.add_argument("--split", default="test", help="Split to score (choose settings on valid, report test).")
    ap.add_argument("--data", default=str(ROOT / "corpora" / "medium"))
    ap.add_argument("--tracks", type=int, default=None, help="Only the first N test tracks with the role.")
    ap.add_argument("--shares", default="", help="Comma-separated shares of the rest to score besides 0.5.")
    ap.add_argument("--name", type=results_name, default=None)
    args = ap.parse_args()
    shares = [float(w) for w in args.shares.split(",") if w]
    models = {n: model_io.load(p) for n, p in builtin.available().items()}
    tracks = require_target(find_tracks(args.data, args.split), args.role, args.data)[: args.tracks]

    scores = score_estimates(tracks, args.role, lambda mix, sr: estimates(mix, sr, args.role, models, shares))
    stored = json.loads((RESULTS / f"{args.role}.eval.json").read_text())
    floor, ceiling = per_track(stored, "SDR", "mixture"), per_track(stored, "SDR", "irm1")
    med = lambda d: float(np.nanmedian(list(d.values())))  # noqa: E731
    res = {"role": args.role, "data": args.data, "tracks": len(scores), "methods": {}, "per_track": scores}
    direct = {k: v["direct"]["SDR"] for k, v in scores.items()}
    for m in METHODS + tuple(f"share {w:g}" for w in shares):
        sdr = {k: v[m]["SDR"] for k, v in scores.items()}
        row = {k: med({t: v[m][k] for t, v in scores.items()}) for k in ("SDR", "SIR", "SAR")}
        common = [t for t in sdr if t in floor]
        row["gap_closed"] = gap_closed(row["SDR"], med({t: floor[t] for t in common}), med({t: ceiling[t] for t in common}))
        row["paired_vs_direct"] = paired(sdr, direct)
        res["methods"][m] = row
        p = row["paired_vs_direct"]
        print(f"{m:<11} SDR {row['SDR']:6.2f}  SIR {row['SIR']:6.2f}  SAR {row['SAR']:6.2f}  "
              f"gap closed {100 * row['gap_closed']:4.0f} %  vs direct {p['mean']:+.2f} dB, better on {p['better']}/{p['tracks']}")
    write_results(args.name or f"complement_{args.role}", res)


if __name__ == "__main__":
    main()
