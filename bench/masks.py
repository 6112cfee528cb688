"""The masks side by side: ratio (default), none (unbounded estimate, the paper) and soft
(Wiener-style, all roles' models at once) with exponent 2 (power, `soft`) and 1
(magnitude, `soft1`, i.e. `--mask soft --mask-power 1`) on the first N test tracks of each role.

    python bench/masks.py [--data corpora/medium] [--tracks 12] [--models saesep/models] [--name masks]

Median BSS Eval v4 SDR (dB) per role and mask; writes bench/results/masks.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from common import write_results  # noqa: E402  (bench/common.py puts the repository on sys.path)
from saesep.datasets import find_tracks  # noqa: E402
from saesep.evaluation import bss_eval  # noqa: E402
from saesep.model import load  # noqa: E402
from saesep.separation import SeparationOptions, separate  # noqa: E402

# label: (mask, exponent)
VARIANTS = {"ratio": ("ratio", 2.0), "none": ("none", 2.0), "soft": ("soft", 2.0), "soft1": ("soft", 1.0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="corpora/medium")
    ap.add_argument("--tracks", type=int, default=12)
    ap.add_argument("--models", default="saesep/models", help="folder with <role>.pt")
    ap.add_argument("--roles", default="bass,lead,other,drums")
    ap.add_argument("--name", default="masks", help="results file name under bench/results/")
    args = ap.parse_args()
    roles = args.roles.split(",")
    models = {r: load(Path(args.models) / f"{r}.pt") for r in roles}
    rows, per_track = {}, {}
    print(f"{'role':<6} " + " ".join(f"{m:>7}" for m in VARIANTS) + "   (median SDR dB)")
    for role in roles:
        tracks = [t for t in find_tracks(args.data, "test") if role in t.stems][: args.tracks]
        sdr = {m: [] for m in VARIANTS}
        for t in tracks:
            mix, sr = sf.read(t.mixture, dtype="float32", always_2d=True)
            ref, _ = sf.read(t.stems[role], dtype="float32", always_2d=True)
            for m, (mask, power) in VARIANTS.items():
                use = models if mask == "soft" else models[role]
                est = separate(mix.T, sr, use, SeparationOptions(mask=mask, mask_power=power))[role]
                sdr[m].append(bss_eval(ref.T, est, mix.T, sr)["SDR"])
        rows[role] = {m: float(np.nanmedian(v)) for m, v in sdr.items()}
        rows[role]["tracks"] = len(tracks)
        per_track[role] = {t.name: {m: sdr[m][i] for m in VARIANTS} for i, t in enumerate(tracks)}
        print(f"{role:<6} " + " ".join(f"{rows[role][m]:>7.2f}" for m in VARIANTS), flush=True)
    write_results(args.name, {"data": args.data, "models": args.models, "median_sdr": rows, "per_track_sdr": per_track})


if __name__ == "__main__":
    main()
