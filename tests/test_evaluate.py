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


def test_evaluate_several_models_scores_the_targets_joint_output(track_folder, tiny_model, tmp_path):
    """A list of models runs as saesep extract runs them: with bass, lead, drums and other,
    other's scored output takes half of what the four leave (rest_to), as separate() gives it."""
    import torch

    from saesep.model import Model, StackedDNN, save
    from saesep.separation import SeparationOptions, separate

    bass = tiny_model[1]
    paths = {"bass": str(tiny_model[0])}
    torch.manual_seed(0)
    for role in ("lead", "other", "drums"):
        net = StackedDNN(bass.spectral.net_bins, bass.spectral.context_frames)
        net.add_layer("random")
        paths[role] = str(tmp_path / f"{role}.pt")
        save(Model(net.eval(), bass.spectral, role), paths[role])
    order = [paths["other"], paths["bass"], paths["lead"], paths["drums"]]
    joint = evaluate(track_folder, "test", model=order, methods=["saesep"], jobs=1, progress=False)
    alone = evaluate(track_folder, "test", model=order, methods=["saesep"], jobs=1, progress=False, rest_to=None)
    assert joint["target"] == "other" and joint["rest_to"] == "other" and alone["rest_to"] is None
    from saesep.model import load

    models = {r: load(p) for r, p in paths.items()}
    d = track_folder / "test" / joint["tracks"][0]["track"]
    mix, sr = sf.read(d / "mixture.wav", dtype="float32", always_2d=True)
    ref, _ = sf.read(d / "other.wav", dtype="float32", always_2d=True)
    est = separate(mix.T, sr, models, SeparationOptions(outputs=("other",)))["other"]
    assert joint["tracks"][0]["methods"]["saesep"]["SDR"] == pytest.approx(bss_eval(ref.T, est, mix.T, sr)["SDR"], abs=1e-4)
    assert joint["median"]["saesep"]["SDR"] != alone["median"]["saesep"]["SDR"]
    with pytest.raises(SaesepError, match="no model extracts 'vocals'"):
        evaluate(track_folder, "test", model=order, target="vocals", progress=False)
    with pytest.raises(SaesepError, match="rest target"):
        evaluate(track_folder, "test", model=order, progress=False, rest_to="vocals")
