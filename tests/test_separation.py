"""Separation with trained models: quality against passthrough, streaming against the whole-file result, masks, formats, several models."""

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

from conftest import require


def sdr(ref, est):
    return 10 * np.log10(np.sum(ref ** 2) / (np.sum((ref - est) ** 2) + 1e-12))


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
    """The estimate from the STFT of the whole file (librosa) → network → mask → ISTFT
    (no Wiener filter: the tests of the masks run the separator with ``wiener_iterations=0``),
    written out from the definitions: ``ratio`` (the default) |Ŝ| at most |X| with the
    mixture phase, ``none`` |Ŝ| unbounded, ``soft`` X·Ŝᵖ/(Ŝᵖ + max(|X| − Ŝ, 0)ᵖ); with
    ``stereo="mid"`` the network sees |mean of the channels| and its ratio to that
    magnitude scales every channel."""
    cfg = model.spectral
    return spectral.istft(masked_spectrogram(model, x, mask, power)[0], cfg, x.shape[1])


def masked_spectrogram(model, x, mask="ratio", power=2.0):
    """The masked STFT of :func:`whole_file_reference`, and the mixture's STFT."""
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
    return out, spec


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
    streamed = separate(x, sr, model, SeparationOptions(wiener_iterations=0, segment_seconds=0.4, precision="float32"), block_seconds=0.3)["bass"]
    assert streamed.shape == x.shape
    assert np.abs(streamed - ref).max() < 1e-5  # the reference's estimate is zero above the band


def test_streamed_equals_whole_file_reference(tiny_model, track_folder):
    """Block-wise separation == STFT of the whole file → network → ISTFT."""
    _, model = tiny_model
    mix, sr = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    x = mix.T
    ref = whole_file_reference(model, x)
    streamed = separate(x, sr, model, SeparationOptions(wiener_iterations=0, segment_seconds=0.5, precision="float32"), block_seconds=0.3)["bass"]
    assert streamed.shape == x.shape
    assert np.abs(streamed - ref).max() < 1e-5
    # bfloat16 products (the default on CPUs with AMX): the same result to within -40 dB
    low = separate(x, sr, model, SeparationOptions(wiener_iterations=0, segment_seconds=0.5, precision="bfloat16"), block_seconds=0.3)["bass"]
    assert 10 * np.log10(((low - ref) ** 2).sum() / (ref ** 2).sum()) < -40
    # every mask: the block and segment sizes do not change the result
    for mask in ("none", "soft"):
        a = separate(x, sr, model, SeparationOptions(wiener_iterations=0, mask=mask, segment_seconds=0.5), block_seconds=0.3)["bass"]
        b = separate(x, sr, model, SeparationOptions(wiener_iterations=0, mask=mask, segment_seconds=30), block_seconds=30)["bass"]
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
    opts = SeparationOptions(wiener_iterations=0, mask=mask, segment_seconds=0.5, precision="float32")
    streamed = separate(x, sr, model, opts, block_seconds=0.3)["bass"]
    assert streamed.shape == x.shape
    assert np.abs(streamed - ref).max() < 5e-5  # float32 rounding (the unbounded mask amplifies it)
    assert 10 * np.log10(((streamed - ref) ** 2).sum() / (ref ** 2).sum()) < -90
    # the masks differ from each other: each is checked against its own formula
    assert np.abs(whole_file_reference(model, x, "ratio" if mask != "ratio" else "soft") - ref).max() > 1e-3


