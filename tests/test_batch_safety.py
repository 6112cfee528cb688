"""Batch runs: no input overwritten, nothing written outside -o, one-line errors while the batch goes on."""

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from saesep.cli import main

SR = 22050


def _song(path, seconds=0.5, channels=2, scale=0.1, seed=0):
    x = (scale * np.random.default_rng(seed).standard_normal((int(seconds * SR), channels))).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(os.fsencode(path), x, SR, subtype="FLOAT" if path.suffix == ".wav" else None)
    return path


def _hashes(root):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _extract(*args, input=None):
    return CliRunner().invoke(main, ["extract", *map(str, args), "-q"], input=input)


def _files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_extract_into_the_input_folder_leaves_every_input_unchanged(tiny_model, tmp_path):
    tracks = tmp_path / "tracks"
    for t in ("t01", "t02"):
        for stem in ("mixture", "bass", "drums"):
            _song(tracks / t / f"{stem}.wav", seed=hash(stem) % 100)
    before = _hashes(tracks)
    res = _extract(tracks, "-m", tiny_model[0], "-o", tracks)
    after = _hashes(tracks)
    assert all(after[p] == h for p, h in before.items())
    assert res.exit_code == 1 and "would overwrite an input" in res.output


def test_two_inputs_with_one_output_name_never_replace_an_input(tiny_model, tmp_path):
    _song(tmp_path / "song.wav", seed=1)
    _song(tmp_path / "song.flac", seed=2)
    before = _hashes(tmp_path)
    _extract(tmp_path / "song.flac", tmp_path / "song.wav", "-m", tiny_model[0], "-o", tmp_path,
             "--filename", "{track}.{ext}")
    assert all(_hashes(tmp_path)[p] == h for p, h in before.items())


@pytest.mark.parametrize("template", ["../x_{track}.{ext}", "a/../../x_{track}.{ext}", "/tmp/x_{track}.{ext}"])
def test_a_template_cannot_write_outside_the_output_folder(tiny_model, tmp_path, template):
    song = _song(tmp_path / "in" / "song.wav")
    res = _extract(song, "-m", tiny_model[0], "-o", tmp_path / "in" / "out", "--filename", template)
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert _files(tmp_path) == [song]


def test_a_symlinked_subfolder_cannot_lead_outside_the_output_folder(tiny_model, tmp_path):
    song = _song(tmp_path / "song.wav")
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "song").symlink_to(tmp_path / "elsewhere")
    res = _extract(song, "-m", tiny_model[0], "-o", tmp_path / "out")
    assert res.exit_code == 1 and "outside the output folder" in res.output
    assert not any((tmp_path / "elsewhere").iterdir())


def _tampered_model(src, dst, **changes):
    payload = torch.load(src, weights_only=True)
    meta = json.loads(payload["meta_json"])
    meta.update(changes.pop("meta", {}))
    payload["meta_json"] = json.dumps(meta)
    for k, v in changes.items():
        payload[k] = v
    torch.save(payload, dst)
    return dst


def test_a_model_whose_target_is_a_path_is_refused(tiny_model, tmp_path):
    evil = _tampered_model(tiny_model[0], tmp_path / "evil.pt", meta={"target": "../../../x"})
    song = _song(tmp_path / "a" / "b" / "c" / "song.wav")
    res = _extract(song, "-m", evil, "-o", tmp_path / "a" / "b" / "c" / "out")
    assert res.exit_code == 1 and "not a plain name" in res.output
    assert _files(tmp_path) == sorted([evil, song])


def test_info_refuses_a_model_whose_target_is_a_path(tiny_model, tmp_path):
    evil = _tampered_model(tiny_model[0], tmp_path / "evil.pt", meta={"target": "../x"})
    res = CliRunner().invoke(main, ["info", str(evil)])
    assert res.exit_code == 1 and "not a plain name" in res.output and "Traceback" not in res.output


