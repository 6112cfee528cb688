import numpy as np
import torch

from saesep.least_squares import LeastSquares, fit_next_layer
from saesep.model import Model, StackedDNN, load, save
from saesep.config import SpectralConfig
from saesep.training import normalised_error


def _net(layers=2, bins=9, frames=3, seed=0):
    torch.manual_seed(seed)
    net = StackedDNN(bins, frames)
    for _ in range(layers):
        net.add_layer("random")
    return net


def test_identity_init_leaves_output_unchanged_exactly():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((64, 27)).astype(np.float32))
    empty = StackedDNN(9, 3)
    before = empty(x)
    empty.add_layer("identity")
    assert torch.equal(empty(x), before)  # first layer: picks the centre frame
    net = _net()
    before = net(x)
    net.add_layer("identity")
    assert torch.equal(net(x), before)


def test_least_squares_matches_numpy_lstsq():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 12)) + 3.0
    w_true = rng.standard_normal((5, 12))
    s = x @ w_true.T + 0.5 + 0.1 * rng.standard_normal((500, 5))
    ls = LeastSquares(12, 5)
    for i in range(0, 500, 64):  # mini-batches, as in training
        ls.update(torch.from_numpy(x[i:i + 64]).float(), torch.from_numpy(s[i:i + 64]).float())
    w, b = ls.solve(ridge=0.0)
    a = np.hstack([x.astype(np.float32).astype(np.float64), np.ones((500, 1))])
    sol, *_ = np.linalg.lstsq(a, s.astype(np.float32).astype(np.float64), rcond=None)
    np.testing.assert_allclose(w.numpy(), sol[:12].T, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(b.numpy(), sol[12], rtol=1e-4, atol=1e-4)


def test_ls_layer_never_increases_J():
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.random((2000, 27)).astype(np.float32))
    s = torch.relu(x[:, 9:18] * 0.5 + 0.1 * torch.from_numpy(rng.standard_normal((2000, 9)).astype(np.float32)))
    net = StackedDNN(9, 3)
    j0 = normalised_error(net, x, s)
    assert j0 == 1.0
    for _ in range(3):
        before = normalised_error(net, x, s)
        sol = fit_next_layer(net, [(x[i:i + 256], s[i:i + 256]) for i in range(0, 2000, 256)], ridge=1e-6)
        net.add_layer("ls", sol)
        assert normalised_error(net, x, s) <= before + 1e-6


def test_save_load_bit_exact(tmp_path):
    net = _net(layers=3)
    model = Model(net, SpectralConfig(n_fft=16, hop=8, context=1), "bass", history={"curve": [{"iteration": 1}]})
    save(model, tmp_path / "m.pt")
    # the file is a plain weights-only payload
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    assert payload["format"] == "saesep-model"
    loaded = load(tmp_path / "m.pt")
    x = torch.rand(10, 27)
    assert torch.equal(loaded.net(x), net(x))
    assert loaded.target == "bass" and loaded.history["curve"][0]["iteration"] == 1
    assert loaded.spectral == model.spectral
    assert "torch" in loaded.meta["versions"]


def test_api_names_are_functions_after_the_modules_are_imported():
    """`from saesep import separate, train, evaluate` gives the functions, whatever was imported before."""
    import importlib

    for mod in ("saesep.separation", "saesep.training", "saesep.evaluation", "saesep.cli"):
        importlib.import_module(mod)
    from saesep import evaluate, extract_file, load_model, separate, train

    for f in (evaluate, extract_file, load_model, separate, train):
        assert callable(f) and not isinstance(f, type(importlib)), f