def test_ratio_mask_takes_the_exponent_the_model_file_records(tiny_model, track_folder, tmp_path):
    """A model file with ``mask_power`` 1.5: the ratio mask X·Ŝᵖ/(Ŝᵖ + max(|X| − Ŝ, 0)ᵖ) with
    p = 1.5, on both engines; an explicit ``mask_power=1`` gives the plain ratio mask again."""
    import copy

    from saesep.model import save
    from saesep.network import load_models

    model = copy.deepcopy(tiny_model[1])
    model.meta["mask_power"] = 1.5
    save(model, tmp_path / "sharp.pt")
    mix, sr = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    x = mix.T[:, : 3 * sr]
    ref = whole_file_reference(model, x, "soft", power=1.5)
    for engine in ("numpy", "torch"):
        loaded = load_models([tmp_path / "sharp.pt"], precision="float32", engine=engine)
        out = separate(x, sr, loaded, SeparationOptions(wiener_iterations=0, precision="float32"))["bass"]
        assert np.abs(out - ref).max() < 1e-5, engine
    plain = separate(x, sr, loaded, SeparationOptions(wiener_iterations=0, precision="float32", mask_power=1.0))["bass"]
    assert np.abs(plain - whole_file_reference(model, x, "ratio")).max() < 1e-5
    assert np.abs(plain - ref).max() > 1e-3


@pytest.mark.parametrize("bad", ["1.5", float("nan"), -1.0, 0, True])
def test_a_bad_recorded_mask_exponent_is_one_error(tiny_model, bad):
    import copy

    model = copy.deepcopy(tiny_model[1])
    model.meta["mask_power"] = bad
    x = 0.1 * np.random.default_rng(0).standard_normal((1, 4410)).astype(np.float32)
    with pytest.raises(SaesepError, match="bad mask exponent"):
        separate(x, 44100, model)
    assert separate(x, 44100, model, SeparationOptions(mask_power=1.0))["bass"].shape == x.shape


def norbert_reference(model, x, mask="ratio"):
    """The whole file's masked STFT refined by one EM iteration of norbert's multichannel
    Wiener filter, the estimate against the mixture minus it, → ISTFT."""
    norbert = require("norbert", "pip install 'saesep[test]'")
    y, spec = masked_spectrogram(model, x, mask)
    v = np.stack([np.abs(y), np.abs(spec - y)], -1).transpose(2, 1, 0, 3)  # frames, bins, channels, 2
    out = norbert.wiener(v, spec.transpose(2, 1, 0).copy(), iterations=1)[..., 0].transpose(2, 1, 0)
    return spectral.istft(out, model.spectral, x.shape[1])


@pytest.mark.parametrize("engine,mask", [("numpy", "ratio"), ("torch", "ratio"), ("numpy", "soft")])
def test_wiener_filter_on_a_stereo_segment_equals_norbert(tiny_model, track_folder, engine, mask):
    """One segment (the whole excerpt): the separator's filter == norbert.wiener on the
    whole file's masked estimate; with soft and one model the same two sources."""
    from saesep.network import load_models

    model = load_models([tiny_model[0]], precision="float32", engine=engine)
    mix, sr = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    x = mix.T[:, : 3 * sr]
    opts = SeparationOptions(mask=mask, wiener_iterations=1, segment_seconds=30, precision="float32")
    out = separate(x, sr, model, opts)["bass"]
    ref = norbert_reference(tiny_model[1], x, mask)
    plain = whole_file_reference(tiny_model[1], x, mask)
    err = lambda a: 10 * np.log10(((a - ref) ** 2).sum() / (ref ** 2).sum())  # noqa: E731
    assert err(out) < -60
    assert err(plain) > -30  # the filter changed the estimate


def test_mono_input_is_left_as_the_mask_gives_it(tiny_model, track_folder):
    mix, sr = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    x = mix.T[:1, : 2 * sr]
    on = separate(x, sr, tiny_model[1], SeparationOptions(wiener_iterations=2))["bass"]
    assert np.array_equal(on, separate(x, sr, tiny_model[1], SeparationOptions(wiener_iterations=0))["bass"])


