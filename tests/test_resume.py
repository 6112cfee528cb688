"""Killing a training run and resuming it gives the same model as an uninterrupted run."""

import signal
import subprocess
import sys
import time

import pytest
import torch

from saesep.model import load


@pytest.mark.parametrize("minutes", ["10", "0"])  # stage-boundary checkpoints only, or also mid-stage
def test_killed_run_resumes_to_the_same_model(track_folder, tiny_model, tmp_path, minutes):
    _, reference = tiny_model  # same data, preset and seed, never interrupted
    out = tmp_path / "bass.pt"
    ckpt = tmp_path / "bass.pt.ckpt"
    cmd = [sys.executable, "-m", "saesep", "train", "--data", str(track_folder), "--target", "bass",
           "--out", str(out), "--preset", "tiny", "-q", "--checkpoint-minutes", minutes]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert ckpt.exists(), "no checkpoint was written"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    res = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert not ckpt.exists()  # removed once training completed
    resumed = load(out)
    for a, b in zip(reference.net.state_dict().values(), resumed.net.state_dict().values()):
        assert torch.equal(a, b)
    def untimed(curve):
        return [{k: v for k, v in p.items() if k != "seconds"} for p in curve]

    assert untimed(resumed.history["curve"]) == untimed(reference.history["curve"])
    secs = [p["seconds"] for p in resumed.history["curve"]]
    assert secs == sorted(secs), "the training clock runs on across the resume"


def test_resume_without_checkpoint_is_a_clear_error(track_folder, tmp_path):
    res = subprocess.run([sys.executable, "-m", "saesep", "train", "--data", str(track_folder), "--out",
                          str(tmp_path / "x.pt"), "--resume"], capture_output=True, text=True)
    assert res.returncode != 0 and "nothing to resume" in res.stderr and "Traceback" not in res.stderr
