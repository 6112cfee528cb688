import numpy as np
import pytest
import soundfile as sf
import torch

from saesep import spectral
from saesep.errors import SaesepError
from saesep.model import load
from saesep.extract import extract_file
from saesep.separation import SeparationOptions, separate
from saesep.training import train


def sdr(ref, est):
    return 10 * np.log10(np.sum(ref ** 2) / (np.sum((ref - est) ** 2) + 1e-12))


def test_training_reduces_validation_J_with_a_staircase(tiny_model):
    _, model = tiny_model
    h = model.history
    assert [e["layer"] for e in h["layers_added"]] == [1, 2]
    for ev in h["layers_added"]:
        assert ev["J_valid_after"] <= ev["J_valid_before"]  # LS init: the jump down
    assert h["stages"][-1]["J_valid"] < 0.5 * h["layers_added"][0]["J_valid_after"] or h["stages"][-1]["J_valid"] < h["layers_added"][0]["J_valid_after"]
    assert h["curve"][0]["J_valid"] == 1.0


def test_history_records_training_time_and_plots_against_it(tiny_model, tmp_path):
    from saesep.plot import plot_history

    h = tiny_model[1].history
    secs = [p["seconds"] for p in h["curve"]]
    assert secs[0] >= 0 and secs == sorted(secs) and secs[-1] > 0
    assert secs[-1] <= sum(st["seconds"] for st in h["stages"]) + 1.0  # time inside the stages
    for ev in h["layers_added"]:  # the jump is marked where the new layer's first point is
        assert any(p["seconds"] == ev["seconds"] and p["J_valid"] == ev["J_valid_after"] for p in h["curve"])
    plot_history([h, h], tmp_path / "t.png", labels=["a", "b"], x="seconds")
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    old = {"curve": [{k: v for k, v in p.items() if k != "seconds"} for p in h["curve"]], "layers_added": []}
    with pytest.raises(ValueError, match="older saesep"):
        plot_history(old, tmp_path / "old.png", x="seconds")


def test_extracted_bass_beats_passthrough(tiny_model, track_folder):
    path, _ = tiny_model
    model = load(path)
    gains = []
    for track in sorted((track_folder / "test").iterdir()):
        mix, sr = sf.read(track / "mixture.wav", dtype="float32", always_2d=True)
        bass, _ = sf.read(track / "bass.wav", dtype="float32", always_2d=True)
        est = separate(mix.T, sr, model)["bass"]
        gains.append(sdr(bass.T, est) - sdr(bass.T, mix.T))
    assert np.mean(gains) > 3.0, gains


def whole_file_reference(model, x, mask="ratio", power=2.0):
    """The estimate from the STFT of the whole file (librosa) → network → mask → ISTFT,
    written out from the definitions: ``ratio`` (the default) |Ŝ| at most |X| with the
    mixture phase, ``none`` |Ŝ| unbounded, ``soft`` X·Ŝᵖ/(Ŝᵖ + max(|X| − Ŝ, 0)ᵖ); with
    ``stereo="mid"`` the network sees |mean of the channels| and its ratio to that
    magnitude scales every channel."""
    cfg = model.spectral
    spec = spectral.stft(x, cfg)  # (C, bins, frames)
    mag = np.abs(spec)
    mid = cfg.stereo == "mid" and x.shape[0] > 1
    net_mag = np.abs(spec.mean(0, keepdims=True)) if mid else mag
    blocks = spectral.stack_context(torch.from_numpy(net_mag), cfg)
    est = model.estimate(blocks).numpy().reshape(net_mag.shape[0], -1, cfg.n_bins).transpose(0, 2, 1)
    if mid:
        est = np.minimum(est / np.maximum(net_mag, 1e-8), 1.0) * mag
    if mask == "ratio":
        out = np.minimum(est, mag) * spectral.phase(spec)
    elif mask == "none":
        out = est * spectral.phase(spec)
    else:
        out = spec * est ** power / (est ** power + np.maximum(mag - est, 0) ** power + 1e-12)
    return spectral.istft(out, cfg, x.shape[1])