@pytest.mark.parametrize("n", [2, 3])
def test_shifts_average_the_runs_on_the_song_delayed_by_fractions_of_a_hop(tiny_model, track_folder, n):
    """The streamed average of n STFT grids == the mean of n plain runs, the k-th on the
    song after k·hop/n zeros (its first k·hop/n output samples dropped)."""
    model = tiny_model[1]
    mix, sr = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    x = mix.T[:, : int(2.1 * sr) + 5]
    assert sr == model.spectral.sample_rate  # delays in the model's samples are the input's
    plain = SeparationOptions(wiener_iterations=1, precision="float32", segment_seconds=0.7)
    ref = 0
    for k in range(n):
        d = k * model.spectral.hop // n
        delayed = np.pad(x, ((0, 0), (d, 0)))
        ref = ref + separate(delayed, sr, model, plain, block_seconds=10)["bass"][:, d:d + x.shape[1]]
    ref = ref / n
    got = separate(x, sr, model, SeparationOptions(wiener_iterations=1, precision="float32", segment_seconds=0.7,
                                                   shifts=n), block_seconds=0.3)["bass"]
    assert got.shape == x.shape
    assert np.abs(got - ref).max() < 1e-6
    assert np.abs(got - separate(x, sr, model, plain)["bass"]).max() > 1e-3


@pytest.mark.parametrize("key,value,off,bad,error", [("wiener_iterations", 1, 0, -2, "bad Wiener iteration count"),
                                                    ("shifts", 2, 1, 0, "bad shift count")])
def test_the_separation_options_a_model_file_records_are_its_defaults(tiny_model, track_folder, tmp_path,
                                                                     key, value, off, bad, error):
    import copy

    from saesep.model import save

    model = copy.deepcopy(tiny_model[1])
    model.meta[key] = value
    save(model, tmp_path / "m.pt")
    model = load(tmp_path / "m.pt")
    mix, sr = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    x = mix.T[:, : 2 * sr]
    run = lambda **kw: separate(x, sr, model, SeparationOptions(precision="float32", **kw))["bass"]  # noqa: E731
    assert np.array_equal(run(), run(**{key: value}))
    assert np.abs(run() - run(**{key: off})).max() > 1e-3
    model.meta[key] = bad
    with pytest.raises(SaesepError, match=error):
        run()


def test_a_recorded_output_gain_scales_each_bin_of_the_ratio_masked_estimate(tiny_model, track_folder):
    """With ``meta["output_gain"]`` g: ISTFT(g_f · the ratio-masked STFT), on both engines;
    ``calibrate=False`` and the soft mask leave the estimate as before."""
    import copy

    from saesep.network import load_models

    model = copy.deepcopy(tiny_model[1])
    gain = np.random.default_rng(0).uniform(0.5, 2.0, model.spectral.net_bins).astype(np.float32)
    model.meta["output_gain"] = gain.tolist()
    mix, sr = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    x = mix.T[:, : 2 * sr]
    y, _ = masked_spectrogram(model, x)
    ref = spectral.istft(y * np.pad(gain, (0, y.shape[1] - len(gain)), constant_values=1)[None, :, None],
                         model.spectral, x.shape[1])
    opts = dict(wiener_iterations=0, precision="float32")
    for engine in ("numpy", "torch"):
        loaded = load_models([tiny_model[0]], precision="float32", engine=engine)
        loaded["bass"].meta = model.meta
        assert np.abs(separate(x, sr, loaded, SeparationOptions(**opts))["bass"] - ref).max() < 1e-5, engine
    plain = separate(x, sr, model, SeparationOptions(calibrate=False, **opts))["bass"]
    assert np.abs(plain - whole_file_reference(model, x)).max() < 1e-5
    soft = SeparationOptions(mask="soft", **opts)
    assert np.array_equal(separate(x, sr, model, soft)["bass"], separate(x, sr, tiny_model[1], soft)["bass"])


@pytest.mark.parametrize("bad", [lambda n: [1.0, 1.0], lambda n: "1.0", lambda n: [3.0] * n,
                                 lambda n: [1.0] * (n - 1) + [float("nan")]], ids=["short", "text", "loud", "nan"])
def test_a_bad_recorded_output_gain_is_one_error(tiny_model, bad):
    import copy

    model = copy.deepcopy(tiny_model[1])
    model.meta["output_gain"] = bad(model.spectral.net_bins)
    x = 0.1 * np.random.default_rng(0).standard_normal((1, 4410)).astype(np.float32)
    with pytest.raises(SaesepError, match="bad output gain"):
        separate(x, 44100, model)
    assert separate(x, 44100, model, SeparationOptions(calibrate=False))["bass"].shape == x.shape


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
