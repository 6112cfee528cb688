"""Training on imperfect stem folders: one-line errors, or a clear rule, never a traceback."""

import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from saesep.errors import SaesepError
from saesep.training import train


def _copy(track_folder, dst):
    shutil.copytree(track_folder, dst)
    return dst


def test_stems_of_unequal_length_without_a_mixture_train_on_their_common_start(track_folder, tmp_path):
    data = _copy(track_folder, tmp_path / "d")
    for t in (data / "train").iterdir():
        (t / "mixture.wav").unlink()
        x, sr = sf.read(t / "other.wav")
        sf.write(t / "other.wav", x[: len(x) // 2], sr, subtype="FLOAT")
    model = train(data, tmp_path / "m.pt", preset="tiny", progress=False, log=lambda m: None, layers=1,
                  iters_per_layer=5, finetune_iters=0)
    assert len(model.net.layers) == 1


def test_a_stem_with_nan_samples_is_one_line(track_folder, tmp_path):
    data = _copy(track_folder, tmp_path / "d")
    for t in (data / "train").iterdir():
        x, sr = sf.read(t / "bass.wav")
        x[100] = np.nan
        sf.write(t / "bass.wav", x, sr, subtype="FLOAT")
    with pytest.raises(SaesepError, match="NaN"):
        train(data, tmp_path / "m.pt", preset="tiny", progress=False, log=lambda m: None, layers=1,
              iters_per_layer=5, finetune_iters=0)


def test_a_target_that_is_a_path_is_refused(track_folder, tmp_path):
    with pytest.raises(SaesepError, match="plain name"):
        train(track_folder, tmp_path / "m.pt", target="../bass", preset="tiny", progress=False)


def test_resume_with_another_target_is_refused_naming_the_difference(track_folder, tmp_path):
    import signal
    import time

    out, ckpt = tmp_path / "bass.pt", tmp_path / "bass.pt.ckpt"
    cmd = [sys.executable, "-m", "saesep", "train", "--data", str(track_folder), "--out", str(out),
           "--preset", "tiny", "-q", "--checkpoint-minutes", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ckpt.exists()
    res = subprocess.run(cmd + ["--resume", "--target", "drums", "--seed", "7"], capture_output=True, text=True)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "--target bass (asked: drums)" in res.stderr and "--seed" in res.stderr


def test_a_scripts_setting_reads_numbers_and_names_as_the_config_does():
    from saesep.config import parse_setting

    assert parse_setting("iters-per-layer=750") == ("iters_per_layer", 750)
    assert parse_setting("lr=1e-3") == ("lr", 0.001)
    assert parse_setting("lr_schedule=cosine") == ("lr_schedule", "cosine")
    with pytest.raises(SaesepError, match="KEY=VALUE"):
        parse_setting("cosine")