def test_a_model_with_nan_weights_is_refused(tiny_model, tmp_path):
    payload = torch.load(tiny_model[0], weights_only=True)
    key = next(iter(payload["state_dict"]))
    payload["state_dict"][key] = payload["state_dict"][key].clone().fill_(float("nan"))
    torch.save(payload, tmp_path / "nan.pt")
    res = _extract(_song(tmp_path / "s.wav"), "-m", tmp_path / "nan.pt", "-o", tmp_path / "out")
    assert res.exit_code == 1 and "NaN" in res.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("opt", [["--mask", "soft", "--mask-power", "nan"], ["--mask-power", "inf"],
                                 ["--rest-share", "nan"], ["--segment", "nan"], ["--segment", "inf"],
                                 ["--segment", "0"], ["--segment", "-1"], ["--niter", "-1"], ["--niter", "11"],
                                 ["--shifts", "0"], ["--shifts", "9"]])
def test_a_non_finite_or_useless_number_is_one_line(tiny_model, tmp_path, opt):
    res = _extract(_song(tmp_path / "s.wav"), "-m", tiny_model[0], "-o", tmp_path / "out", *opt)
    assert res.exit_code != 0 and "Traceback" not in res.output and res.output.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("template", ["{track", "{track:d}", "", "{song}", "{track!r}.{ext}"])
def test_a_bad_template_is_one_line(tiny_model, tmp_path, template):
    res = _extract(_song(tmp_path / "s.wav"), "-m", tiny_model[0], "-o", tmp_path / "out", "--filename", template)
    assert res.exit_code != 0 and res.output.startswith("Error:") and res.output.count("\n") == 1


def test_an_output_folder_that_cannot_be_made_fails_each_file_in_one_line(tiny_model, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder is needed")  # fails for root too, unlike chmod
    songs = [_song(tmp_path / f"s{i}.wav") for i in range(2)]
    res = _extract(*songs, "-m", tiny_model[0], "-o", blocker / "out")
    lines = res.output.strip().splitlines()
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert sum("s0.wav" in x for x in lines) == 1 and sum("s1.wav" in x for x in lines) == 1


def test_a_name_too_long_for_the_file_system_is_one_line_and_the_batch_goes_on(tiny_model, tmp_path):
    long = _song(tmp_path / ("x" * 245 + ".wav"))
    short = _song(tmp_path / "short.wav")
    res = _extract(long, short, "-m", tiny_model[0], "-o", tmp_path / "out", "--filename", "{track}-{target}-{target}.{ext}")
    assert res.exit_code == 1 and "too long" in res.output and "Traceback" not in res.output
    assert (tmp_path / "out" / "short-bass-bass.wav").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE and SIGXFSZ")
def test_a_write_that_fails_midway_like_a_full_disk_is_one_line_and_leaves_no_file(tiny_model, tmp_path):
    import resource
    import signal
    import subprocess

    def file_size_limit():  # writes past 200 kB fail with EFBIG, as they would on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    big = _song(tmp_path / "big.wav", seconds=10.0)  # 16-bit stereo output: 880 kB
    small = _song(tmp_path / "small.wav", seconds=0.2)
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "saesep", "extract", str(big), str(small), "-m", str(tiny_model[0]),
                          "-o", str(out), "-q"], preexec_fn=file_size_limit, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    [line] = [line for line in res.stderr.splitlines() if "big.wav" in line]
    assert "cannot write" in line and "full disk" in line
    assert _files(out) == [out / "small" / "bass.wav"]


def test_a_symlink_loop_among_the_inputs_is_one_line_and_the_batch_goes_on(tiny_model, tmp_path):
    (tmp_path / "in").mkdir()
    os.symlink(tmp_path / "in" / "b.wav", tmp_path / "in" / "a.wav")
    os.symlink(tmp_path / "in" / "a.wav", tmp_path / "in" / "b.wav")
    good = _song(tmp_path / "in" / "good.wav")
    res = _extract(tmp_path / "in" / "a.wav", good, "-m", tiny_model[0], "-o", tmp_path / "out")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert (tmp_path / "out" / "good" / "bass.wav").exists()


