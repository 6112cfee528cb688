"""The CLI: end to end, and bad input → one line on stderr, non-zero exit, no partial output."""

import json
import os

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from saesep.cli import main


@pytest.fixture
def runner():
    return CliRunner()


def _song(path, seconds=1.0, sr=22050, channels=2, value=None):
    n = int(seconds * sr)
    x = np.random.default_rng(0).standard_normal((n, channels)).astype(np.float32) * 0.1 if value is None else np.full((n, channels), value, np.float32)
    sf.write(path, x, sr)
    return path


def _one_line_error(result):
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [l for l in result.output.strip().splitlines() if l.strip()]
    assert lines and all(l.startswith(("Error:", "error:")) for l in lines), result.output


def test_extract_batch_continues_after_a_bad_file(runner, tiny_model, tmp_path):
    model, _ = tiny_model
    good = _song(tmp_path / "good.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wav file")
    res = runner.invoke(main, ["extract", str(bad), str(good), str(tmp_path / "missing.wav"), "-m", str(model),
                               "-o", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert (tmp_path / "out" / "good" / "bass.wav").exists()
    assert not (tmp_path / "out" / "bad").exists() or not any((tmp_path / "out" / "bad").iterdir())
    assert "cannot read audio file" in res.output and "no such file" in res.output
    assert bad.read_bytes() == b"RIFF not really a wav file"  # input untouched


@pytest.mark.parametrize("kind", ["silent", "empty", "nan"])
def test_bad_audio_gives_one_line_and_no_output(runner, tiny_model, tmp_path, kind):
    model, _ = tiny_model
    path = tmp_path / f"{kind}.wav"
    if kind == "silent":
        _song(path, value=0.0)
    elif kind == "empty":
        sf.write(path, np.zeros((0, 2), np.float32), 22050)
    else:
        _song(path, value=np.nan)
        sf.write(path, np.full((22050, 2), np.nan, np.float32), 22050, subtype="FLOAT")
    res = runner.invoke(main, ["extract", str(path), "-m", str(model), "-o", str(tmp_path / "out")])
    _one_line_error(res)
    leftovers = [p for p in (tmp_path / "out").rglob("*") if p.is_file()] if (tmp_path / "out").exists() else []
    assert leftovers == []


def test_not_a_model_and_wrong_target(runner, tiny_model, tmp_path):
    model, _ = tiny_model
    song = _song(tmp_path / "s.wav")
    fake = tmp_path / "fake.pt"
    fake.write_bytes(os.urandom(300))
    _one_line_error(runner.invoke(main, ["extract", str(song), "-m", str(fake)]))
    _one_line_error(runner.invoke(main, ["info", str(fake)]))
    _one_line_error(runner.invoke(main, ["extract", str(song), "-m", str(model), "-t", "lead"]))


def test_data_folder_without_target_stem(runner, track_folder, tmp_path):
    res = runner.invoke(main, ["train", "--data", str(track_folder), "--target", "vocals", "--out", str(tmp_path / "m.pt")])
    _one_line_error(res)
    assert "vocals" in res.output
    assert not (tmp_path / "m.pt").exists()


def test_output_never_overwrites_input(runner, tiny_model, tmp_path):
    model, _ = tiny_model
    song = _song(tmp_path / "bass.wav")
    before = song.read_bytes()
    res = runner.invoke(main, ["extract", str(song), "-m", str(model), "-o", str(tmp_path), "--filename", "{target}.{ext}"])
    _one_line_error(res)
    assert song.read_bytes() == before


def test_train_extract_info_end_to_end(runner, track_folder, tmp_path):
    out = tmp_path / "m.pt"
    res = runner.invoke(main, ["train", "--data", str(track_folder), "--target", "bass", "--out", str(out), "--preset", "tiny",
                               "--iters-per-layer", "30", "--finetune-iters", "0", "--plot", str(tmp_path / "loss.png"),
                               "--max-freq", "2000", "-q"])
    assert res.exit_code == 0, res.output
    assert out.exists() and (tmp_path / "loss.png").stat().st_size > 10_000
    song = track_folder / "test" / "track00" / "mixture.wav"
    res = runner.invoke(main, ["extract", str(song), "-m", str(out), "-o", str(tmp_path / "sep"), "--format", "flac", "--residual", "--json"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sep" / "track00" / "bass.flac").exists() and (tmp_path / "sep" / "track00" / "residual.flac").exists()
    assert '"status": "ok"' in res.output
    res = runner.invoke(main, ["info", str(out)])
    assert res.exit_code == 0 and "layer 1" in res.output and "torch" in res.output
    assert "x 47 bins (up to 2000 Hz)" in res.output  # 2000 Hz at 22050 Hz / 512 points: bins 0 … 46


def test_every_config_option_of_train_reaches_the_model_it_writes(runner, track_folder, tmp_path):
    from saesep.config import TRAIN_OPTIONS
    from saesep.model import load

    helptext = runner.invoke(main, ["train", "--help"], terminal_width=400).output
    assert all(f"--{name.replace('_', '-')} " in helptext for name in TRAIN_OPTIONS)
    out = tmp_path / "m.pt"
    res = runner.invoke(main, ["train", "--data", str(track_folder), "--out", str(out), "--preset", "tiny", "-q",
                               "--layers", "1", "--iters-per-layer", "20", "--finetune-iters", "0",
                               "--pool-refresh", "4096", "--ridge", "0.001", "--hop", "128", "--sampling", "aligned",
                               "--context-stride", "3", "--top-loss", "linear"])
    assert res.exit_code == 0, res.output
    m = load(out)
    assert (m.train.pool_refresh, m.train.ridge, m.spectral.hop, m.train.sampling, m.spectral.context_stride,
            m.train.top_loss) == (4096, 0.001, 128, "aligned", 3, "linear")


def test_a_context_stride_of_zero_is_one_line(runner, track_folder, tmp_path):
    res = runner.invoke(main, ["train", "--data", str(track_folder), "--out", str(tmp_path / "m.pt"), "--preset", "tiny",
                               "--context-stride", "0"])
    _one_line_error(res)
    assert "context_stride 1 or more" in res.output and not (tmp_path / "m.pt").exists()


def test_a_band_too_narrow_for_the_frame_is_one_line(runner, track_folder, tmp_path):
    res = runner.invoke(main, ["train", "--data", str(track_folder), "--out", str(tmp_path / "m.pt"), "--preset", "tiny",
                               "--max-freq", "20"])
    _one_line_error(res)
    assert "fewer than 2 bins" in res.output and not (tmp_path / "m.pt").exists()


def test_diverging_training_stops_with_a_clear_message(runner, track_folder, tmp_path):
    out = tmp_path / "div.pt"
    res = runner.invoke(main, ["train", "--data", str(track_folder), "--out", str(out), "--preset", "tiny",
                               "--lr", "1e12", "--iters-per-layer", "60", "-q"])
    _one_line_error(res)
    assert "non-finite loss" in res.output and "stage" in res.output
    assert not out.exists()
    assert (tmp_path / "div.pt.ckpt").exists()  # the last good checkpoint is kept


def test_target_all_extracts_every_builtin_role_in_one_pass(runner, tmp_path):
    song = _song(tmp_path / "song.wav", seconds=2.0, sr=44100)
    res = runner.invoke(main, ["extract", str(song), "-t", "all", "--wiener", "-o", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "o" / "song").iterdir()) == ["bass.wav", "drums.wav", "lead.wav", "other.wav"]


def test_target_other_runs_the_four_builtins_and_writes_other_only(runner, tmp_path):
    song = _song(tmp_path / "song.wav", seconds=2.0, sr=44100)
    res = runner.invoke(main, ["extract", str(song), "-t", "other", "-o", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    assert [p.name for p in (tmp_path / "o" / "song").iterdir()] == ["other.wav"]
    blend, _ = sf.read(tmp_path / "o" / "song" / "other.wav")
    res = runner.invoke(main, ["extract", str(song), "-t", "other", "--rest-to", "other", "-o", str(tmp_path / "x"), "-q"])
    assert res.exit_code == 0, res.output
    assert np.array_equal(sf.read(tmp_path / "x" / "song" / "other.wav")[0], blend)  # named: the same four models
    res = runner.invoke(main, ["extract", str(song), "-t", "other", "--rest-to", "none", "-o", str(tmp_path / "d"), "-q"])
    assert res.exit_code == 0, res.output
    direct, _ = sf.read(tmp_path / "d" / "song" / "other.wav")
    assert blend.shape == direct.shape and np.abs(blend - direct).max() > 1e-3
    _one_line_error(runner.invoke(main, ["extract", str(song), "-t", "bass", "--rest-to", "lead", "-o", str(tmp_path / "e")]))
    _one_line_error(runner.invoke(main, ["extract", str(song), "-t", "all", "--rest-share", "2", "-o", str(tmp_path / "e")]))
    assert not (tmp_path / "e").exists()


def test_evaluate_target_other_scores_what_extract_other_writes(runner, tmp_path):
    """saesep evaluate -t other (no -m) runs the four built-ins as extract -t other does."""
    from conftest import MUSEVAL, require, synthetic_track

    require("museval", MUSEVAL)

    d = tmp_path / "data" / "test" / "song"
    d.mkdir(parents=True)
    stems = synthetic_track(0, seconds=3.0, sr=44100)
    stems["lead"] = 0.5 * stems.pop("drums")
    for name, a in stems.items():
        sf.write(d / f"{name}.wav", a.T, 44100, subtype="FLOAT")
    sf.write(d / "mixture.wav", sum(stems.values()).T, 44100, subtype="FLOAT")
    out = tmp_path / "res.json"
    res = runner.invoke(main, ["evaluate", "--data", str(tmp_path / "data"), "-t", "other", "--json", str(out), "-q", "-j", "1"])
    assert res.exit_code == 0, res.output
    import json

    r = json.loads(out.read_text())
    assert r["rest_to"] == "other" and len(r["model"]) == 4 and r["model"][0].endswith("other.pt")
    res = runner.invoke(main, ["extract", str(d / "mixture.wav"), "-t", "other", "-o", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    from saesep.evaluation import bss_eval

    est, _ = sf.read(tmp_path / "o" / "song" / "other.wav", dtype="float32", always_2d=True)
    ref, mix = stems["other"], sum(stems.values())
    # the file is 16-bit: the same scores to within its quantisation
    assert r["tracks"][0]["methods"]["saesep"]["SDR"] == pytest.approx(bss_eval(ref, est.T, mix, 44100)["SDR"], abs=0.05)


def test_info_on_a_model_whose_layers_do_not_match_its_weights_is_one_line(runner, tiny_model, tmp_path):
    import json

    import torch

    payload = torch.load(tiny_model[0], weights_only=True)
    meta = json.loads(payload["meta_json"])
    meta["n_layers"] += 1
    payload["meta_json"] = json.dumps(meta)
    torch.save(payload, tmp_path / "m.pt")
    _one_line_error(runner.invoke(main, ["info", str(tmp_path / "m.pt")]))


@pytest.mark.parametrize("meta_json", ["", "[]", '{"target": "bass"}', "{}"])
def test_info_on_empty_or_malformed_metadata_is_one_line(runner, tmp_path, meta_json):
    import torch

    torch.save({"format": "saesep-model", "meta_json": meta_json, "state_dict": {}}, tmp_path / "m.pt")
    _one_line_error(runner.invoke(main, ["info", str(tmp_path / "m.pt")]))


@pytest.mark.parametrize("key,value,line", [("mask_power", 1.5, "mask         ratio, exponent 1.5"),
                                           ("wiener_iterations", 1, "post-filter  stereo Wiener filter, 1 EM iteration(s)"),
                                           ("shifts", 2, "shifts       estimates of 2 STFT grids averaged"),
                                           ("output_gain", [0.5, 1.25], "output gain  least-squares gain per bin, "
                                            "0.50 to 1.25")])
def test_info_shows_the_separation_defaults_a_model_file_records(runner, tiny_model, tmp_path, key, value, line):
    import copy

    from saesep.model import save

    model = copy.deepcopy(tiny_model[1])
    model.meta[key] = value
    save(model, tmp_path / "m.pt")
    res = runner.invoke(main, ["info", str(tmp_path / "m.pt")])
    assert res.exit_code == 0, res.output
    assert line in res.output
    assert line.split()[0] + " " not in runner.invoke(main, ["info", str(tiny_model[0])]).output


def test_info_shows_a_cosine_learning_rate(runner, tiny_model, tmp_path):
    import copy
    import dataclasses

    from saesep.model import save

    model = copy.deepcopy(tiny_model[1])
    model.train = dataclasses.replace(model.train, lr_schedule="cosine")
    save(model, tmp_path / "m.pt")
    assert "cosine learning rate" in runner.invoke(main, ["info", str(tmp_path / "m.pt")]).output
    assert "learning rate" not in runner.invoke(main, ["info", str(tiny_model[0])]).output


@pytest.mark.parametrize("flag,value,option,error", [("--mask-power", 2.0, "mask_power", "mask power must be in"),
                                                      ("--niter", 2, "wiener_iterations", "Wiener iterations must be"),
                                                      ("--shifts", 2, "shifts", "shifts must be")])
def test_evaluate_takes_the_separation_options(runner, tiny_model, track_folder, tmp_path, flag, value, option, error):
    """The ratio mask's exponent and the Wiener filter's iterations reach the scores as
    evaluate()'s keyword does; a bad value is one line."""
    from saesep.evaluation import evaluate

    out = tmp_path / "r.json"
    args = ["evaluate", "--data", str(track_folder), "-m", str(tiny_model[0]), "--metric", "sdr", "-q", "-j", "1"]
    res = runner.invoke(main, args + [flag, str(value), "--json", str(out)])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())["median"]["saesep"]["SDR"]
    want = evaluate(track_folder, model=tiny_model[0], metric="sdr", jobs=1, progress=False, **{option: value})
    assert got == pytest.approx(want["median"]["saesep"]["SDR"])
    assert got != pytest.approx(evaluate(track_folder, model=tiny_model[0], metric="sdr", jobs=1,
                                         progress=False)["median"]["saesep"]["SDR"])
    bad = runner.invoke(main, args + [flag, "-1"])
    assert bad.exit_code != 0 and error in bad.output and "Traceback" not in bad.output



@pytest.mark.parametrize("flags, warned", [(frozenset({"avx2"}), True), (frozenset({"avx2", "avx512_bf16"}), False)])
def test_bfloat16_on_a_cpu_without_bfloat16_instructions_warns(runner, tiny_model, tmp_path, monkeypatch, flags,
                                                               warned):
    from saesep import backend

    monkeypatch.setattr(backend, "cpu_flags", lambda: flags)
    model, _ = tiny_model
    res = runner.invoke(main, ["extract", str(_song(tmp_path / "a.wav")), "-m", str(model), "-o", str(tmp_path / "out"),
                               "-q", "--precision", "bfloat16"])
    assert res.exit_code == 0, res.output
    assert ("no bfloat16 instructions" in res.output) == warned
    assert (tmp_path / "out" / "a" / "bass.wav").exists()
