"""The stacked ReLU network, its layer-wise growth, and the model file.

The network works in the γ-normalised domain: input ``x`` of shape
``(n, (2C+1) * bins)``, output ``(n, bins)``. :class:`Model` wraps it with the
normalisation so it maps raw context magnitudes to the centre frame's target magnitude.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import __version__
from .backend import TorchOps
from .config import SpectralConfig, TrainConfig, from_dict, to_dict
from .network import band, forward_sequence
from .weights import check_model, member_parts
from .errors import SaesepError
from .spectral import normalize

FORMAT = "saesep-model"
FORMAT_VERSION = 1
_TORCH = TorchOps()


class StackedDNN(nn.Module):
    """x_{k+1} = max(W_k x_k + b_k, 0) for k = 1..K; the output layer has ``n_bins`` units,
    the layers below it ``hidden`` (0: ``n_bins``, the paper)."""

    def __init__(self, n_bins: int, context_frames: int, n_layers: int = 0, hidden: int = 0):
        super().__init__()
        self.n_bins = n_bins
        self.context_frames = context_frames
        self.hidden = hidden or n_bins
        if self.hidden < n_bins:
            raise SaesepError(f"hidden layers need at least {n_bins} units (the network's bins), not {self.hidden}")
        self.layers = nn.ModuleList()
        for k in range(n_layers):
            self.layers.append(nn.Linear(self.next_in_features, n_bins if k == n_layers - 1 else self.hidden))

    @property
    def in_features(self) -> int:
        return self.n_bins * self.context_frames

    @property
    def next_in_features(self) -> int:
        return self.in_features if len(self.layers) == 0 else self.layers[-1].out_features

    def forward(self, x: torch.Tensor, rectify_top: bool = True) -> torch.Tensor:
        """``(n, in_features)`` → ``(n, n_bins)``, non-negative. With no layer: the centre frame.
        ``rectify_top=False``: the output layer's values before its ReLU (for training losses)."""
        if len(self.layers) == 0:
            return self.centre(x)
        top = len(self.layers) - 1
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if rectify_top or k < top:
                x = torch.relu(x)
        return x

    def centre(self, x: torch.Tensor) -> torch.Tensor:
        """S x: the centre frame of a flattened context block."""
        c = self.context_frames // 2
        return x[:, c * self.n_bins:(c + 1) * self.n_bins]

    @torch.no_grad()
    def widen_top(self, generator: torch.Generator | None = None) -> None:
        """Before a layer is added: give the output layer ``hidden`` units. Its ``n_bins``
        units (the estimate so far) stay; each new one is a random ReLU feature of the same
        input: a Gaussian direction with the mean norm of the old rows, bias 0."""
        if not len(self.layers) or self.layers[-1].out_features >= self.hidden:
            return
        top = self.layers[-1]
        wide = nn.Linear(top.in_features, self.hidden).to(top.weight.device, top.weight.dtype)
        extra = torch.randn(self.hidden - self.n_bins, top.in_features, generator=generator, dtype=torch.float32)
        extra *= top.weight.norm(dim=1).mean().cpu() / extra.norm(dim=1, keepdim=True).clamp_min(1e-12)
        wide.weight.copy_(torch.cat([top.weight, extra.to(top.weight)]))
        wide.bias.copy_(torch.cat([top.bias, torch.zeros(self.hidden - self.n_bins).to(top.bias)]))
        self.layers[-1] = wide

    @torch.no_grad()
    def add_layer(self, init: str = "ls", ls_solution: tuple[torch.Tensor, torch.Tensor] | None = None,
                  generator: torch.Generator | None = None) -> nn.Linear:
        """Add one layer on top; it becomes the output layer (call :meth:`widen_top` first
        for wide hidden layers).

        init: ``identity`` (W = S for the first layer, I on the estimate's units later;
            b = 0: the function is unchanged), ``random`` (PyTorch's default uniform init)
            or ``ls`` with ``ls_solution = (W, b)`` from :class:`LeastSquares`.
        """
        d_in, d_out = self.next_in_features, self.n_bins
        ref = self.layers[0].weight if len(self.layers) else None
        layer = nn.Linear(d_in, d_out)
        if ref is not None:
            layer = layer.to(ref.device, ref.dtype)
        if init == "identity":
            layer.weight.zero_()
            offset = (self.context_frames // 2) * self.n_bins if not len(self.layers) else 0
            layer.weight[:, offset:offset + d_out] = torch.eye(d_out, dtype=layer.weight.dtype)
            layer.bias.zero_()
        elif init == "random":
            bound = 1 / np.sqrt(d_in)
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)
        elif init == "ls":
            if ls_solution is None:
                raise ValueError("init='ls' needs ls_solution=(W, b)")
            w, b = ls_solution
            layer.weight.copy_(w)
            layer.bias.copy_(b)
        else:
            raise SaesepError(f"unknown init '{init}'")
        self.layers.append(layer)
        return layer