@pytest.mark.parametrize("hop,max_freq", [(192, 0.0), (128, 3000.0)])
def test_streamed_equals_whole_file_for_any_hop_and_band(track_folder, hop, max_freq):
    """A hop that does not divide the frame (overlap-add frame by frame) and a band-limited
    network (masks and inverse FFT on its band only) stream to the whole-file result."""
    from saesep.config import SpectralConfig
    from saesep.model import Model, StackedDNN

    mix, sr = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    x = mix.T[:, : int(2.3 * sr) + 7]
    cfg = SpectralConfig(sample_rate=sr, n_fft=512, hop=hop, context=1, max_freq=max_freq)
    torch.manual_seed(0)
    net = StackedDNN(cfg.net_bins, cfg.context_frames)
    net.add_layer("random")
    model = Model(net.eval(), cfg, "bass")
    ref = whole_file_reference(model, x)
    streamed = separate(x, sr, model, SeparationOptions(segment_seconds=0.4, precision="float32"), block_seconds=0.3)["bass"]
    assert streamed.shape == x.shape
    assert np.abs(streamed - ref).max() < 1e-5  # the reference's estimate is zero above the band


def test_streamed_equals_whole_file_reference(tiny_model, track_folder):
    """Block-wise separation == STFT of the whole file → network → ISTFT."""
    _, model = tiny_model
    mix, sr = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    x = mix.T
    ref = whole_file_reference(model, x)
    streamed = separate(x, sr, model, SeparationOptions(segment_seconds=0.5, precision="float32"), block_seconds=0.3)["bass"]
    assert streamed.shape == x.shape
    assert np.abs(streamed - ref).max() < 1e-5
    # bfloat16 products (the default on CPUs with AMX): the same result to within -40 dB
    low = separate(x, sr, model, SeparationOptions(segment_seconds=0.5, precision="bfloat16"), block_seconds=0.3)["bass"]
    assert 10 * np.log10(((low - ref) ** 2).sum() / (ref ** 2).sum()) < -40
    # every mask: the block and segment sizes do not change the result
    for mask in ("none", "soft"):
        a = separate(x, sr, model, SeparationOptions(mask=mask, segment_seconds=0.5), block_seconds=0.3)["bass"]
        b = separate(x, sr, model, SeparationOptions(mask=mask, segment_seconds=30), block_seconds=30)["bass"]
        assert np.abs(a - b).max() < 1e-5, mask


@pytest.mark.parametrize("mask,stereo", [("none", "channels"), ("soft", "channels"), ("ratio", "mid"), ("soft", "mid")])
def test_every_mask_and_mid_stereo_stream_to_the_whole_file_result(tiny_model, track_folder, mask, stereo):
    """The streamed masks (torch, on the models' device) against the whole-file formulas."""
    import copy

    model = copy.deepcopy(tiny_model[1])
    model.spectral.stereo = stereo
    mix, sr = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    x = mix.T[:, : 3 * sr]
    assert x.shape[0] == 2
    ref = whole_file_reference(model, x, mask)
    opts = SeparationOptions(mask=mask, segment_seconds=0.5, precision="float32")
    streamed = separate(x, sr, model, opts, block_seconds=0.3)["bass"]
    assert streamed.shape == x.shape
    assert np.abs(streamed - ref).max() < 5e-5  # float32 rounding (the unbounded mask amplifies it)
    assert 10 * np.log10(((streamed - ref) ** 2).sum() / (ref ** 2).sum()) < -90
    # the masks differ from each other: each is checked against its own formula
    assert np.abs(whole_file_reference(model, x, "ratio" if mask != "ratio" else "soft") - ref).max() > 1e-3


@pytest.mark.parametrize("sr,channels", [(22050, 1), (44100, 2), (48000, 2), (44100, 1)])
def test_extract_keeps_length_rate_and_channels(tiny_model, tmp_path, sr, channels):
    path, _ = tiny_model
    rng = np.random.default_rng(sr + channels)
    n = int(1.3 * sr) + 7
    x = (0.1 * rng.standard_normal((n, channels))).astype(np.float32)
    song = tmp_path / "song.wav"
    sf.write(song, x, sr)
    res = extract_file(song, load(path), tmp_path / "out", SeparationOptions(residual=True))
    for name in ("bass", "residual"):
        info = sf.info(res.outputs[name])
        assert (info.samplerate, info.channels, info.frames) == (sr, channels, n)
    # residual + target == mixture (consistent in the STFT domain)
    b, _ = sf.read(res.outputs["bass"], dtype="float32", always_2d=True)
    r, _ = sf.read(res.outputs["residual"], dtype="float32", always_2d=True)
    assert np.abs(b + r - x).max() < 2e-3  # 16-bit quantisation of both files


