#!/usr/bin/env python3
"""What the unseen timbres cost: the test split's tracks rendered twice — with the test
SoundFont (TimGM6mb, as in the corpus) and with the training one (FluidR3_GM) — same
pieces, excerpts, instruments, gains and pans, only the samples differ. The built-in
models are scored on both, with the passthrough and the IRM1 for the gap.

    python bench/fontshift.py [--data corpora/medium] [--size medium] [--tracks 1000] [--roles bass,lead,other,drums]

Prints median SDR (dB) and the share of the passthrough → IRM1 gap closed per role and
rendering; writes bench/results/fontshift.json (``--name``). The re-rendered split is built under
bench/work/ once (a few seconds per track).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import WORK, gap_closed, paired, per_track, results_name, write_results  # noqa: E402  (bench/common.py puts the repository on sys.path)
from saesep import corpus  # noqa: E402
from saesep.evaluation import evaluate  # noqa: E402
from saesep.models import available  # noqa: E402

TRAIN_FONT = corpus.SOUNDFONTS["train"]


def rerendered(data: Path, size: str) -> Path:
    """The test split of ``data`` rendered with the training SoundFont (built once, then reused)."""
    meta = json.loads((data / "corpus.json").read_text())
    if meta["size"] != size:
        raise SystemExit(f"{data} is a '{meta['size']}' corpus, not '{size}' (give --size {meta['size']})")
    out = WORK / f"test_{size}_seed{meta['seed']}_{Path(TRAIN_FONT).stem}"
    done = out / "corpus.json"
    if not done.exists() or json.loads(done.read_text())["splits"] != {"test": meta["splits"]["test"]}:
        corpus.build(out, size, seed=meta["seed"], soundfonts={"test": TRAIN_FONT}, splits=["test"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="corpora/medium")
    ap.add_argument("--size", default="medium")
    ap.add_argument("--tracks", type=int, default=1000, help="first N test tracks that have the role")
    ap.add_argument("--roles", default="bass,lead,other,drums")
    ap.add_argument("--name", type=results_name, default="fontshift", help="results file: bench/results/NAME.json")
    args = ap.parse_args()
    data = Path(args.data)
    renders = {"TimGM6mb (test font)": data, f"{Path(TRAIN_FONT).stem} (training font)": rerendered(data, args.size)}
    models = available()
    res, sdr = {}, {}
    print(f"{'role':<6} {'rendering':<28} {'saesep':>7} {'IRM1':>7} {'mixture':>8} {'gap closed':>11}   (median SDR dB)")
    for role in args.roles.split(","):
        res[role], sdr[role] = {}, {}
        for label, root in renders.items():
            r = evaluate(root, "test", model=models[role], methods=["saesep", "irm1", "mixture"], progress=False,
                         max_tracks=args.tracks)
            med = {m: r["median"][m]["SDR"] for m in ("saesep", "irm1", "mixture")}
            res[role][label] = {**med, "gap_closed": round(gap_closed(med["saesep"], med["mixture"], med["irm1"]), 3),
                                "tracks": sum("methods" in t for t in r["tracks"])}
            sdr[role][label] = per_track(r, "SDR")
            print(f"{role:<6} {label:<28} {med['saesep']:>7.2f} {med['irm1']:>7.2f} {med['mixture']:>8.2f} "
                  f"{100 * res[role][label]['gap_closed']:>10.0f} %", flush=True)
        unseen, seen = (sdr[role][k] for k in renders)
        cost = paired(seen, unseen)  # better with the training font = worse with the unseen one
        res[role]["paired_cost_db"] = round(cost["mean"], 2)
        print(f"{role:<6} unseen timbres cost {cost['mean']:+.2f} dB SDR (paired mean over {cost['tracks']} tracks; "
              f"worse on {cost['better']})", flush=True)
    write_results(args.name, {"data": str(data), "renders": {k: str(v) for k, v in renders.items()},
                              "results": res, "per_track_sdr": sdr})


if __name__ == "__main__":
    main()
