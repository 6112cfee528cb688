"""The demo: every built-in role extracted from a bundled band song none of the models heard (the first
song of the band corpus's test split: an unseen tune and groove, TimGM6mb's instruments), scored against its stems."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import audio as audio_io
from . import models as builtin
from .errors import SaesepError
from .extract import extract_file
from .network import load_models
from .separation import SeparationOptions

DEMO_DIR = Path(__file__).resolve().parent / "data" / "demo"  # package data: works from any install


def run_demo(out_dir="out", song=None, echo=print) -> dict:
    """Extract all roles into ``out_dir``: with each model's own separation options (its ratio-mask
    exponent and Wiener filter) into ``default/``, and with the soft mask over all roles into ``soft/``;
    returns ``{role: {method: SDR}}``."""
    try:
        from .evaluation import bss_eval

        import museval  # noqa: F401  (needs ffmpeg on the PATH through stempeg)

        score = lambda ref, est, mix, sr: bss_eval(ref, est, mix, sr)["SDR"]  # noqa: E731
        metric = "SDR (museval BSS Eval v4)"
    except Exception:  # no museval/ffmpeg: plain signal-to-distortion ratio
        score = lambda ref, est, mix, sr: float(10 * np.log10(np.sum(ref ** 2) / (np.sum((ref - est) ** 2) + 1e-12)))  # noqa: E731
        metric = "SDR (plain energy ratio; install ffmpeg + museval for BSS Eval)"

    song = Path(song) if song else DEMO_DIR
    mix_path = next((p for p in sorted(song.glob("mixture.*"))), None)
    if mix_path is None:
        raise SaesepError(f"no mixture file in '{song}'")
    avail = builtin.available()
    if not avail:
        raise SaesepError("no built-in models are installed (run: make models)")
    models = load_models(list(avail.values()))
    mix, sr = audio_io.read(mix_path)
    echo(f"demo song: {mix_path} ({mix.shape[1] / sr:.1f} s, {sr} Hz, {mix.shape[0]} channels); {metric}")
    results = {}
    for label, opts, sub in (("default", SeparationOptions(), "default"), ("soft mask", SeparationOptions(mask="soft"), "soft")):
        res = extract_file(mix_path, models, Path(out_dir) / sub, opts, template="{target}.{ext}")
        for target, path in res.outputs.items():
            ref_path = next(iter(sorted(song.glob(f"{target}.*"))), None)
            if ref_path is None:
                continue
            ref, _ = audio_io.read(ref_path)
            est, _ = audio_io.read(path)
            sdr, base = score(ref, est, mix, sr), score(ref, mix, mix, sr)
            results.setdefault(target, {})[label] = sdr
            results[target]["passthrough"] = base
            echo(f"  {target:<6} {label:<10} SDR {sdr:6.2f} dB  (passthrough {base:6.2f} dB)  -> {path}")
    return results
