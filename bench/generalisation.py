#!/usr/bin/env python3
"""Each model on the band test split and on the classical test split: saesep against IRM1 and
passthrough (gap closed), SIR and SAR, and the paired SDR difference against a reference
model of the same role (default: the built-in).

Usage: python bench/generalisation.py --model corpora/models-work/bass.pt [--reference saesep/models/bass.pt]
           [--band corpora/band-eval] [--classical corpora/medium] [--name generalisation_bass]
"""

from __future__ import annotations

import argparse

from common import gap_closed, machine, paired, per_track, write_results

from saesep.evaluation import evaluate  # noqa: E402
from saesep.models import path_for  # noqa: E402
from saesep.weights import parse_meta, read_payload  # noqa: E402


def score(model: str, data: str) -> dict:
    """evaluate() on ``data``'s test split, cached under bench/work/evals/ by model file and data."""
    import hashlib
    import json
    from pathlib import Path

    from common import WORK

    st = Path(model).stat()
    key = hashlib.sha256(f"{Path(model).resolve()}|{st.st_size}|{st.st_mtime_ns}|{Path(data).resolve()}".encode()).hexdigest()[:16]
    cache = WORK / "evals" / f"{key}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    res = evaluate(data, "test", model=model, methods=["saesep", "irm1", "mixture"], progress=False)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(res))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--reference", default=None, help="default: the built-in model of the same target")
    ap.add_argument("--band", default="corpora/band-eval")
    ap.add_argument("--classical", default="corpora/medium")
    ap.add_argument("--name", default=None)
    ap.add_argument("--splits", default="band,classical")
    args = ap.parse_args()
    target = parse_meta(read_payload(args.model), args.model)["target"]
    reference = args.reference or str(path_for(target))
    print(f"CPU: {machine()['cpu']}; {target}: {args.model} against {reference}")
    res = {"target": target, "model": args.model, "reference": reference, "splits": {}}
    for label, data in (("band", args.band), ("classical", args.classical)):
        if label not in args.splits.split(","):
            continue
        new, ref = score(args.model, data), score(reference, data)
        m, r = new["median"], ref["median"]
        row = {"data": data, "tracks": new["counts"]["scored"],
               "saesep": {k: round(m["saesep"][k], 2) for k in ("SDR", "SIR", "SAR")},
               "reference": {k: round(r["saesep"][k], 2) for k in ("SDR", "SIR", "SAR")},
               "irm1": round(m["irm1"]["SDR"], 2), "mixture": round(m["mixture"]["SDR"], 2),
               "gap_closed": round(gap_closed(m["saesep"]["SDR"], m["mixture"]["SDR"], m["irm1"]["SDR"]), 3),
               "reference_gap_closed": round(gap_closed(r["saesep"]["SDR"], r["mixture"]["SDR"], r["irm1"]["SDR"]), 3),
               "paired_sdr": paired(per_track(new, "SDR"), per_track(ref, "SDR"))}
        res["splits"][label] = row
        print(f"{label:<10} {row['tracks']:3d} tracks: SDR {row['saesep']['SDR']:6.2f} (reference {row['reference']['SDR']:6.2f}), "
              f"SIR {row['saesep']['SIR']:6.2f} ({row['reference']['SIR']:6.2f}), gap closed {100 * row['gap_closed']:.0f} % "
              f"({100 * row['reference_gap_closed']:.0f} %); paired {row['paired_sdr']['mean']:+.2f} dB, better on "
              f"{row['paired_sdr']['better']}/{row['paired_sdr']['tracks']}")
        write_results(args.name or f"generalisation_{target}", res)  # after each split: a long run keeps its part


if __name__ == "__main__":
    main()
