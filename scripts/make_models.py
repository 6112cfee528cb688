#!/usr/bin/env python3
"""Retrain the built-in models from scratch (``make models``).

1. builds the corpora the models learn from, where missing (each build resumes):
   the band corpus (``saesep corpus build corpora/band-medium --style band --size medium``),
   the classical corpus (``corpora/medium``) and the classical pieces of seed 1 rendered
   with sf_GMbank (``corpora/medium-gmbank``, train split only);
2. trains one model per role on the training tracks of all three, validated on the band
   corpus's valid split (drums: on the band and the classical valid splits together), with
   the default preset, the role's overrides and a fixed seed (lead: two networks, seeds 0
   and 2, their estimates averaged in one file: ``ROLE_SEEDS``);
3. chooses its separation options, the iterations of its stereo Wiener filter (0 or 1)
   and the exponent of its ratio mask (1, 0.75 or 0.5), together on valid splits played by
   instruments no model heard (the band and the classical valid pieces on the OPL3 FM
   synthesizer: ``apt-get install opl3-soundfont``): the highest mean SDR, with the
   role's STFT grids averaged (``ROLE_SHIFTS``);
4. fits its output gain, a least-squares scale per frequency bin of its final estimates, on
   up to 100 training tracks of each corpus (saesep.calibration), and keeps it if it raises
   the mean SDR on those unseen-instrument valid splits;
5. scores it on the band and the classical test splits (median of the Music Demixing
   Challenge's whole-track SDR) and records both in the file (not with ``--candidate``:
   a candidate is chosen on the valid splits before anyone sees its test figures; once
   adopted, ``--shipped --recorded-options`` scores it);
6. stores it as float16 in saesep/models/<role>.pt.

Usage: python scripts/make_models.py [--roles bass,lead,other,drums] [--seed 0]
       python scripts/make_models.py --candidate --roles other --out DIR   (steps 1-4 and 6)
       python scripts/make_models.py --candidate --roles other --set finetune_iters=1500 --out DIR --work DIR
       python scripts/make_models.py --shipped   (steps 3-6 for the shipped models, no training)
       python scripts/make_models.py --shipped --recorded-options   (steps 4-6, with the options they record)
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from saesep import corpus, model as model_io  # noqa: E402
from saesep.evaluation import OPTION_GRID, choose_options, evaluate  # noqa: E402
from saesep.calibration import fit_output_gain  # noqa: E402
from saesep.config import parse_setting, to_dict  # noqa: E402
from saesep.training import configs, train  # noqa: E402

# the training corpora: folder name → how corpus.build makes it (apt-get install csound-soundfont for gmbank)
CORPORA = {
    "band-medium": {"size": "medium", "seed": 0, "style": "band"},
    "medium": {"size": "medium", "seed": 0},
    "medium-gmbank": {"size": "medium", "seed": 1, "soundfonts": {"train": "sf_GMbank.sf2"}, "splits": ["train"]},
}
TEST_CORPORA = {"band": "band-medium", "classical": "medium"}  # the test splits every model is scored on
# valid splits played by instruments the models never heard: where the separation options are chosen
# (the training instruments' own valid splits favoured choices that failed on unseen ones, docs/experiments.md)
UNSEEN_VALID = {
    "band-opl3-valid": {"size": "medium", "seed": 0, "style": "band", "splits": ["valid"],
                        "soundfonts": {"valid": "OPL-3_FM_128M.sf2"}},
    "medium-opl3-valid": {"size": "medium", "seed": 0, "splits": ["valid"], "soundfonts": {"valid": "OPL-3_FM_128M.sf2"}},
}
# per-role changes to the default preset, chosen on the valid splits (docs/models.md)
# (lead keeps the earlier pool refresh, 500,000 blocks: with 50,000 it gained on band songs and
# lost on classical ones, docs/experiments.md)
# the full-band roles: hidden layers twice their 513 bins (docs/models.md)
WIDE = {"width": 1026}
ROLE_OVERRIDES = {"bass": {"n_fft": 4096, "hop": 1024, "max_freq": 2000, "layers": 5},
                  "lead": {"pool_refresh": 500_000, **WIDE}, "other": WIDE, "drums": WIDE}
# STFT grids averaged at separation (SeparationOptions.shifts): two grids gained on every valid split
# for drums, lead and other (docs/experiments.md); the default model, bass, keeps one to stay
# above 200× real time on 2 cores
ROLE_SHIFTS = {"drums": 2, "lead": 2, "other": 2}
# roles whose file holds several networks trained with these seeds (added to --seed), their
# estimates averaged (saesep combine): lead's candidates moved by ±0.5 dB from seed to seed,
# and the average of two gained on every valid split (docs/models.md)
ROLE_SEEDS = {"lead": (0, 2)}
# roles validated on the valid splits of several corpora together (default: the band corpus's)
ROLE_VALID = {"drums": ["band-medium", "medium"]}
THREADS = 2  # the built-ins were trained on 2 threads; float sums split otherwise on another count
GAIN_TRACKS = 100  # training tracks per corpus the output gain is fitted on


def _unseen_mean_sdr(model: Path, base: Path, options: dict) -> float:
    """Mean SDR of ``model`` over the unseen-instrument valid splits, with ``options``."""
    sdr = []
    for name in UNSEEN_VALID:
        res = evaluate(base / name, "valid", model=model, methods=["saesep"], progress=False, metric="sdr", **options)
        sdr += [r["methods"]["saesep"]["SDR"] for r in res["tracks"] if "methods" in r]
    return round(float(sum(sdr) / len(sdr)), 4)


def choose_output_gain(m, plain: Path, roots, base: Path, options: dict) -> dict:
    """Fit the output gain of ``m``, saved without one at ``plain`` (step 4); returns the
    metadata to record: whether the gain was kept (then ``m`` records it) and both
    unseen-valid means."""
    gain = fit_output_gain(plain, roots, tracks_per_corpus=GAIN_TRACKS, options=options)
    m.meta["output_gain"] = [round(float(g), 4) for g in gain]
    calibrated = plain.with_name(plain.name.replace(".no_gain", ".gain"))
    model_io.save(m, calibrated)
    without, with_gain = (_unseen_mean_sdr(f, base, options) for f in (plain, calibrated))
    if with_gain <= without:
        m.meta.pop("output_gain")
    return {"output_gain_fit": {"corpora": [r.name for r in roots], "split": "train", "tracks_per_corpus": GAIN_TRACKS,
                                "valid_sdr_without": without, "valid_sdr_with": with_gain, "kept": with_gain > without}}


def _trained(path: Path, roots, valid, opts: dict):
    """The full-precision model at ``path`` if it was trained with ``opts`` on ``roots`` and
    validated on ``valid`` (a rerun after an interruption, or the same ``saesep train`` command
    run by hand), else None."""
    if not path.exists():
        return None
    spectral, cfg = configs(**opts)
    m = model_io.load(path)
    same = (to_dict(m.spectral) == to_dict(spectral) and to_dict(m.train) == to_dict(cfg)
            and m.meta.get("data") == [r.name for r in roots]
            and m.meta.get("valid_data") == ([v.name for v in valid] if valid else None))
    return m if same else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--roles", default="bass,lead,other,drums")
    ap.add_argument("--corpora", default=str(ROOT / "corpora"), help="Folder holding the corpora.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "saesep" / "models"))
    ap.add_argument("--work", default=str(ROOT / "corpora" / "models-work"))
    ap.add_argument("--shipped", action="store_true",
                    help="Do not train: choose the separation options of the models in --out again, score and store them.")
    ap.add_argument("--recorded-options", action="store_true",
                    help="With --shipped: keep the separation options the models record (fit the gain, score, store).")
    ap.add_argument("--candidate", action="store_true",
                    help="Do not score the test splits (step 5): for a model still to be chosen on the valid splits.")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                    help="Change a training setting on top of the role's overrides, e.g. --set finetune_iters=1500 "
                         "(repeatable; for a candidate).")
    ap.add_argument("--threads", type=int, default=THREADS,
                    help="Torch threads of the training (the same seed gives the same model only on as many).")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    base = Path(args.corpora)
    for name, spec in {**CORPORA, **UNSEEN_VALID}.items():
        if not (base / name / "corpus.json").exists():
            t = time.time()
            corpus.build(base / name, **spec)
            print(f"{name} built in {time.time() - t:.0f} s")
    roots = [base / name for name in CORPORA]
    hours = round(sum(corpus.corpus_info(r)["train"]["hours"] for r in roots), 2)
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    for role in args.roles.split(","):
        t = time.time()
        full = work / f"{role}.pt"
        opts = {"target": role, "preset": "default", "seed": args.seed, **ROLE_OVERRIDES.get(role, {}),
                **dict(map(parse_setting, args.overrides))}
        valid = [base / name for name in ROLE_VALID[role]] if role in ROLE_VALID else None
        if args.shipped:
            full = out / f"{role}.pt"
            m = model_io.load(full)
        else:
            seeds = [args.seed + s for s in ROLE_SEEDS.get(role, (0,))]
            members = []
            for seed in seeds:
                path = full if len(seeds) == 1 else work / f"{role}.seed{seed}.pt"
                member = _trained(path, roots, valid, {**opts, "seed": seed})
                if member is None:
                    member = train(roots, path, plot=path.with_suffix(".png"), valid=valid, **{**opts, "seed": seed})
                else:
                    print(f"{role}: {path} was trained with these settings on these corpora; using it")
                members.append(member)
            m = members[0] if len(members) == 1 else model_io.combine(members)
        secs = m.history.get("train_seconds", time.time() - t)
        m.meta.pop("output_gain", None)  # options are chosen, and the gain fitted, without one
        plain = work / f"{role}.no_gain.pt"
        model_io.save(m, plain)
        grid = {**OPTION_GRID, "shifts": (ROLE_SHIFTS.get(role, 1),)}
        if args.recorded_options:
            # the role's grids are fixed (ROLE_SHIFTS), not chosen: a model without them records none
            options = {**{k: m.meta[k] for k in grid if k != "shifts"}, "shifts": grid["shifts"][0]}
            scores = m.meta["options_valid_sdr"]["scores"]
        else:
            options, scores = choose_options(plain, [base / name for name in UNSEEN_VALID], grid=grid)
        print(f"{role}: chose {options} (unseen-instrument valid mean SDR: "
              + ", ".join(f"{s}" for s in scores) + ")")
        gain = choose_output_gain(m, plain, roots, base, options)
        print(f"{role}: output gain {'kept' if gain['output_gain_fit']['kept'] else 'not kept'} "
              f"(unseen-instrument valid mean SDR {gain['output_gain_fit']['valid_sdr_with']} with it, "
              f"{gain['output_gain_fit']['valid_sdr_without']} without)")
        model_io.save(m, work / f"{role}.final.pt")
        test = {}
        for label, name in ({} if args.candidate else TEST_CORPORA).items():
            res = evaluate(base / name, "test", model=work / f"{role}.final.pt", methods=["saesep", "mixture", "irm1"],
                           progress=False,
                           metric="sdr", **options)
            (work / f"{role}.{label}.eval.json").write_text(json.dumps(res, indent=1))
            test[label] = {k: round(v["SDR"], 2) for k, v in res["median"].items()}
            print(f"{role}: {label} test SDR {test[label]['saesep']:.2f} dB "
                  f"(passthrough {test[label]['mixture']:.2f}, IRM1 {test[label]['irm1']:.2f})")
        if not args.shipped:
            m.meta.update({
                "command": "python scripts/make_models.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
                "corpora": {name: {k: v for k, v in spec.items()} for name, spec in CORPORA.items()},
                "hours_train": hours,
                "train_seconds": round(secs, 1),
            })
        m.meta.update({
            **options,
            **gain,
            "options_valid_sdr": {"corpora": list(UNSEEN_VALID), "scores": scores},
        })
        if test:
            m.meta.update({"test_sdr": test,
                           "test_metric": "whole-track SDR of the Music Demixing Challenge (saesep evaluate --metric sdr)"})
        model_io.save(m, out / f"{role}.pt", half=True)


if __name__ == "__main__":
    main()
