#!/usr/bin/env python3
"""Models on the band and the classical corpus: saesep against IRM1 and passthrough (gap
closed), with the Music Demixing Challenge's whole-track SDR (``--metric bss``: museval's
SDR, SIR and SAR, a hundred times slower), and the paired SDR difference of each model against a reference of
the same role (default: the built-in).

Usage: python bench/generalisation.py --model corpora/models-work/bass.pt [--model another.pt ...]
           [--reference saesep/models/bass.pt] [--split valid|test]
           [--wiener-iterations N] [--reference-wiener-iterations N]
           [--corpus band=corpora/band-medium ...] [--name generalisation_bass]

Corpora (default): band = corpora/band-medium, classical = corpora/medium and, for the
test split, band-opl3 = corpora/band-opl3 (the band test songs played by an FM synthesizer:
``saesep corpus build corpora/band-opl3 --style band --size medium --split test --soundfont
test=OPL-3_FM_128M.sf2``); a corpus without the split is left out.
Choose between models on ``--split valid``; report the chosen one on ``test`` once.
Scores are cached under bench/work/evals/ (by model file and data); IRM1 and passthrough
are scored once per corpus, split and STFT.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from common import WORK, gap_closed, machine, paired, per_track, results_name, write_results

from saesep.evaluation import evaluate  # noqa: E402
from saesep.models import path_for  # noqa: E402
from saesep.model import load  # noqa: E402
from saesep.separation import wiener_iterations  # noqa: E402
from saesep.weights import read_meta  # noqa: E402


def _cached(key: str, run) -> dict:
    cache = WORK / "evals" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    res = run()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(res))
    return res


def score(model: str, data: str, split: str, metric: str, wiener: int | None = None) -> dict:
    """evaluate() of ``model`` on ``data/split`` (saesep only), with ``wiener`` EM iterations
    of the stereo Wiener filter (None: the count the model file records)."""
    wiener = wiener_iterations(load(model)) if wiener is None else wiener
    st = Path(model).stat()
    key = f"{Path(model).resolve()}|{st.st_size}|{st.st_mtime_ns}|{Path(data).resolve()}|{split}|saesep|{metric}"
    key += f"|wiener{wiener}" if wiener else ""  # scores from before the filter existed stay valid
    return _cached(key, lambda: evaluate(data, split, model=model, methods=["saesep"], progress=False, metric=metric,
                                         wiener_iterations=wiener))


def oracles(model: str, data: str, split: str, metric: str) -> dict:
    """IRM1 and passthrough on ``data/split`` for the target and STFT of ``model``."""
    meta = read_meta(model)
    key = f"{Path(data).resolve()}|{split}|{meta['target']}|{json.dumps(meta['spectral'], sort_keys=True)}|oracles|{metric}"
    return _cached(key, lambda: evaluate(data, split, model=model, methods=["irm1", "mixture"], progress=False,
                                         metric=metric))


def row(model: str, reference: str, data: str, split: str, metric: str, wiener=(None, None)) -> dict:
    """``model`` against ``reference`` on ``data/split``; ``wiener``: the iterations of each."""
    new, ref, orc = (score(model, data, split, metric, wiener[0]), score(reference, data, split, metric, wiener[1]),
                     oracles(model, data, split, metric))
    m, r, o = new["median"]["saesep"], ref["median"]["saesep"], orc["median"]
    return {"data": data, "split": split, "metric": metric, "tracks": new["counts"]["scored"],
            "saesep": {k: round(m[k], 2) for k in ("SDR", "SIR", "SAR", "SI-SDR")},
            "reference": {k: round(r[k], 2) for k in ("SDR", "SIR", "SAR", "SI-SDR")},
            "irm1": round(o["irm1"]["SDR"], 2), "mixture": round(o["mixture"]["SDR"], 2),
            "gap_closed": round(gap_closed(m["SDR"], o["mixture"]["SDR"], o["irm1"]["SDR"]), 3),
            "reference_gap_closed": round(gap_closed(r["SDR"], o["mixture"]["SDR"], o["irm1"]["SDR"]), 3),
            "paired_sdr": paired(per_track(new, "SDR"), per_track(ref, "SDR"))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", required=True, help="Repeat to compare several.")
    ap.add_argument("--reference", default=None, help="default: the built-in model of the same target")
    ap.add_argument("--corpus", action="append", metavar="LABEL=DIR",
                    help="default: band=corpora/band-medium classical=corpora/medium band-opl3=corpora/band-opl3")
    ap.add_argument("--split", default="test", choices=["valid", "test"])
    ap.add_argument("--metric", default="sdr", choices=["sdr", "bss"],
                    help="sdr: the Music Demixing Challenge's whole-track SDR (fast); bss: museval BSS Eval v4")
    ap.add_argument("--wiener-iterations", type=int, default=None,
                    help="EM iterations of the stereo Wiener filter for --model (default: the model file's)")
    ap.add_argument("--reference-wiener-iterations", type=int, default=None, help="the same for --reference")
    ap.add_argument("--name", type=results_name, default=None)
    args = ap.parse_args()
    targets = {read_meta(m)["target"] for m in args.model}
    if len(targets) != 1:
        raise SystemExit(f"the models extract different targets: {', '.join(sorted(targets))}")
    target = targets.pop()
    reference = args.reference or str(path_for(target))
    print(f"CPU: {machine()['cpu']}; {target} on the {args.split} splits, against {reference}")
    given = args.corpus or ["band=corpora/band-medium", "classical=corpora/medium", "band-opl3=corpora/band-opl3"]
    corpora = [tuple(c.split("=", 1)) for c in given]
    corpora = [(label, d) for label, d in corpora if (Path(d) / args.split).is_dir()]
    wiener = (args.wiener_iterations, args.reference_wiener_iterations)
    res = {"target": target, "split": args.split, "reference": reference, "models": {},
           "wiener_iterations": {"model": wiener[0], "reference": wiener[1]}}
    for model in args.model:
        res["models"][model] = {}
        for label, data in corpora:
            r = row(model, reference, data, args.split, args.metric, wiener)
            second = "SIR" if args.metric == "bss" else "SI-SDR"
            res["models"][model][label] = r
            print(f"{model} {label:<9} {r['tracks']:3d} tracks: SDR {r['saesep']['SDR']:6.2f} "
                  f"(reference {r['reference']['SDR']:6.2f}), {second} {r['saesep'][second]:6.2f} "
                  f"({r['reference'][second]:6.2f}), gap closed {100 * r['gap_closed']:.0f} % "
                  f"({100 * r['reference_gap_closed']:.0f} %); paired {r['paired_sdr']['mean']:+.2f} dB, "
                  f"better on {r['paired_sdr']['better']}/{r['paired_sdr']['tracks']}")
            if args.name:
                write_results(args.name, res)  # after each row: a long run keeps its part


if __name__ == "__main__":
    main()
