"""Fuzzing the audio reader and model loader; odd but valid files; batch safety."""

import os
import pickle

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from saesep import audio
from saesep.cli import main
from saesep.errors import SaesepError
from saesep.model import load
from saesep.extract import extract_file
from saesep.separation import SeparationOptions

SENTINEL = "/tmp/saesep_pickle_ran"


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {SENTINEL}",))


def test_malicious_pickle_model_never_runs(tmp_path):
    if os.path.exists(SENTINEL):
        os.unlink(SENTINEL)
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": "saesep-model", "x": Evil()}, f)
    with pytest.raises(SaesepError, match="not a saesep model"):
        load(path)
    import torch

    torch.save({"format": "saesep-model", "x": Evil()}, tmp_path / "evil2.pt")
    with pytest.raises(SaesepError, match="not a saesep model"):
        load(tmp_path / "evil2.pt")
    assert not os.path.exists(SENTINEL)


def test_fuzzed_model_files(tmp_path, tiny_model):
    good = tiny_model[0].read_bytes()
    rng = np.random.default_rng(0)
    for i in range(20):
        path = tmp_path / f"m{i}.pt"
        if i < 5:
            data = rng.bytes(int(rng.integers(0, 5000)))
        elif i < 12:
            data = good[: int(rng.integers(0, len(good)))]  # truncated
        else:
            b = bytearray(good)
            for j in rng.integers(0, len(b), 20):
                b[j] = int(rng.integers(0, 256))
            data = bytes(b)
        path.write_bytes(data)
        try:
            load(path)
        except SaesepError:
            pass  # a clear error is fine; any other exception type is a bug


def test_fuzzed_audio_files(tmp_path, tiny_model):
    model = load(tiny_model[0])
    x = (0.1 * np.random.default_rng(1).standard_normal((22050, 2))).astype(np.float32)
    sf.write(tmp_path / "ok.wav", x, 22050)
    sf.write(tmp_path / "ok.flac", x, 22050)
    rng = np.random.default_rng(2)
    for ext in ("wav", "flac"):
        good = (tmp_path / f"ok.{ext}").read_bytes()
        for i in range(12):
            path = tmp_path / f"fz{i}.{ext}"
            if i < 4:
                path.write_bytes(rng.bytes(int(rng.integers(0, 3000))))
            elif i < 8:
                path.write_bytes(good[: int(rng.integers(0, len(good)))])
            else:
                b = bytearray(good)
                for j in rng.integers(0, len(b), 50):
                    b[j] = int(rng.integers(0, 256))
                path.write_bytes(bytes(b))
            try:
                res = extract_file(path, model, tmp_path / "out")
                # if it decoded, the output matches what was decoded
                assert sf.info(res.outputs["bass"]).frames == audio.info(path).frames
            except SaesepError:
                pass


@pytest.mark.parametrize("sr,channels,n", [(22050, 2, 1), (22050, 1, 2), (8000, 1, 8000), (192000, 2, 40000),
                                           (44100, 8, 30000)])
def test_odd_but_valid_files(tmp_path, tiny_model, sr, channels, n):
    model = load(tiny_model[0])
    x = (0.1 * np.random.default_rng(3).standard_normal((n, channels))).astype(np.float32)
    sf.write(tmp_path / "odd.wav", x, sr)
    res = extract_file(tmp_path / "odd.wav", model, tmp_path / "out", SeparationOptions(residual=True))
    for p in res.outputs.values():
        i = sf.info(p)
        assert (i.samplerate, i.channels, i.frames) == (sr, channels, n)


def test_batch_reports_bad_files_and_keeps_good_results(tmp_path, tiny_model):
    x = (0.1 * np.random.default_rng(4).standard_normal((22050, 2))).astype(np.float32)
    sf.write(tmp_path / "a.wav", x, 22050)
    sf.write(tmp_path / "c.wav", x, 22050)
    sf.write(tmp_path / "nan.wav", np.full((100, 2), np.nan, np.float32), 22050, subtype="FLOAT")
    (tmp_path / "b.wav").write_bytes(b"\x00" * 100)
    res = CliRunner().invoke(main, ["extract", str(tmp_path), "-m", str(tiny_model[0]), "-o", str(tmp_path / "out"),
                                    "--json", "-j", "2"])
    assert res.exit_code == 1
    assert (tmp_path / "out" / "a" / "bass.wav").exists() and (tmp_path / "out" / "c" / "bass.wav").exists()
    assert not (tmp_path / "out" / "nan").exists() or not list((tmp_path / "out" / "nan").iterdir())
    # rerun with --skip-existing: finished files are not redone
    res2 = CliRunner().invoke(main, ["extract", str(tmp_path / "a.wav"), "-m", str(tiny_model[0]), "-o",
                                     str(tmp_path / "out"), "--json", "--skip-existing"])
    assert res2.exit_code == 0 and '"status": "skipped"' in res2.output


def test_stdin_paths(tmp_path, tiny_model):
    x = (0.1 * np.random.default_rng(5).standard_normal((22050, 1))).astype(np.float32)
    sf.write(tmp_path / "s1.wav", x, 22050)
    res = CliRunner().invoke(main, ["extract", "-", "-m", str(tiny_model[0]), "-o", str(tmp_path / "o"), "-q"],
                             input=f"{tmp_path / 's1.wav'}\n")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "s1" / "bass.wav").exists()
