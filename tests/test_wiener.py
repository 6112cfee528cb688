"""The multichannel Wiener filter against sigsep's norbert (the reference implementation)."""

import numpy as np
import pytest
import torch

from saesep.errors import SaesepError
from saesep.wiener import check_iterations, refine

from conftest import require

norbert = require("norbert", "pip install 'saesep[test]'")


def problem(channels, sources=3, frames=40, bins=17, seed=0):
    """A random mixture ``(C, n, F)`` and estimates ``(S, C, n, F)`` that sum to it."""
    rng = np.random.default_rng(seed)
    x = 30 * (rng.standard_normal((channels, frames, bins)) + 1j * rng.standard_normal((channels, frames, bins)))
    m = rng.uniform(size=(sources, 1, frames, bins))
    return (m / m.sum(0) * x).astype(np.complex64), x.astype(np.complex64)


def norbert_em(y, x, iterations):
    """norbert's EM on our layout (norbert's: frames, bins, channels[, sources]), scaled as
    ``norbert.wiener`` scales its signals."""
    scale = max(1.0, np.abs(x).max() / 10)
    out = norbert.expectation_maximization(y.transpose(2, 3, 1, 0) / scale, x.transpose(1, 2, 0) / scale,
                                           iterations=iterations)[0]
    return out.transpose(3, 2, 0, 1) * scale


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("iterations", [1, 3])
def test_refine_equals_norbert(channels, iterations):
    y, x = problem(channels)
    ref = norbert_em(y, x, iterations)
    out = refine(y, x, iterations)
    assert out.shape == y.shape and out.dtype == np.complex64
    assert np.abs(out - ref).max() < 1e-5 * np.abs(ref).max()
    assert np.abs(out - y).max() > 1e-2 * np.abs(y).max()  # the filter changed the estimates


def test_refine_on_torch_tensors_equals_numpy():
    y, x = problem(2)
    out = refine(torch.from_numpy(y), torch.from_numpy(x), 2)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.complex64
    assert np.abs(out.numpy() - refine(y, x, 2)).max() < 1e-5 * np.abs(y).max()


def test_refine_solves_independent_problems_along_leading_axes():
    """Sources ``(S, k, C, n, F)`` of mixtures ``(k, C, n, F)``: each problem on its own (to
    within the regularisation ε, which is relative to the loudest of the mixtures)."""
    (ya, xa), (yb, xb) = problem(2, 2, seed=1), problem(2, 2, seed=2)
    both = refine(np.stack([ya, yb], 1), np.stack([xa, xb]), 1, keep=1)
    assert both.shape == (1, 2) + xa.shape
    for k, (y, x) in enumerate([(ya, xa), (yb, xb)]):
        assert np.abs(both[0, k] - norbert_em(y, x, 1)[0]).max() < 1e-4 * np.abs(y).max()


@pytest.mark.parametrize("bad", [-1, 11, 1.5, True, "1", None])
def test_a_bad_iteration_count_is_one_error(bad):
    with pytest.raises(SaesepError, match="Wiener iterations must be an integer"):
        check_iterations(bad)


def test_more_than_two_channels_is_an_error():
    y, x = problem(3)
    with pytest.raises(SaesepError, match="1 or 2 channels"):
        refine(y, x, 1)