def test_band_limited_model_sees_and_estimates_only_its_band():
    """max_freq: the network gets the bins up to it (γ from those alone) and returns zeros above,
    in the block path, the sequence path and its bfloat16 products alike."""
    import pytest

    from saesep.errors import SaesepError
    from saesep.spectral import stack_context

    cfg = SpectralConfig(sample_rate=22050, n_fft=512, hop=256, context=2, max_freq=1000)
    assert (cfg.n_bins, cfg.net_bins) == (257, 24)  # bins 0 … 23 are at most 1000 Hz apart from 0 (43 Hz each)
    assert SpectralConfig(max_freq=30000).net_bins == SpectralConfig().n_bins
    with pytest.raises(SaesepError, match="fewer than 2 bins"):
        SpectralConfig(max_freq=20)
    with pytest.raises(SaesepError, match="max_freq"):
        SpectralConfig(max_freq=-1)
    model = Model(_net(2, cfg.net_bins, cfg.context_frames).eval(), cfg, "bass")
    rng = np.random.default_rng(1)
    mag = torch.from_numpy(rng.random((2, 30, cfg.n_bins)).astype(np.float32))
    seq = model.estimate_sequence(mag)
    blocks = stack_context(mag.transpose(1, 2), cfg, margin_padded=True)
    full = model.estimate(blocks).reshape(seq.shape)
    band = model.estimate(blocks[..., :cfg.net_bins]).reshape(*seq.shape[:2], cfg.net_bins)
    assert seq.shape == (2, 30 - 8, cfg.n_bins)
    assert torch.allclose(seq, full, atol=1e-6) and torch.equal(full[..., :cfg.net_bins], band)
    assert not seq[..., cfg.net_bins:].any() and seq[..., :cfg.net_bins].any()
    # what lies above the band changes nothing
    louder = mag.clone()
    louder[..., cfg.net_bins:] *= 100
    assert torch.equal(model.estimate_sequence(louder), seq)
    low = model.estimate_sequence(mag, torch.bfloat16)
    assert not low[..., cfg.net_bins:].any() and torch.allclose(low, seq, rtol=0.05, atol=0.05)
    with pytest.raises(SaesepError, match="needs 24 frequency bins"):
        model.estimate(blocks[..., :10])


def test_widening_keeps_the_estimate_and_adds_live_features():
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.random((256, 27)).astype(np.float32))
    torch.manual_seed(0)
    net = StackedDNN(9, 3, hidden=20)
    net.add_layer("random")
    before = net(x)
    net.widen_top(torch.Generator().manual_seed(0))
    after = net(x)
    assert after.shape == (256, 20)
    # the same rows and biases: equal up to the GEMM's summation order, which depends on the width
    torch.testing.assert_close(after[:, :9], before, rtol=1e-6, atol=1e-6)
    assert (after[:, 9:] > 0).any(0).all()  # every new unit is active on some blocks


def test_least_squares_on_widened_features_fits_better():
    rng = np.random.default_rng(4)
    x = torch.from_numpy(rng.random((3000, 27)).astype(np.float32))
    s = x[:, 9:18] * x[:, :9] * x[:, 18:]  # not linear in the frames: random ReLU features help
    batches = [(x[i:i + 500], s[i:i + 500]) for i in range(0, 3000, 500)]
    errors = []
    for hidden in (9, 60):
        torch.manual_seed(0)
        net = StackedDNN(9, 3, hidden=hidden)
        net.add_layer("ls", fit_next_layer(net, batches, ridge=1e-6))
        net.widen_top(torch.Generator().manual_seed(0))
        net.add_layer("ls", fit_next_layer(net, batches, ridge=1e-6))
        errors.append(normalised_error(net, x, s))
    assert errors[1] < 0.97 * errors[0]


def test_a_wide_model_file_loads_alike_in_torch_and_numpy(tmp_path):
    from saesep.network import load_numpy, macs_per_frame
    from saesep.weights import parse_meta, read_payload

    torch.manual_seed(0)
    cfg = SpectralConfig(n_fft=16, hop=8, context=1)
    net = StackedDNN(9, 3, hidden=14)
    for _ in range(3):
        net.widen_top()
        net.add_layer("random")
    assert [tuple(layer.weight.shape) for layer in net.layers] == [(14, 27), (14, 14), (9, 14)]
    save(Model(net, cfg, "bass"), tmp_path / "wide.pt")
    mag = torch.rand(1, 12, 9)
    expected = Model(net, cfg, "bass").estimate_sequence(mag)
    torch.testing.assert_close(load(tmp_path / "wide.pt").estimate_sequence(mag), expected)
    np.testing.assert_allclose(load_numpy(tmp_path / "wide.pt").estimate_sequence(mag.numpy()), expected.numpy(), rtol=1e-5)
    meta = parse_meta(read_payload(tmp_path / "wide.pt"), tmp_path / "wide.pt")
    assert macs_per_frame(meta) == sum(layer.weight.numel() for layer in net.layers)