def test_same_seed_same_model(track_folder, tmp_path, tiny_model):
    """Same seed, same model — also when 2 loader processes draw the batches (the fixture used none)."""
    _, first = tiny_model
    again = train(track_folder, tmp_path / "again.pt", target="bass", preset="tiny", progress=False, log=lambda m: None,
                  workers=2)
    assert first.meta["workers"] == 0 and again.meta["workers"] == 2
    for a, b in zip(first.net.state_dict().values(), again.net.state_dict().values()):
        assert torch.equal(a, b)
    assert [p["J_valid"] for p in first.history["curve"]] == [p["J_valid"] for p in again.history["curve"]]


def test_validation_on_another_track_folder(track_folder, tmp_path, tiny_model):
    """--valid: J_valid is measured on those tracks (here the test split), the training data is unchanged."""
    _, first = tiny_model
    m = train(track_folder, tmp_path / "v.pt", target="bass", preset="tiny", valid=track_folder / "test",
              progress=False, log=lambda m: None)
    assert m.meta["valid_data"] == "test" and first.meta["valid_data"] is None  # the folder by name
    # the same training blocks give the same LS init (later the weights kept at the best J_valid differ)
    assert [p["J_train"] for p in m.history["curve"][:2]] == [p["J_train"] for p in first.history["curve"][:2]]
    assert m.history["layers_added"][0]["J_valid_after"] != first.history["layers_added"][0]["J_valid_after"]
    # resuming with other validation tracks than the interrupted run's is refused
    import shutil
    shutil.copy(tiny_model[0], tmp_path / "r.pt.ckpt")
    with pytest.raises(SaesepError, match="validated on DATA/valid"):
        train(track_folder, tmp_path / "r.pt", target="bass", preset="tiny", valid=track_folder / "test", resume=True,
              progress=False, log=lambda m: None)
    empty = tmp_path / "empty" / "t0"
    empty.mkdir(parents=True)
    sf.write(empty / "drums.wav", np.zeros((100, 2), np.float32), 22050)
    with pytest.raises(SaesepError, match="'bass'"):
        train(track_folder, tmp_path / "w.pt", target="bass", preset="tiny", valid=empty.parent, progress=False,
              log=lambda m: None)


def test_identity_init_shows_no_jump(track_folder, tmp_path):
    m = train(track_folder, tmp_path / "id.pt", target="bass", preset="tiny", init="identity", layers=2,
              iters_per_layer=20, finetune_iters=0, progress=False, log=lambda m: None)
    ev = m.history["layers_added"]
    assert ev[0]["J_valid_after"] == pytest.approx(1.0)  # identity on the centre frame: J = 1
    assert ev[1]["J_valid_after"] == pytest.approx(ev[1]["J_valid_before"], rel=1e-6)


def test_lbfgs_paper_schedule_runs(track_folder, tmp_path):
    m = train(track_folder, tmp_path / "lb.pt", target="bass", preset="uhlich2015", layers=2, iters_per_layer=5,
              finetune_iters=5, samples=2048, valid_samples=1024, monitor_samples=1024, eval_every=5,
              pool_tracks=4, progress=False, log=lambda m: None)
    st = m.history["stages"]
    assert len(st) == 3 and st[-1]["J_valid"] < 1.0
    assert m.spectral.window == "rectangular" and m.spectral.sample_rate == 32000



def test_loader_process_errors_arrive_as_one_line(track_folder):
    from saesep.config import preset
    from saesep.datasets import find_tracks
    from saesep.errors import SaesepError
    from saesep.loader import BatchSource, SamplerSpec

    p = preset("tiny")
    src = BatchSource(SamplerSpec(find_tracks(track_folder, "train"), "nosuch", p.spectral, p.train, [0]), workers=1)
    try:
        with pytest.raises(SaesepError, match="'nosuch' stems drawn for training are silent"):
            src.next(16)
    finally:
        src.close()
    assert not src.procs


def test_warmup_starts_adam_gently(track_folder, tmp_path):
    """With a very long warm-up the learning rate stays ~0: the stage keeps the LS layer's J;
    without it the same 20 Adam steps move J."""
    kw = dict(target="bass", preset="tiny", layers=1, iters_per_layer=20, finetune_iters=0, eval_every=20,
              patience=1000, progress=False, log=lambda m: None)
    slow = train(track_folder, tmp_path / "slow.pt", warmup_iters=10**9, **kw)
    fast = train(track_folder, tmp_path / "fast.pt", **kw)
    ls_j = slow.history["layers_added"][0]["J_train_after"]
    assert fast.history["layers_added"][0]["J_train_after"] == ls_j  # same LS layer
    assert abs(slow.history["curve"][-1]["J_train"] - ls_j) < 1e-6 * ls_j * 100
    assert abs(fast.history["curve"][-1]["J_train"] - ls_j) > 1e-3 * ls_j


