#!/usr/bin/env python3
"""Train one role with changed settings, score it on the test split, compare it track by track.

    python bench/experiment.py NAME ROLE [--data DIR ...] [--against EVAL.json] [key=value ...]

Trains ``ROLE`` on the ``--data`` folders (default ``corpora/medium``) with
the default preset changed by the ``key=value`` pairs (any TrainConfig or SpectralConfig
field: ``layers=5 max_freq=2000 lr=0.0003 seed=1``), writes the model and its scores on
the first folder's test split to ``bench/work/exp/NAME/``, and prints the median SDR and
the paired differences (SDR, SIR, SAR) against ``--against`` (default: the built-in
model's stored scores, ``bench/results/ROLE.eval.json``). This is how the earlier
rows of docs/experiments.md were measured. ``bench/pair.py`` pairs stored results.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from common import RESULTS, ROOT, WORK, paired, per_track


def compare(base, other) -> list[str]:
    """Median and paired difference (other − base) of SDR, SIR and SAR, from two ``evaluate`` JSON files."""
    a, b = (json.loads(Path(p).read_text()) for p in (base, other))
    lines = []
    for m in ("SDR", "SIR", "SAR"):
        am, bm = per_track(a, m), per_track(b, m)
        p = paired(bm, am)
        lines.append(f"{m}: median {np.nanmedian(list(am.values())):.2f} -> {np.nanmedian(list(bm.values())):.2f}, "
                     f"paired {p['mean']:+.2f} dB, better on {p['better']}/{p['tracks']}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name")
    ap.add_argument("role")
    ap.add_argument("overrides", nargs="*", metavar="key=value")
    ap.add_argument("--data", action="append", help="Training folder (repeat to pool several).")
    ap.add_argument("--against", help="Scores to compare with (default bench/results/ROLE.eval.json).")
    args = ap.parse_intermixed_args()  # key=value pairs may follow --data
    from saesep.evaluation import evaluate
    from saesep.training import train

    from saesep.config import parse_setting
    from saesep.errors import SaesepError

    try:
        over = dict(map(parse_setting, args.overrides))
    except SaesepError as e:
        ap.error(str(e))
    data = [Path(d) for d in (args.data or [ROOT / "corpora" / "medium"])]
    out = WORK / "exp" / args.name
    out.mkdir(parents=True, exist_ok=True)
    t = time.time()
    model = train(data if len(data) > 1 else data[0], out / f"{args.role}.pt", target=args.role,
                  seed=over.pop("seed", 0), plot=out / f"{args.role}.png", progress=False, **over)
    h = model.history
    print(f"{args.name} {args.role} {over}: trained in {time.time() - t:.0f} s ({h.get('cpu_seconds', float('nan')):.0f} CPU s); "
          + ", ".join(f"{s['name']} {s['iterations']} it J_valid {s['J_valid']:.4f}" for s in h["stages"]), flush=True)
    res = evaluate(data[0], "test", model=out / f"{args.role}.pt", methods=["saesep"], progress=False)
    result = out / f"{args.role}.eval.json"
    result.write_text(json.dumps(res, indent=1))
    print(f"test median SDR {res['median']['saesep']['SDR']:.2f} dB ({result})")
    against = Path(args.against) if args.against else RESULTS / f"{args.role}.eval.json"
    if against.exists():
        print(f"against {against}:")
        print("\n".join("  " + line for line in compare(against, result)))


if __name__ == "__main__":
    main()