def package_versions() -> dict:
    import librosa
    import soundfile

    return {"saesep": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "librosa": librosa.__version__, "soundfile": soundfile.__version__,
            "python": platform.python_version()}


@dataclass
class Model:
    """A trained extractor: network + everything needed to use and reproduce it."""

    net: StackedDNN
    spectral: SpectralConfig
    target: str
    train: TrainConfig = field(default_factory=TrainConfig)
    history: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def _band(self, mag: torch.Tensor) -> tuple[torch.Tensor, int]:
        """The bins the network sees (``spectral.max_freq``), and how many zero bins to add back."""
        return band(mag, self.net.n_bins)

    @torch.no_grad()
    def estimate(self, blocks: torch.Tensor) -> torch.Tensor:
        """Raw context magnitudes ``(n, 2C+1, bins)`` → target magnitude ``(n, bins)``.

        ``bins`` is the STFT's (zeros above ``max_freq``) or the network's own.
        """
        blocks, extra = self._band(blocks)
        x, g = normalize(blocks)
        return torch.nn.functional.pad(self.net(x) * g, (0, extra))

    def _product_weights(self, dtype: torch.dtype) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The layers' weights, transposed and contiguous, in ``dtype``, biases in float32;
        made once and kept while the weights are unchanged."""
        params = list(self.net.parameters())
        key = (dtype, tuple((p.data_ptr(), p._version) for p in params))
        cache = self.__dict__.get("_products")
        if cache is None or cache[0] != key:
            ws = [(layer.weight.t().to(dtype).contiguous(), layer.bias.float()) for layer in self.net.layers]
            cache = (key, ws)
            self.__dict__["_products"] = cache
        return cache[1]

    @torch.no_grad()
    def estimate_sequence(self, mag: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Target magnitudes of consecutive frames (the streaming separator's path).

        mag: ``(batch, frames, bins)`` with ``context_margin`` extra frames on each side
        (zeros beyond the signal); ``bins`` as in :meth:`estimate`. Returns
        ``(batch, frames - 2 * margin, bins)``, equal to :meth:`estimate` on the stacked
        blocks (see :func:`saesep.network.forward_sequence`). dtype: of the matrix products.
        """
        mag, extra = self._band(mag)
        out = forward_sequence(_TORCH, mag.contiguous(), self._product_weights(dtype), self.spectral, dtype)
        return torch.nn.functional.pad(out, (0, extra)) if extra else out

    engine = "torch"

    @property
    def macs(self) -> int:
        """Multiply-adds of the network per frame and channel."""
        return sum(layer.weight.numel() for layer in self.net.layers)

    @property
    def device(self):
        return self.net.layers[0].weight.device if len(self.net.layers) else torch.device("cpu")

    def to(self, device) -> "Model":
        self.net.to(device)
        return self