def test_a_collapse_restores_the_best_weights_and_lowers_the_learning_rate(track_folder, tmp_path):
    """Adam at lr 0.3 throws the LS-initialised ReLU network far off (J_valid ×10 in 10
    steps). The stage goes back to its best weights and carries on at lr/10, then lr/100,
    and ends as good as a sane learning rate; with no drop allowed the stage stops at once
    and keeps its LS weights instead of the collapsed ones."""
    kw = dict(target="bass", preset="tiny", iters_per_layer=60, finetune_iters=0, eval_every=10,
              progress=False, log=lambda m: None)
    sane = train(track_folder, tmp_path / "sane.pt", **kw)
    hot = train(track_folder, tmp_path / "hot.pt", lr=0.3, **kw)
    drops = hot.history["lr_drops"]
    assert [d["lr"] for d in drops] == pytest.approx([0.03, 0.003])
    assert all(d["J_valid"] > 2 * hot.history["layers_added"][0]["J_valid_after"] for d in drops)
    for st, add in zip(hot.history["stages"], hot.history["layers_added"]):
        assert st["J_valid"] <= add["J_valid_after"]  # never worse than where the stage started
    assert hot.history["stages"][-1]["J_valid"] < 1.2 * sane.history["stages"][-1]["J_valid"]
    assert "lr_drops" not in sane.history
    assert load(tmp_path / "hot.pt").history["lr_drops"] == drops  # kept in the model file
    from click.testing import CliRunner

    from saesep.cli import main
    shown = CliRunner().invoke(main, ["info", str(tmp_path / "hot.pt")]).output
    assert "collapse in layer 1 at it 10: best weights restored, learning rate 0.03" in shown
    from saesep.plot import plot_history
    for x in ("iteration", "seconds"):  # the collapses are marked on the staircase
        plot_history(hot.history, tmp_path / f"hot_{x}.png", x=x)
        assert (tmp_path / f"hot_{x}.png").stat().st_size > 10_000

    none = train(track_folder, tmp_path / "none.pt", lr=0.3, max_lr_drops=0, layers=1, **kw)
    assert none.history["stages"][0]["iterations"] == 10
    assert none.history["stages"][0]["J_valid"] == none.history["layers_added"][0]["J_valid_after"]
    assert none.history["curve"][-1]["J_valid"] == none.history["layers_added"][0]["J_valid_after"]


def test_training_pools_the_tracks_of_several_folders(track_folder, tmp_path):
    """--data A --data B: the training tracks of both folders, validation on A's valid/;
    the model file records both folders; a second folder without the target is an error."""
    from click.testing import CliRunner

    from saesep.cli import main
    from saesep.config import TrainConfig, preset
    from saesep.training import Trainer
    from conftest import write_track_folder

    # other audio than track_folder's train tracks (seeds 9-11), under the same names track00-track02
    second = write_track_folder(tmp_path / "second", splits=(("valid", 9), ("train", 3)))
    p = preset("tiny")
    tr = Trainer([track_folder, second], p.spectral, TrainConfig(**{**p.train.__dict__, "target": "bass"}),
                 progress=False, log=lambda m: None)
    try:
        paths = [t.path for t in tr.source.spec.tracks]
    finally:
        tr.source.close()
    assert paths == sorted((track_folder / "train").iterdir()) + sorted((second / "train").iterdir())
    from saesep.datasets import BlockSampler, find_tracks

    def pooled_energy(tracks):  # every track in one pool (channel mean): the target's total spectral energy
        bs = BlockSampler(tracks, "bass", p.spectral, TrainConfig(**{**p.train.__dict__, "target": "bass"}), seed=0)
        bs._load_pool(list(range(len(tracks))), np.full(len(tracks), 0.99))
        return float((bs.spec["bass"].double() ** 2).sum())

    a, b = find_tracks(track_folder, "train"), find_tracks(second, "train")
    assert pooled_energy(a + b) == pytest.approx(pooled_energy(a) + pooled_energy(b), rel=1e-5)
    out = tmp_path / "m.pt"
    res = CliRunner().invoke(main, ["train", "--data", str(track_folder), "--data", str(second), "--out", str(out),
                                    "--preset", "tiny", "--iters-per-layer", "10", "--finetune-iters", "0", "-q"])
    assert res.exit_code == 0, res.output
    assert load(out).meta["data"] == [track_folder.name, second.name]  # names, not this machine's paths
    for t in (second / "train").iterdir():
        (t / "bass.wav").unlink()
    res = CliRunner().invoke(main, ["train", "--data", str(track_folder), "--data", str(second), "--out", str(out) + "2",
                                    "--preset", "tiny", "-q"])
    assert res.exit_code != 0 and "has a 'bass' stem" in res.output and "Traceback" not in res.output


