"""The shipped models: present, self-describing, and clearly better than passthrough on the demo song."""

import re

import numpy as np
import pytest

from saesep import audio, models
from saesep.model import load, load_payload
from saesep.demo import DEMO_DIR as DEMO
from saesep.separation import SeparationOptions, separate

ROLES = ("bass", "lead", "other", "drums")
MARGIN = 3.0  # dB over passthrough on the demo song, for every role


def sdr(ref, est):
    return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2))


@pytest.fixture(scope="module")
def demo_estimates():
    mix, sr = audio.read(DEMO / "mixture.flac")
    loaded = {r: load(p) for r, p in models.available().items()}
    return mix, sr, separate(mix, sr, loaded), separate(mix, sr, loaded, SeparationOptions(mask="soft"))


def test_every_role_is_shipped_small_and_self_describing():
    avail = models.available()
    assert set(ROLES) <= set(avail)
    for role in ROLES:
        meta, payload = load_payload(avail[role])
        assert meta["target"] == role
        networks = meta.get("networks", 1)  # lead: two seeds averaged
        # float16: 10.5 MB per network of 1026 hidden units, 4.8 MB with 513, bass 0.8 MB
        assert avail[role].stat().st_size < 12e6 * networks
        assert meta["spectral"]["sample_rate"] == 44100 and meta["n_layers"] >= 1
        m = meta["meta"]
        assert "command" in m and m["seed"] == 0 and "test_sdr" in m and "versions" in m
        histories = [x["history"] for x in meta["history"]["members"]] if networks > 1 else [meta["history"]]
        assert len(histories) == networks and all(h["layers_added"] for h in histories), "training history is stored"


def test_the_models_command_lists_every_role_with_its_test_figures():
    from click.testing import CliRunner

    from saesep.cli import main

    res = CliRunner().invoke(main, ["models"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted(ROLES)
    assert all("test SDR" in line and "nan" not in line for line in lines)


@pytest.mark.parametrize("role", ROLES)
def test_demo_sdr_beats_passthrough(demo_estimates, role):
    mix, _, plain, soft = demo_estimates
    ref, _ = audio.read(DEMO / f"{role}.flac")
    gain = sdr(ref, plain[role]) - sdr(ref, mix)
    assert gain > MARGIN, f"{role}: only {gain:.2f} dB over passthrough"
    assert sdr(ref, soft[role]) - sdr(ref, mix) > MARGIN


def test_demo_command(tmp_path):
    from click.testing import CliRunner

    from saesep.cli import main

    import soundfile as sf

    song = tmp_path / "song"  # the demo's first 6 s: the command's wiring (the models' quality: above)
    song.mkdir()
    for f in DEMO.glob("*.flac"):
        x, sr = sf.read(f, frames=6 * 44100)
        sf.write(song / f.name, x, sr)
    res = CliRunner().invoke(main, ["demo", "-o", str(tmp_path / "out"), "--song", str(song)])
    assert res.exit_code == 0, res.output
    lines = [l for l in res.output.splitlines() if "SDR" in l and "passthrough" in l]
    assert len(lines) == 8
    for line in lines:  # every role, with either mask, above passthrough
        sdr_db, passthrough = map(float, re.search(r"SDR +(-?[\d.]+) dB +\(passthrough +(-?[\d.]+) dB", line).groups())
        assert sdr_db > passthrough, line
    out = tmp_path / "out" / "default"
    assert sorted(p.name for p in out.iterdir()) == ["bass.wav", "drums.wav", "lead.wav", "other.wav"]