def test_a_nul_byte_on_stdin_is_one_line_and_the_batch_goes_on(tiny_model, tmp_path):
    good = _song(tmp_path / "good.wav")
    res = _extract("-", "-m", tiny_model[0], "-o", tmp_path / "out", input=f"bad\0name.wav\n{good}\n")
    assert res.exit_code == 1 and "NUL" in res.output and "Traceback" not in res.output
    assert (tmp_path / "out" / "good" / "bass.wav").exists()


def test_a_name_that_is_not_utf8_is_extracted(tiny_model, tmp_path):
    name = os.fsdecode(b"caf\xe9.wav")  # Latin-1 bytes
    song = _song(tmp_path / name)
    res = _extract(song, "-m", tiny_model[0], "-o", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert os.listdir(os.fsencode(tmp_path / "out")) == [b"caf\xe9"]


def test_json_gives_a_line_for_every_named_input(tiny_model, tmp_path):
    good = _song(tmp_path / "good.wav")
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(main, ["extract", str(good), str(tmp_path / "nothing*.wav"), str(tmp_path / "empty"),
                                    "-m", str(tiny_model[0]), "-o", str(tmp_path / "out"), "--json"])
    lines = [json.loads(x) for x in res.output.strip().splitlines() if x.startswith("{")]
    assert sorted(x["status"] for x in lines) == ["error", "error", "ok"]


def test_a_target_the_models_lack_is_refused(tiny_model, tmp_path, track_folder):
    from saesep.training import train

    drums = tmp_path / "drums.pt"
    train(track_folder, drums, target="drums", preset="tiny", progress=False, log=lambda m: None, iters_per_layer=5,
          finetune_iters=5, layers=1)
    res = _extract(_song(tmp_path / "s.wav"), "-m", tiny_model[0], "-m", drums, "-t", "lead", "-o", tmp_path / "out")
    assert res.exit_code == 1 and "-t lead" in res.output


def test_float_output_keeps_values_beyond_full_scale(tiny_model, tmp_path):
    song = _song(tmp_path / "loud.wav", seconds=1.0, scale=2.0)  # peaks near 8
    res = _extract(song, "-m", tiny_model[0], "-o", tmp_path / "out", "--bits", "float", "--residual")
    assert res.exit_code == 0, res.output
    x, _ = sf.read(song, dtype="float32")
    t, _ = sf.read(tmp_path / "out" / "loud" / "bass.wav", dtype="float32")
    r, _ = sf.read(tmp_path / "out" / "loud" / "residual.wav", dtype="float32")
    assert np.abs(r).max() > 1
    np.testing.assert_allclose(t + r, x, atol=1e-5)


def test_integer_output_says_how_much_it_clips(tiny_model, tmp_path):
    song = _song(tmp_path / "loud.wav", seconds=1.0, scale=2.0)
    res = CliRunner().invoke(main, ["extract", str(song), "-m", str(tiny_model[0]), "-o",
                                                    str(tmp_path / "out"), "--residual", "-q"])
    assert res.exit_code == 0
    assert "residual.wav': " in res.stderr and "clipped" in res.stderr


@pytest.mark.parametrize("ext", ["wav", "mp3"])
def test_a_truncated_file_is_refused(tiny_model, tmp_path, ext):
    if ext == "mp3" and "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3")
    full = tmp_path / f"full.{ext}"
    x = (0.1 * np.random.default_rng(0).standard_normal((3 * SR, 2))).astype(np.float32)
    sf.write(full, x, SR)
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    res = _extract(cut, "-m", tiny_model[0], "-o", tmp_path / "out")
    assert res.exit_code == 1 and "truncated" in res.output
    assert not (tmp_path / "out").exists() or not _files(tmp_path / "out")


