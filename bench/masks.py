"""The masks side by side: ratio (default), none (unbounded estimate, the paper) and soft
(Wiener-style, shared by the roles' models of one STFT setting) with exponent 2 (power, `soft`) and 1
(magnitude, `soft1`, i.e. `--mask soft --mask-power 1`) on the first N test tracks of each role.

    python bench/masks.py [--data corpora/medium] [--tracks 12] [--models saesep/models] [--name masks]

Median BSS Eval v4 SDR (dB) per role and mask; writes bench/results/masks.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from common import score_all, results_name, write_results  # noqa: E402  (bench/common.py puts the repository on sys.path)
from saesep.datasets import find_tracks  # noqa: E402
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
    ap.add_argument("--name", type=results_name, default="masks", help="results file name under bench/results/")
    args = ap.parse_args()
    roles = args.roles.split(",")
    models = {r: load(Path(args.models) / f"{r}.pt") for r in roles}
    test = find_tracks(args.data, "test")
    chosen = {r: set([t.name for t in test if r in t.stems][: args.tracks]) for r in roles}  # first N per role

    def jobs():
        # every mask is one pass of all models over a track: ratio and none treat each model alone,
        # soft shares the mask among the models of one STFT setting (as `saesep extract -t all` does);
        # drawn lazily by score_all, so only a few tracks' estimates are held at once
        for t in test:
            want = [r for r in roles if t.name in chosen[r]]
            if not want:
                continue
            mix, sr = sf.read(t.mixture, dtype="float32", always_2d=True)
            refs = {r: sf.read(t.stems[r], dtype="float32", always_2d=True)[0].T for r in want}
            for m, (mask, power) in VARIANTS.items():
                est = separate(mix.T, sr, models, SeparationOptions(mask=mask, mask_power=power, rest_to=None))
                yield from (((r, t.name, m), refs[r], est[r], mix.T, sr) for r in want)

    per_track: dict = {}
    for (r, name, m), sc in score_all(jobs()):
        per_track.setdefault(r, {}).setdefault(name, {})[m] = sc["SDR"]
    rows = {}
    print(f"{'role':<6} " + " ".join(f"{m:>7}" for m in VARIANTS) + "   (median SDR dB)")
    for r in roles:
        rows[r] = {m: float(np.nanmedian([v[m] for v in per_track[r].values()])) for m in VARIANTS}
        rows[r]["tracks"] = len(per_track[r])
        print(f"{r:<6} " + " ".join(f"{rows[r][m]:>7.2f}" for m in VARIANTS))
    write_results(args.name, {"data": args.data, "models": args.models, "median_sdr": rows, "per_track_sdr": per_track})


if __name__ == "__main__":
    main()
