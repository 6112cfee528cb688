"""Evaluation: museval metrics, oracle references and the NMF baseline on the synthetic tracks."""

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("museval")

from saesep.config import SpectralConfig  # noqa: E402
from saesep.errors import SaesepError  # noqa: E402
from saesep.evaluation import bss_eval, evaluate, oracle, si_sdr  # noqa: E402


def test_si_sdr_is_scale_invariant():
    rng = np.random.default_rng(0)
    r = rng.standard_normal((2, 1000))
    e = r + 0.1 * rng.standard_normal((2, 1000))
    assert si_sdr(r, e) == pytest.approx(si_sdr(r, 3 * e), abs=1e-9)


def test_oracles_rank_as_expected(track_folder):
    d = track_folder / "test" / "track00"
    mix, sr = sf.read(d / "mixture.wav", dtype="float32", always_2d=True)
    ref, _ = sf.read(d / "bass.wav", dtype="float32", always_2d=True)
    mix, ref = mix.T, ref.T
    cfg = SpectralConfig(sample_rate=22050, n_fft=512, hop=256)
    scores = {m: bss_eval(ref, oracle(m, mix, ref, cfg, sr), mix, sr)["SDR"] for m in ("irm1", "oracle-mag", "mixture")}
    assert scores["irm1"] > scores["mixture"] + 5
    assert scores["oracle-mag"] > scores["mixture"] + 5


def test_mismatched_lengths_are_a_clear_error():
    with pytest.raises(SaesepError, match="differ"):
        bss_eval(np.zeros((2, 100)), np.zeros((2, 90)), np.zeros((2, 100)), 22050)


def test_evaluate_model_and_baselines(track_folder, tiny_model):
    res = evaluate(track_folder, "test", model=tiny_model[0], methods=["saesep", "mixture", "nmf"], jobs=1, progress=False)
    med = res["median"]
    assert med["saesep"]["SDR"] > med["mixture"]["SDR"] + 3
    assert np.isfinite(med["nmf"]["SDR"])
    with pytest.raises(SaesepError, match="extracts 'bass', not 'drums'"):
        evaluate(track_folder, "test", model=tiny_model[0], target="drums", progress=False)
    # --tracks N: the first N tracks with the target, the same scores as in the full run
    first = evaluate(track_folder, "test", model=tiny_model[0], methods=["mixture"], jobs=1, progress=False, max_tracks=1)
    assert [r["track"] for r in first["tracks"]] == [res["tracks"][0]["track"]]
    assert first["tracks"][0]["methods"]["mixture"] == res["tracks"][0]["methods"]["mixture"]
    with pytest.raises(SaesepError, match="at least 1"):
        evaluate(track_folder, "test", model=tiny_model[0], progress=False, max_tracks=0)