def test_hidden_partial_files_of_a_killed_run_are_not_inputs(tiny_model, tmp_path):
    _song(tmp_path / "in" / "song.wav")
    _song(tmp_path / "in" / "song" / ".bass.k3j4.partial.wav")
    res = CliRunner().invoke(main, ["extract", str(tmp_path / "in"), "-m", str(tiny_model[0]), "-o",
                                    str(tmp_path / "out"), "--json"])
    assert res.exit_code == 0 and len(res.output.strip().splitlines()) == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc")
def test_sigterm_leaves_no_temporary_files_and_exits_143(tiny_model, tmp_path):
    import signal
    import subprocess
    import time

    song = tmp_path / "long.wav"
    sf.write(song, (0.1 * np.random.default_rng(0).standard_normal((600 * SR, 1))).astype(np.float32), SR)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "saesep", "extract", str(song), "-m", str(tiny_model[0]),
                             "-o", str(out), "--residual", "-q"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while proc.poll() is None and time.time() < deadline and not list(out.rglob("*.partial.*")):
        time.sleep(0.005)
    assert proc.poll() is None, "finished before it could be stopped"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "Traceback" not in err
    assert _files(out) == []


@pytest.fixture
def stop_handler():
    """The CLI's SIGTERM handler, installed for one test and restored after."""
    import signal

    from saesep.stops import on_stop_signal

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, on_stop_signal)
    yield
    for s, h in before.items():
        signal.signal(s, h)


def test_stop_while_the_temporary_file_is_created_leaves_no_file(stop_handler, tmp_path, monkeypatch):
    import signal
    import tempfile

    from saesep.errors import Stopped
    from saesep.files import atomic_output

    real = tempfile.mkstemp

    def mkstemp_then_stop(*args, **kwargs):  # the stop lands after the file exists, before its name returns
        made = real(*args, **kwargs)
        signal.raise_signal(signal.SIGTERM)
        return made

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp_then_stop)
    with pytest.raises(Stopped):
        with atomic_output(tmp_path / "out.wav"):
            pass
    assert list(tmp_path.iterdir()) == []


def test_a_held_stop_is_raised_when_the_section_ends(stop_handler):
    import signal

    from saesep import stops
    from saesep.errors import Stopped

    reached = False
    with pytest.raises(Stopped):
        with stops.held():
            signal.raise_signal(signal.SIGTERM)
            reached = True
    assert reached


def test_a_stop_held_in_another_thread_is_raised_in_the_main_thread(stop_handler):
    import signal
    import threading
    import time

    from saesep import stops
    from saesep.errors import Stopped

    entered, release = threading.Event(), threading.Event()

    def section():
        with stops.held():
            entered.set()
            release.wait(10)

    t = threading.Thread(target=section)
    t.start()
    entered.wait(10)
    signal.raise_signal(signal.SIGTERM)  # held: nothing raised here
    with pytest.raises(Stopped):
        release.set()
        t.join(10)
        for _ in range(100):  # the handler runs in the main thread at its next check
            time.sleep(0.01)
    assert not t.is_alive()


def test_a_failed_song_leaves_no_empty_output_folder(tiny_model, tmp_path):
    good = _song(tmp_path / "good.wav")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros((SR, 2), np.float32), SR)
    out = tmp_path / "out"
    res = _extract(good, silent, "-m", tiny_model[0], "-o", out)
    assert res.exit_code == 1 and "silent" in res.output
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == [Path("good"), Path("good") / "bass.wav"]


def test_a_run_whose_only_song_fails_leaves_no_output_folder(tiny_model, tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros((SR, 2), np.float32), SR)
    res = _extract(silent, "-m", tiny_model[0], "-o", tmp_path / "new" / "out")
    assert res.exit_code == 1
    assert not (tmp_path / "new").exists()
