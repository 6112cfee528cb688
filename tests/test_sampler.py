"""The block sampler: its pools of spectra and its augmentation."""

import numpy as np
import pytest
import torch


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


def _pool(track_folder, channel_draw, max_freq=0.0):
    from saesep.config import preset
    from saesep.datasets import BlockSampler, find_tracks

    p = preset("tiny")
    p.spectral.max_freq = max_freq
    tracks = find_tracks(track_folder, "train")[:2]
    bs = BlockSampler(tracks, "bass", p.spectral, p.train, seed=0)
    bs._load_pool([0, 1], np.asarray(channel_draw))
    return bs, tracks, p


@pytest.mark.parametrize("max_freq", [0.0, 3000.0])
def test_a_pool_holds_each_tracks_drawn_channel_frames_major_between_silent_gaps(track_folder, max_freq):
    """Track 0 gives its first channel (draw 0.0), track 1 the mean of its two (draw 0.99); each
    stem's STFT in the network's band, frames first, with silent gaps of the context's span
    around every track; no block is centred in a gap or on frames that are all silence."""
    import soundfile as sf

    from saesep.spectral import context_margin, context_offsets, stft

    bs, tracks, p = _pool(track_folder, [0.0, 0.99], max_freq)
    a0, a1 = (sf.read(t.stems["bass"], dtype="float32", always_2d=True)[0].T for t in tracks)
    bins = p.spectral.net_bins
    gap = np.zeros((2 * context_margin(p.spectral) + 1, bins), np.complex64)
    s0, s1 = stft(a0[0], p.spectral)[:bins].T, stft(a1.mean(0), p.spectral)[:bins].T
    want = np.concatenate([gap, s0, gap, s1, gap])
    got = torch.view_as_complex(bs.spec["bass"]).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    energy = (np.abs(want) ** 2).sum(1)
    loud = energy > energy.max() * 1e-6
    g = len(gap)
    inside = np.zeros(len(want), bool)
    inside[g:g + len(s0)] = inside[2 * g + len(s0):2 * g + len(s0) + len(s1)] = True
    offsets = context_offsets(p.spectral)
    expected = [c for c in range(len(want)) if inside[c] and loud[(c + offsets) % len(want)].any()]
    assert bs.active["bass"].tolist() == expected
    assert len(expected) < inside.sum()  # the bass's rest is left out


def test_a_pool_is_the_same_loaded_on_one_thread_or_two(track_folder):
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one, _, _ = _pool(track_folder, [0.3, 0.99])
        torch.set_num_threads(2)
        two, _, _ = _pool(track_folder, [0.3, 0.99])
    finally:
        torch.set_num_threads(threads)
    assert one.spec.keys() == two.spec.keys()
    for stem in one.spec:
        assert torch.equal(one.spec[stem], two.spec[stem])
        assert np.array_equal(one.active[stem], two.active[stem])
