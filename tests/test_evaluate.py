"""Evaluation: museval metrics, oracle references and the NMF baseline on the synthetic tracks."""

import numpy as np
import pytest
import soundfile as sf

from conftest import MUSEVAL, require  # noqa: E402

require("museval", MUSEVAL)

from saesep.config import SpectralConfig  # noqa: E402
from saesep.errors import SaesepError  # noqa: E402
from saesep.evaluation import bss_eval, evaluate, mdx_sdr, oracle, si_sdr  # noqa: E402


def test_si_sdr_is_scale_invariant():
    rng = np.random.default_rng(0)
    r = rng.standard_normal((2, 1000))
    e = r + 0.1 * rng.standard_normal((2, 1000))
    assert si_sdr(r, e) == pytest.approx(si_sdr(r, 3 * e), abs=1e-9)


def test_the_fast_sdr_is_the_ratio_of_target_to_error_energy():
    rng = np.random.default_rng(1)
    r = rng.standard_normal((2, 4000))
    noise = rng.standard_normal((2, 4000))
    noise *= np.sqrt(np.sum(r ** 2) / np.sum(noise ** 2)) / 10  # error energy a hundredth of the target's
    res = mdx_sdr(r, r + noise)
    assert res["SDR"] == pytest.approx(20.0, abs=1e-6) and np.isnan(res["SIR"])


def test_the_fast_metric_ranks_methods_as_bss_eval_does(track_folder, tiny_model):
    kw = dict(model=tiny_model[0], methods=["saesep", "irm1", "mixture"], jobs=1, progress=False)
    fast, bss = evaluate(track_folder, "test", metric="sdr", **kw), evaluate(track_folder, "test", **kw)
    order = lambda res: sorted(res["median"], key=lambda m: res["median"][m]["SDR"])  # noqa: E731
    assert fast["metric"] == "sdr" and order(fast) == order(bss) == ["mixture", "saesep", "irm1"]
    assert np.isnan(fast["median"]["saesep"]["SIR"]) and np.isfinite(bss["median"]["saesep"]["SIR"])


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


def _copy_tracks(src, dst, names):
    import shutil

    for n in names:
        shutil.copytree(src / n, dst / n)
    return dst


def test_choose_options_keeps_the_combination_with_the_best_mean_sdr(track_folder, tiny_model):
    from saesep.evaluation import choose_options

    grid = {"wiener_iterations": (0, 2), "mask_power": (1.0, 4.0)}
    best, scores = choose_options(tiny_model[0], [track_folder], grid, split="test", jobs=1)
    assert [(s["wiener_iterations"], s["mask_power"]) for s in scores] == [(0, 1.0), (0, 4.0), (2, 1.0), (2, 4.0)]
    for s in scores:
        res = evaluate(track_folder, "test", model=tiny_model[0], metric="sdr", jobs=1, progress=False,
                       wiener_iterations=s["wiener_iterations"], mask_power=s["mask_power"])
        assert s["mean_sdr"] == pytest.approx(np.mean([r["methods"]["saesep"]["SDR"] for r in res["tracks"]]), abs=1e-3)
    assert len({s["mean_sdr"] for s in scores}) == 4  # both options reach the separation
    top = max(scores, key=lambda s: s["mean_sdr"])
    assert best == {"wiener_iterations": top["wiener_iterations"], "mask_power": top["mask_power"]}


def test_a_bad_track_is_reported_and_the_others_scored(track_folder, tiny_model, tmp_path):
    split = _copy_tracks(track_folder / "test", tmp_path / "d" / "test", ["track00", "track01"])
    (split / "track01" / "bass.wav").write_bytes(b"RIFF broken")
    res = evaluate(tmp_path / "d", "test", model=tiny_model[0], methods=["mixture"], jobs=1, progress=False)
    assert res["counts"] == {"scored": 1, "skipped": 0, "failed": 1}
    assert "cannot read" in next(r["error"] for r in res["tracks"] if "error" in r)


def test_tracks_without_the_target_are_counted_as_skipped(track_folder, tiny_model, tmp_path):
    split = _copy_tracks(track_folder / "test", tmp_path / "d" / "test", ["track00", "track01"])
    (split / "track01" / "bass.wav").unlink()
    res = evaluate(tmp_path / "d", "test", model=tiny_model[0], methods=["mixture"], jobs=1, progress=False)
    assert res["counts"] == {"scored": 1, "skipped": 1, "failed": 0}


def test_no_scorable_track_is_an_error_not_nan(track_folder, tiny_model, tmp_path):
    split = _copy_tracks(track_folder / "test", tmp_path / "d" / "test", ["track00"])
    x, sr = sf.read(split / "track00" / "bass.wav")
    sf.write(split / "track00" / "bass.wav", np.zeros_like(x), sr, subtype="FLOAT")
    with pytest.raises(SaesepError, match="could be scored"):
        evaluate(tmp_path / "d", "test", model=tiny_model[0], methods=["mixture"], jobs=1, progress=False)


def test_stems_of_unequal_length_without_a_mixture_are_one_track_error(track_folder, tiny_model, tmp_path):
    split = _copy_tracks(track_folder / "test", tmp_path / "d" / "test", ["track00", "track01"])
    (split / "track01" / "mixture.wav").unlink()
    x, sr = sf.read(split / "track01" / "other.wav")
    sf.write(split / "track01" / "other.wav", x[: len(x) // 2], sr, subtype="FLOAT")
    res = evaluate(tmp_path / "d", "test", model=tiny_model[0], methods=["mixture"], jobs=1, progress=False)
    assert res["counts"]["failed"] == 1 and "differ in length" in res["tracks"][1]["error"]


def test_sigterm_stops_the_worker_processes(track_folder, tiny_model):
    import os
    import signal
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    proc = subprocess.Popen([sys.executable, "-m", "saesep", "evaluate", "--data", str(track_folder), "-m",
                             str(tiny_model[0]), "--method", "saesep,nmf", "-j", "2", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def children():
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    deadline = time.time() + 180  # a loaded machine starts the workers slowly; the loop ends when they run
    while len(children()) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    kids = children()
    assert proc.poll() is None and kids, "no workers seen"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "Traceback" not in err
    time.sleep(0.5)
    alive = [k for k in kids if os.path.exists(f"/proc/{k}") and "zombie" not in open(f"/proc/{k}/status").read()]
    assert alive == []