@dataclass
class Ensemble:
    """Networks of one target and STFT trained apart (e.g. with different seeds), used as one
    model: the mean of their estimates, which a single network's seed-to-seed spread does not
    have. It is saved in one model file and loads as one; the separation options are its own
    (``meta``), each member keeps its config and history."""

    members: list[Model]
    meta: dict = field(default_factory=dict)
    engine = "torch"

    def __post_init__(self):
        check_members(self.members)

    @property
    def spectral(self) -> SpectralConfig:
        return self.members[0].spectral

    @property
    def target(self) -> str:
        return self.members[0].target

    @property
    def train(self) -> TrainConfig:
        return self.members[0].train

    @property
    def history(self) -> dict:
        """The members' configs and histories, and the training time of all of them."""
        hs = [m.history for m in self.members]
        total = {k: round(sum(h.get(k) or 0 for h in hs), 2) for k in ("cpu_seconds", "train_seconds")}
        return {**total, "members": [{"train": to_dict(m.train), "history": m.history} for m in self.members]}

    @property
    def macs(self) -> int:
        return sum(m.macs for m in self.members)

    @property
    def device(self):
        return self.members[0].device

    def to(self, device) -> "Ensemble":
        for m in self.members:
            m.to(device)
        return self

    @torch.no_grad()
    def estimate(self, blocks: torch.Tensor) -> torch.Tensor:
        return sum(m.estimate(blocks) for m in self.members) / len(self.members)

    @torch.no_grad()
    def estimate_sequence(self, mag: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return sum(m.estimate_sequence(mag, dtype) for m in self.members) / len(self.members)


def check_members(members) -> None:
    """What networks need to be averaged: two or more, one target, one STFT, one shape."""
    if len(members) < 2:
        raise SaesepError("an ensemble needs two or more models")
    if any(isinstance(m, Ensemble) for m in members):
        raise SaesepError("an ensemble's members are single models")
    first = members[0]
    for m in members[1:]:
        if m.target != first.target:
            raise SaesepError(f"models for '{first.target}' and '{m.target}' cannot be averaged")
        if m.spectral != first.spectral:
            raise SaesepError("models with different STFT settings cannot be averaged")
        if [tuple(p.shape) for p in m.net.parameters()] != [tuple(p.shape) for p in first.net.parameters()]:
            raise SaesepError("models with different layers cannot be averaged")


def combine(models, meta: dict | None = None) -> Ensemble:
    """An :class:`Ensemble` of ``models`` (paths or loaded models). Its separation options
    and other metadata are ``meta``, by default the first model's."""
    members = [load(m) if isinstance(m, (str, Path)) else m for m in models]
    return Ensemble(members, dict(members[0].meta if meta is None else meta))


def save(model: "Model | Ensemble", path, extra: dict | None = None, half: bool = False, protect: tuple = ()) -> None:
    """Write a model file loadable with ``torch.load(weights_only=True)``.

    Metadata are stored as one JSON string; tensors as a plain state dict.
    ``extra`` adds tensors/values (training checkpoints); ``half`` stores float16 weights
    in a deflated archive (the shipped models);
    ``protect``: files that ``path`` must not be (the inputs it was made from).
    """
    from .files import atomic_output

    members = model.members if isinstance(model, Ensemble) else [model]
    state = {}
    for i, m in enumerate(members):
        prefix = f"members.{i}." if len(members) > 1 else ""
        state.update({prefix + k: (v.half() if half else v.float()).cpu().contiguous() for k, v in m.net.state_dict().items()})
    net = members[0].net
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "target": model.target,
        "n_layers": len(net.layers), "n_bins": net.n_bins, "context_frames": net.context_frames,
        "hidden_units": net.hidden, **({"networks": len(members)} if len(members) > 1 else {}),
        "spectral": to_dict(model.spectral), "train": to_dict(model.train), "history": model.history,
        "meta": {**model.meta, "versions": model.meta.get("versions", package_versions()),
                 "saved_at": model.meta.get("saved_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))},
    }
    payload = {"format": FORMAT, "meta_json": json.dumps(meta), "state_dict": state}
    if extra:
        payload["extra"] = extra
    with atomic_output(path, protect) as tmp:
        torch.save(payload, tmp)
        if half:
            deflate(tmp)


def deflate(path) -> None:
    """Rewrite the zip archive ``torch.save`` wrote at ``path`` with its entries deflated (the
    shipped models: float16 weights take about a sixth less room; ``torch.load`` and saesep's
    own reader read it as before)."""
    import zipfile

    packed = Path(str(path) + ".deflate")
    try:
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info.filename))
        packed.replace(path)
    finally:
        packed.unlink(missing_ok=True)


def load_payload(path) -> tuple[dict, dict]:
    """Read a model file safely. Returns ``(meta, payload)``; raises SaesepError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise SaesepError(f"no such model file: '{path}'")
    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:
        # includes pickles that reference code: weights_only refuses them without running anything
        raise SaesepError(f"'{path}' is not a saesep model file (not a weights-only torch file)") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "meta_json" not in payload:
        raise SaesepError(f"'{path}' is not a saesep model file")
    try:
        meta = json.loads(payload["meta_json"])
    except Exception as e:
        raise SaesepError(f"'{path}' is a damaged saesep model file (bad metadata)") from e
    return meta, payload


def load(path, device: str | torch.device = "cpu") -> "Model | Ensemble":
    """Load a model file written by :func:`save`: a :class:`Model`, or an :class:`Ensemble`
    for a file of several networks."""
    meta, payload = load_payload(path)
    try:
        if not isinstance(meta, dict):
            raise TypeError("metadata is not a mapping")
        spectral = from_dict(SpectralConfig, meta["spectral"])
        members = []
        for i, (state, train, history) in enumerate(member_parts(meta, payload["state_dict"])):
            net = StackedDNN(meta["n_bins"], meta["context_frames"], meta["n_layers"], meta.get("hidden_units", 0))
            net.load_state_dict(state)  # copied into the float32 parameters: no float32 temporaries
            members.append(Model(net, spectral, meta["target"], from_dict(TrainConfig, train), history,
                                 meta.get("meta", {}) if len(members) == 0 else {}))
        del payload
    except SaesepError:
        raise
    except Exception as e:
        raise SaesepError(f"'{path}' is a damaged saesep model file ({type(e).__name__})") from e
    for m in members:
        if spectral.net_bins != m.net.n_bins or spectral.context_frames != m.net.context_frames:
            raise SaesepError(f"'{path}' is a damaged saesep model file (config does not match weights)")
        check_model(meta, spectral, [p.detach().numpy() for p in m.net.parameters()], path)
        m.net.eval()
    model = members[0] if len(members) == 1 else Ensemble(members, meta.get("meta", {}))
    return model.to(device)
