"""The corpus builder: stems sum to the mixture, split rule, determinism."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from conftest import FLUIDSYNTH, require  # noqa: E402

require("music21", FLUIDSYNTH)
require("fluidsynth", FLUIDSYNTH)

from saesep import corpus  # noqa: E402
from saesep.datasets import find_tracks  # noqa: E402


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    meta = corpus.build(out, "tiny", seed=0, jobs=2, progress=False)
    return out, meta


def test_layout_and_exact_mixture(tiny_corpus):
    out, meta = tiny_corpus
    assert meta["failed"] == 0
    for split, n in corpus.SIZES["tiny"].tracks.items():
        tracks = find_tracks(out, split)
        assert len(tracks) == n
        for t in tracks:
            assert {"bass", "lead", "other"} <= set(t.stems) and t.mixture is not None
            mix, sr = sf.read(t.mixture, dtype="int16", always_2d=True)
            assert sr == 44100 and mix.shape[1] == 2
            total = np.zeros(mix.shape, np.int32)
            for stem, path in t.stems.items():
                a, sr2 = sf.read(path, dtype="int16", always_2d=True)
                assert a.shape == mix.shape and sr2 == sr
                # a role that is present is never silent
                assert np.abs(a).max() > 100, (t.name, stem)
                total += a
            np.testing.assert_array_equal(total, mix)  # mixture = exact sum of stems
            assert np.abs(mix).max() < 32767


def test_split_rule_pieces_and_soundfonts(tiny_corpus):
    out, _ = tiny_corpus
    meta = json.loads((out / "corpus.json").read_text())
    by_split = {}
    for r in meta["tracks"]:
        by_split.setdefault(r["split"], []).append(r)
    test_collections = {r["piece"].split("/")[0] for r in by_split["test"]}
    train_collections = {r["piece"].split("/")[0] for s in ("train", "valid") for r in by_split[s]}
    assert not test_collections & train_collections
    assert {r["soundfont"] for r in by_split["test"]} == {"TimGM6mb.sf2"}
    assert {r["soundfont"] for s in ("train", "valid") for r in by_split[s]} == {"FluidR3_GM.sf2"}
    # no piece shared between train and valid either
    assert not {r["piece"] for r in by_split["train"]} & {r["piece"] for r in by_split["valid"]}
    # the full split of pieces holds the same rule
    pieces = corpus.split_pieces()
    assert not set(pieces["test"]) & (set(pieces["train"]) | set(pieces["valid"]))


def test_same_seed_same_files(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    # rebuild one split with one worker: identical bytes of audio
    corpus.build(tmp_path, "tiny", seed=0, jobs=1, progress=False, splits=["valid"])
    for plan in corpus.plans("tiny", 0, splits=["valid"]):
        for f in (out / plan.split / plan.name).glob("*.flac"):
            a, _ = sf.read(f, dtype="int16")
            b, _ = sf.read(tmp_path / plan.split / plan.name / f.name, dtype="int16")
            np.testing.assert_array_equal(a, b)


def test_missing_soundfont_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(corpus, "SF2_DIRS", ("/nonexistent",))
    with pytest.raises(corpus.SaesepError, match="apt-get install"):
        corpus.find_soundfont("TimGM6mb.sf2")


def test_a_split_rendered_with_another_soundfont_differs_in_samples_only(tiny_corpus, tmp_path):
    out, meta = tiny_corpus
    other = corpus.build(tmp_path, "tiny", seed=0, jobs=1, progress=False,
                         soundfonts={"test": "FluidR3_GM.sf2"}, splits=["test"])
    assert other["soundfonts"] == {"test": "FluidR3_GM.sf2"} and set(other["splits"]) == {"test"}
    assert not (tmp_path / "train").exists()
    base = {r["name"]: r for r in meta["tracks"] if r["split"] == "test"}
    assert {r["name"] for r in other["tracks"]} == set(base)
    for r in other["tracks"]:
        b = base[r["name"]]
        # same piece, excerpt, instruments, gains and pans: only the samples differ
        for k in ("piece", "tempo_qpm", "start_quarter", "parts", "drums"):
            assert r[k] == b[k], k
        assert r["soundfont"] == "FluidR3_GM.sf2" and b["soundfont"] == "TimGM6mb.sf2"
        x, _ = sf.read(tmp_path / "test" / r["name"] / "lead.flac", dtype="int16")
        y, _ = sf.read(out / "test" / r["name"] / "lead.flac", dtype="int16")
        assert x.shape == y.shape and not np.array_equal(x, y)
    # another split built into the same folder later: both splits' records are kept
    both = corpus.build(tmp_path, "tiny", seed=0, jobs=1, progress=False, splits=["valid"])
    assert both["soundfonts"] == {"valid": "FluidR3_GM.sf2", "test": "FluidR3_GM.sf2"}
    assert both["splits"] == {"valid": 2, "test": 3} and len(both["tracks"]) == 5
    with pytest.raises(corpus.SaesepError, match="seed 0"):  # never mixed with another corpus
        corpus.build(tmp_path, "tiny", seed=1, jobs=1, progress=False, splits=["valid"])


def test_bad_soundfont_options_are_one_line_errors(tmp_path):
    from click.testing import CliRunner

    from saesep.cli import main

    for args, msg in ((["--soundfont", "test"], "SPLIT=FILE"), (["--soundfont", "tset=FluidR3_GM.sf2"], "unknown split"),
                      (["--soundfont", "test=nope.sf2"], "nope.sf2 not found")):
        res = CliRunner().invoke(main, ["corpus", "build", str(tmp_path / "c"), "-q", "--split", "test", *args])
        assert res.exit_code != 0 and msg in res.output and "Traceback" not in res.output, res.output


def test_a_rerun_reuses_finished_tracks_and_rebuilds_the_rest(tiny_corpus, tmp_path):
    out, meta = tiny_corpus
    copy = tmp_path / "c"
    shutil.copytree(out, copy)
    victim = copy / "train" / meta["tracks"][0]["name"]
    shutil.rmtree(victim)  # as if the build had been killed before this track
    kept = copy / "train" / meta["tracks"][1]["name"] / "lead.flac"
    stamp = kept.stat().st_mtime_ns
    again = corpus.build(copy, "tiny", seed=0, jobs=1, progress=False, splits=["train"])
    assert (victim / "mixture.flac").exists() and kept.stat().st_mtime_ns == stamp
    assert [r["name"] for r in again["tracks"] if r["split"] == "train"] == \
        [r["name"] for r in meta["tracks"] if r["split"] == "train"]


def test_notes_the_synth_drops_are_recorded_not_printed(capfd):
    # 140 long pad notes at once need more voices than fluidsynth has: it drops some and warns
    chord = [(0.0, 1.0, k, 100) for k in range(30, 100)] * 2
    log: list = []
    audio = corpus.render_part(corpus.find_soundfont("FluidR3_GM.sf2"), 89, chord, 44100, 64, log=log)
    assert np.abs(audio).max() > 0
    assert log and any("synthesis process" in m for m in log)
    assert corpus.synth_warnings(log)["synth_warnings"]["count"] == len(log)
    assert "fluidsynth" not in capfd.readouterr().err