def test_fixed_sets_are_rank_major(track_folder):
    """With emulated ranks, a fixed set holds rank 0's blocks first, as rank 0's process does."""
    from saesep.config import preset
    from saesep.datasets import MONITOR, find_tracks
    from saesep.loader import BatchSource, SamplerSpec

    p = preset("tiny")
    tracks = find_tracks(track_folder, "train")
    two = BatchSource(SamplerSpec(tracks, "bass", p.spectral, p.train, [0, 1000])).fixed(300, MONITOR, batch=128)
    one = BatchSource(SamplerSpec(tracks, "bass", p.spectral, p.train, [0])).fixed(300, MONITOR, batch=128)
    other = BatchSource(SamplerSpec(tracks, "bass", p.spectral, p.train, [1000])).fixed(300, MONITOR, batch=128)
    assert torch.equal(two[0][:300], one[0]) and torch.equal(two[0][300:], other[0])
    assert torch.equal(two[1][:300], one[1])


@pytest.mark.parametrize("mode", ["independent", "aligned"])
def test_random_eq_reshapes_spectra_and_a_flat_eq_changes_nothing(track_folder, mode):
    """eq_db > 0 equalises every stem of a block; with a ~0 dB range the blocks equal the
    plain ones (in aligned mode the mixture is rebuilt as target + rest)."""
    from saesep.config import preset
    from saesep.datasets import BlockSampler, find_tracks

    p = preset("tiny")
    tracks = find_tracks(track_folder, "train")

    def draw(eq_db):
        p.train.eq_db = eq_db
        return BlockSampler(tracks, "bass", p.spectral, p.train, seed=3, mode=mode).sample(64, index=5)

    x0, s0 = draw(0.0)
    xf, sf_ = draw(1e-6)
    xe, se = draw(12.0)
    assert xe.shape == x0.shape and se.shape == s0.shape
    if mode == "aligned":  # same blocks: only the equalisation differs
        torch.testing.assert_close(xf, x0, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(sf_, s0, rtol=1e-4, atol=1e-6)
    assert not torch.allclose(xe, x0, rtol=1e-2)
    assert torch.equal(draw(12.0)[0], xe)  # deterministic
    if mode == "aligned":
        # the same target frames, each bin scaled by ±12 dB at most (one constant per block from γ):
        # within a block the gains span at most 24 dB, and they do vary
        loud = s0 > 1e-3 * s0.amax(1, keepdim=True)
        rows = loud.sum(1) > 10  # blocks where the target sounds
        assert int(rows.sum()) > 10
        ratio = torch.where(loud, se / s0.clamp_min(1e-12), torch.nan)[rows]
        span = 20 * torch.log10(ratio.nan_to_num(-torch.inf).amax(1) / ratio.nan_to_num(torch.inf).amin(1))
        assert float(span.max()) <= 24.01 and float(span.median()) > 3


def test_models_with_different_stft_settings_separate_together(tiny_model, track_folder):
    """Each model's output is what it gives alone (the soft mask is shared only within one STFT
    setting); outputs and residual keep the exact length."""
    from saesep.config import SpectralConfig
    from saesep.model import Model, StackedDNN

    _, bass = tiny_model
    cfg = SpectralConfig(**{**bass.spectral.__dict__, "n_fft": bass.spectral.n_fft * 2, "hop": bass.spectral.hop * 2,
                            "sample_rate": 16000})
    torch.manual_seed(0)
    net = StackedDNN(cfg.n_bins, cfg.context_frames)
    net.add_layer("random")
    other = Model(net.eval(), cfg, "other")
    mix, sr = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    x = mix.T[:, : int(2.7 * sr) + 5]
    for mask in ("ratio", "soft"):
        opts = SeparationOptions(mask=mask, residual=True, segment_seconds=0.5, precision="float32")
        both = separate(x, sr, {"bass": bass, "other": other}, opts, block_seconds=0.3)
        assert set(both) == {"bass", "other", "residual"}
        for name, m in (("bass", bass), ("other", other)):
            alone = separate(x, sr, m, opts, block_seconds=0.3)[name]
            assert both[name].shape == x.shape
            assert np.abs(both[name] - alone).max() < 1e-6, (mask, name)
        assert np.abs(both["residual"] - (x - both["bass"] - both["other"])).max() < 1e-6


def test_band_limited_model_trains_separates_and_shares_the_stft(track_folder, tmp_path, tiny_model):
    """--max-freq: a network on the bins up to 1 kHz (24 of 257) learns the bass (41-600 Hz),
    its file records the band, its output is silent above it, and it separates in one
    pass with a full-band model of the same STFT."""
    from saesep.separation import stft_groups

    out = tmp_path / "band.pt"
    band = train(track_folder, out, target="bass", preset="tiny", max_freq=1000, progress=False, log=lambda m: None)
    model = load(out)
    assert model.net.n_bins == model.spectral.net_bins == 24 and model.spectral.max_freq == 1000
    assert band.net.layers[0].in_features == 24 * model.spectral.context_frames
    gains, highs = [], []
    cfg = model.spectral
    for track in sorted((track_folder / "test").iterdir()):
        mix, sr = sf.read(track / "mixture.wav", dtype="float32", always_2d=True)
        bass, _ = sf.read(track / "bass.wav", dtype="float32", always_2d=True)
        est = separate(mix.T, sr, model)["bass"]
        gains.append(sdr(bass.T, est) - sdr(bass.T, mix.T))
        power = np.abs(spectral.stft(est, cfg)) ** 2
        # beyond the window's main lobe only what the frame-to-frame changes of the mask spread
        highs.append(power[:, cfg.net_bins + 3:].sum() / power.sum())
    assert np.mean(gains) > 3.0, gains
    assert max(highs) < 1e-4, highs  # the mixture has ~8 % of its power there (noise bursts, chords' harmonics)
    full = tiny_model[1]
    other = load(out)
    other.target = "other"
    assert len(stft_groups({"bass": full, "other": other})) == 1


def test_other_takes_half_of_what_the_four_roles_leave(tiny_model, track_folder):
    """rest_to: with bass, lead, drums and other together, other is the average of its own
    estimate and the mixture minus the other three; outputs picks what is returned, the
    residual is the mixture minus what is returned; bad settings are one-line errors."""
    from saesep.model import Model, StackedDNN

    _, bass = tiny_model
    torch.manual_seed(1)
    models = {"bass": bass}
    for role in ("lead", "other", "drums"):
        net = StackedDNN(bass.spectral.net_bins, bass.spectral.context_frames)
        net.add_layer("random")
        models[role] = Model(net.eval(), bass.spectral, role)
    mix, sr = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    x = mix.T[:, : int(1.7 * sr) + 3]
    kw = dict(segment_seconds=0.5, precision="float32")
    plain = separate(x, sr, models, SeparationOptions(rest_to=None, **kw), block_seconds=0.3)
    auto = separate(x, sr, models, SeparationOptions(**kw), block_seconds=0.3)
    rest = x - sum(plain.values())
    assert np.abs(auto["other"] - (plain["other"] + 0.5 * rest)).max() < 1e-5
    for role in ("bass", "lead", "drums"):
        assert np.array_equal(auto[role], plain[role])
    share = separate(x, sr, models, SeparationOptions(rest_to="lead", rest_share=1.0, **kw), block_seconds=0.3)
    assert np.abs(share["lead"] - (plain["lead"] + rest)).max() < 1e-5
    only = separate(x, sr, models, SeparationOptions(outputs=("other",), residual=True, **kw), block_seconds=0.3)
    assert set(only) == {"other", "residual"}
    assert np.abs(only["other"] - auto["other"]).max() < 1e-6
    assert np.abs(only["residual"] - (x - only["other"])).max() < 1e-6
    # three roles only: auto does nothing
    three = {k: models[k] for k in ("bass", "lead", "other")}
    assert np.array_equal(separate(x, sr, three, SeparationOptions(**kw), block_seconds=0.3)["other"], plain["other"])
    for bad in (dict(rest_to="vocals"), dict(rest_share=0.0), dict(outputs=("vocals",))):
        with pytest.raises(SaesepError):
            separate(x, sr, models, SeparationOptions(**bad, **kw))
