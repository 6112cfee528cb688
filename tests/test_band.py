"""The band style of the corpus: stems sum to the mixture after every effect, splits that test generalisation."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from conftest import FLUIDSYNTH, require

require("music21", FLUIDSYNTH)
require("fluidsynth", FLUIDSYNTH)
require("mido", "pip install 'saesep[corpus]'")
if shutil.which("mma") is None:
    pytest.skip("mma unavailable; install: apt-get install mma avldrums.lv2-soundfont csound-soundfont "
                "musescore-general-soundfont-small", allow_module_level=True)

from saesep import band, corpus  # noqa: E402
from saesep.datasets import find_tracks  # noqa: E402
from saesep.errors import SaesepError  # noqa: E402

try:
    for _fonts in corpus.BAND_SOUNDFONTS.values():
        for _font in _fonts.split(","):
            corpus.find_soundfont(_font)
except SaesepError as e:
    pytest.skip(f"{e}", allow_module_level=True)


@pytest.fixture(scope="module")
def band_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("band")
    return out, corpus.build(out, "tiny", seed=0, jobs=2, progress=False, style="band")


def test_every_role_sounds_and_the_stems_sum_exactly_to_the_mixture(band_corpus):
    out, meta = band_corpus
    assert meta["failed"] == 0 and meta["style"] == "band"
    for split, n in corpus.BAND_SIZES["tiny"].tracks.items():
        for t in find_tracks(out, split):
            mix, _ = sf.read(t.mixture, dtype="int16", always_2d=True)
            total = np.zeros(mix.shape, np.int32)
            assert set(t.stems) == {"bass", "lead", "other", "drums"}
            for path in t.stems.values():
                a, _ = sf.read(path, dtype="int16", always_2d=True)
                assert np.abs(a).max() > 100
                total += a
            np.testing.assert_array_equal(total, mix)


def test_test_split_has_its_own_tunes_grooves_font_and_kit(band_corpus):
    out, _ = band_corpus
    recs = json.loads((out / "corpus.json").read_text())["tracks"]
    test = [r for r in recs if r["split"] == "test"]
    rest = [r for r in recs if r["split"] != "test"]
    assert not {r["info"]["tune"] for r in test} & {r["info"]["tune"] for r in rest}
    assert not {r["info"]["groove_file"] for r in test} & {r["info"]["groove_file"] for r in rest}
    assert {r["soundfont"] for r in test} == {"TimGM6mb.sf2"}
    kits = lambda rs: {r["drum_kit"]["font"] for r in rs}  # noqa: E731
    assert "Black_Pearl_4_LV2.sf2" not in kits(test) and "Red_Zeppelin_4_LV2.sf2" not in kits(rest)
    whole = band.split_grooves()
    assert not set(whole["test"]) & set(whole["train"])


def test_train_songs_take_the_split_soundfonts_in_turn():
    fonts = corpus.BAND_SOUNDFONTS["train"].split(",")
    train = corpus.plans("small", 0, splits=["train"], style="band")
    assert [p.soundfont for p in train[:6]] == fonts + fonts


def test_the_channel_strip_changes_the_tone_and_records_it():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 44100)).astype(np.float32) * 0.1
    y, fx = band.colour(x, "bass", "electric bass (finger)", np.random.default_rng(1), 44100)
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    assert {"highpass_hz", "peak"} <= set(fx)
    # the high-pass removes what lies well below its corner
    spec = lambda a: np.abs(np.fft.rfft(a[0]))  # noqa: E731
    low = slice(1, max(2, fx["highpass_hz"] // 4))
    assert spec(y)[low].mean() < 0.5 * spec(x)[low].mean()


def test_the_bus_limiter_keeps_the_mixture_under_its_ceiling():
    rng = np.random.default_rng(0)
    mix = rng.standard_normal((2, 44100)).astype(np.float32)
    curve, info = band.bus_gain(mix, 44100, level_db=-8.0, ceiling=0.89)
    assert np.abs(mix * curve).max() <= 0.89 + 1e-6 and info["max_reduction_db"] > 0


def test_same_seed_same_song(band_corpus, tmp_path):
    out, _ = band_corpus
    corpus.build(tmp_path, "tiny", seed=0, jobs=1, progress=False, splits=["valid"], style="band")
    for plan in corpus.plans("tiny", 0, splits=["valid"], style="band"):
        for f in (out / plan.split / plan.name).glob("*.flac"):
            x, _ = sf.read(f, dtype="int16")
            y, _ = sf.read(tmp_path / plan.split / plan.name / f.name, dtype="int16")
            np.testing.assert_array_equal(x, y)


def test_a_missing_mma_is_one_line_naming_the_package(monkeypatch):
    monkeypatch.setattr(band.shutil, "which", lambda name: None)
    with pytest.raises(band.SaesepError, match="apt-get install mma"):
        band.check_tools()
