"""The least-squares initialisation of a new top layer (the method's key step).

Before layer k is trained, its weights are the linear map that best predicts the target
spectra from the current network's output (the mixture context for the first layer):
W = C_sx (C_xx + λI)⁻¹, b = s̄ − W x̄, from sums accumulated over mini-batches.
"""

from __future__ import annotations

import torch

from . import distributed
from .errors import SaesepError


class LeastSquares:
    """Accumulates the statistics of a linear fit s ≈ W x + b over mini-batches.

    Sums are kept in float64 and centred on the first batch's mean (a shift that
    leaves the covariances unchanged but avoids cancellation), so no sample is
    kept: memory is O(d_in² + d_out·d_in).
    """

    def __init__(self, d_in: int, d_out: int):
        self.n = 0
        self.shift_x = None
        self.shift_s = None
        self.sum_x = torch.zeros(d_in, dtype=torch.float64)
        self.sum_s = torch.zeros(d_out, dtype=torch.float64)
        self.sxx = torch.zeros(d_in, d_in, dtype=torch.float64)
        self.ssx = torch.zeros(d_out, d_in, dtype=torch.float64)

    @torch.no_grad()
    def update(self, x: torch.Tensor, s: torch.Tensor) -> None:
        """x: ``(n, d_in)`` features; s: ``(n, d_out)`` targets."""
        x = x.detach().to("cpu", torch.float64)
        s = s.detach().to("cpu", torch.float64)
        if self.shift_x is None:
            self.shift_x, self.shift_s = x.mean(0), s.mean(0)
        x = x - self.shift_x
        s = s - self.shift_s
        self.n += x.shape[0]
        self.sum_x += x.sum(0)
        self.sum_s += s.sum(0)
        self.sxx += x.T @ x
        self.ssx += s.T @ x

    def tensors(self) -> list[torch.Tensor]:
        """The sums, for an all-reduce across processes (shifts must agree first)."""
        return [self.sum_x, self.sum_s, self.sxx, self.ssx]

    def solve(self, ridge: float = 1e-4) -> tuple[torch.Tensor, torch.Tensor]:
        """W = C_sx (C_xx + λI)⁻¹ and b = s̄ − W x̄, with λ = ridge · mean(diag C_xx).

        Returns float32 ``W (d_out, d_in)`` and ``b (d_out,)``.
        """
        if self.n < 2:
            raise SaesepError("least-squares init needs at least 2 samples")
        mx, ms = self.sum_x / self.n, self.sum_s / self.n
        cxx = self.sxx / self.n - torch.outer(mx, mx)
        csx = self.ssx / self.n - torch.outer(ms, mx)
        lam = ridge * max(float(torch.diagonal(cxx).mean()), 1e-12)
        a = cxx + lam * torch.eye(cxx.shape[0], dtype=torch.float64)
        chol, info = torch.linalg.cholesky_ex(a)
        if int(info) != 0:
            # Singular features (e.g. dead units): add a little more ridge.
            chol = torch.linalg.cholesky(a + 1e-6 * float(torch.diagonal(cxx).mean() + 1e-12) * torch.eye(a.shape[0], dtype=torch.float64))
        w = torch.cholesky_solve(csx.T.contiguous(), chol).T
        b = (ms + self.shift_s) - w @ (mx + self.shift_x)
        return w.float(), b.float()


@torch.no_grad()
def fit_next_layer(net, batches, ridge: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit the next layer of ``net`` (a :class:`saesep.model.StackedDNN`) by least squares
    on its current output.

    batches: iterable of ``(x, s)``; the features are ``x`` for the first layer, else ``net(x)``.
    Under torch.distributed, the sums of all ranks are added up (all-reduce), so every rank
    solves the same system and gets the same layer.
    """
    ls = LeastSquares(net.next_in_features, net.n_bins)
    for x, s in batches:
        f = x if len(net.layers) == 0 else net(x)
        if distributed.world() > 1 and ls.shift_x is None:  # one shift for all ranks: the mean of their first batches
            mx, ms = f.double().mean(0).cpu(), s.double().mean(0).cpu()
            distributed.all_reduce_mean([mx, ms])
            ls.shift_x, ls.shift_s = mx, ms
        ls.update(f, s)
    if distributed.world() > 1:
        n = torch.tensor([float(ls.n)], dtype=torch.float64)
        distributed.all_reduce_sum(ls.tensors() + [n])
        ls.n = int(n.item())
    return ls.solve(ridge)
