"""The block sampler's augmentation."""

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
