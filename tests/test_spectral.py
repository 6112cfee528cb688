import numpy as np
import pytest
import torch

from saesep.config import PRESETS, SpectralConfig, preset
from saesep import spectral


def snr_db(ref, est):
    return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_stft_istft_round_trip_every_preset(name):
    cfg = preset(name).spectral
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, cfg.sample_rate * 2 + 123)).astype(np.float32) * 0.1
    spec = spectral.stft(x, cfg)
    assert spec.shape == (2, cfg.n_bins, spectral.n_frames(x.shape[1], cfg))
    # the mixture's own magnitude and phase
    y = spectral.istft(spectral.magnitude(spec) * spectral.phase(spec), cfg, x.shape[1])
    assert y.shape == x.shape
    assert snr_db(x, y) > 60


def test_context_stacking_picks_strided_frames_with_zero_edges():
    cfg = SpectralConfig(n_fft=8, hop=4, context=2, context_stride=2)
    mag = torch.arange(5 * 6, dtype=torch.float32).reshape(1, 5, 6)  # bins=5, frames=6
    blocks = spectral.stack_context(mag, cfg)
    assert blocks.shape == (6, 5, 5)
    # centre frame 3: frames -1 (zeros), 1, 3, 5, 7 (zeros)
    assert torch.equal(blocks[3, 2], mag[0, :, 3])
    assert torch.equal(blocks[3, 1], mag[0, :, 1])
    assert torch.equal(blocks[3, 3], mag[0, :, 5])
    assert torch.count_nonzero(blocks[3, 0]) == 0 and torch.count_nonzero(blocks[3, 4]) == 0


def test_gamma_is_mean_frame_norm_and_normalisation_is_scale_free():
    rng = np.random.default_rng(1)
    blocks = torch.from_numpy(rng.random((4, 7, 10)).astype(np.float32))
    g = spectral.gamma(blocks)
    assert torch.allclose(g[:, 0], torch.linalg.norm(blocks, dim=-1).mean(-1))
    x1, _ = spectral.normalize(blocks)
    x2, _ = spectral.normalize(blocks * 37.0)
    assert torch.allclose(x1, x2, atol=1e-6)


@pytest.mark.parametrize("name", ["hann", "hamming", "rectangular"])
@pytest.mark.parametrize("n_fft", [512, 4096, 1000])
def test_window_is_librosas(name, n_fft):
    from scipy.signal import get_window

    cfg = SpectralConfig(window=name, n_fft=n_fft, hop=n_fft // 4)
    ref = get_window(cfg.librosa_window, n_fft, fftbins=True)
    np.testing.assert_allclose(spectral.window(cfg), ref, atol=1e-7)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_streaming_frames_are_the_stft(name):
    from saesep.backend import NumpyOps

    cfg = preset(name).spectral
    x = np.random.default_rng(1).standard_normal((2, cfg.sample_rate + 77)).astype(np.float32) * 0.1
    ref = spectral.stft(x, cfg)  # librosa
    ops, half = NumpyOps(), cfg.n_fft // 2
    padded = np.pad(x, [(0, 0), (half, half + cfg.hop)])
    got = np.swapaxes(spectral.frames_rfft(ops.frames(padded, cfg.n_fft, cfg.hop), spectral.window(cfg), ops), -1, -2)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=1e-4 * np.abs(ref).max())
