"""The trained network's forward pass over consecutive frames, for numpy or torch, and the
numpy model that extraction on a CPU uses without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .backend import NumpyOps, choose_engine
from .config import SpectralConfig, TrainConfig, from_dict
from .errors import SaesepError
from .spectral import EPS, context_margin, context_offsets
from .weights import check_model, member_parts, parse_meta, read_payload

_NUMPY = NumpyOps()


def forward_sequence(ops, mag, layers: list, cfg: SpectralConfig, dtype):
    """Target magnitudes of consecutive frames.

    mag: ``(batch, frames, net_bins)`` context magnitudes with ``context_margin`` extra frames on
    each side (zeros beyond the signal). layers: ``[(Wᵀ (d_in, d_out) in dtype, b (d_out,) float32)]``.
    Returns ``(batch, frames - 2 * margin, net_bins)`` float32. The first layer is linear, so
    W₁(x/γ) is computed as (W₁x)/γ: one product on the unnormalised blocks, whose γ (the mean
    norm of a block's frames) comes from the frames' norms. Products in ``dtype`` (bfloat16:
    AMX), accumulated in float32; biases, γ and the output stay float32.
    """
    offs, m = context_offsets(cfg), context_margin(cfg)
    n = mag.shape[1] - 2 * m
    if not layers:
        return mag[:, m:m + n] * 1
    norms = ops.norm(mag)
    g = sum(norms[:, m + o:m + o + n] for o in offs)[..., None] / len(offs)  # γ per centre frame
    low = ops.cast(mag, dtype)
    blocks = ops.concat_last([low[:, m + o:m + o + n] for o in offs])  # (batch, n, (2C+1) bins)
    h = ops.cast(blocks @ layers[0][0], ops.float32)
    del blocks, low
    h /= g + EPS
    h += layers[0][1]
    h = ops.relu_(h)
    for w, bias in layers[1:]:
        h = ops.cast(ops.cast(h, dtype) @ w, ops.float32)
        h += bias
        h = ops.relu_(h)
    h *= g
    return h


def band(mag, net_bins: int):
    """The bins a network sees (the first ``net_bins``), and how many to add back as zeros."""
    if mag.shape[-1] < net_bins:
        raise SaesepError(f"the model needs {net_bins} frequency bins, got {mag.shape[-1]}")
    return (mag[..., :net_bins], mag.shape[-1] - net_bins) if mag.shape[-1] > net_bins else (mag, 0)


def macs_per_frame(meta: dict) -> int:
    """Multiply-adds of the network (all of an ensemble's) per frame and channel."""
    return sum(d_in * d_out for d_in, d_out in layer_shapes(meta)) * meta.get("networks", 1)


def layer_shapes(meta: dict) -> list[tuple[int, int]]:
    """``(inputs, units)`` of each layer of a model file's network: the output layer has
    ``n_bins`` units, those below it ``hidden_units`` (older files: ``n_bins``)."""
    bins, frames, layers = meta["n_bins"], meta["context_frames"], meta["n_layers"]
    hidden = meta.get("hidden_units") or bins
    units = [hidden] * (layers - 1) + [bins] if layers else []
    return [(bins * frames if k == 0 else units[k - 1], u) for k, u in enumerate(units)]


@dataclass
class NumpyModel:
    """A model file's network as numpy float32 arrays: what extraction on a CPU runs.
    ``networks``: each network's layers; several (an ensemble): their estimates averaged."""

    networks: list
    spectral: SpectralConfig
    target: str
    train: TrainConfig = field(default_factory=TrainConfig)
    history: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    engine = "numpy"
    device = "cpu"

    @property
    def macs(self) -> int:
        return sum(w.size for layers in self.networks for w, _ in layers)

    def estimate_sequence(self, mag: np.ndarray, dtype=np.float32) -> np.ndarray:
        """As :meth:`saesep.model.Model.estimate_sequence`, in numpy float32."""
        mag, extra = band(mag, self.spectral.net_bins)
        mag = np.ascontiguousarray(mag)
        out = forward_sequence(_NUMPY, mag, self.networks[0], self.spectral, np.float32)
        for layers in self.networks[1:]:
            out += forward_sequence(_NUMPY, mag, layers, self.spectral, np.float32)
        if len(self.networks) > 1:
            out /= len(self.networks)
        return np.pad(out, [(0, 0), (0, 0), (0, extra)]) if extra else out


def load_numpy(path, payload: dict | None = None) -> NumpyModel:
    """Load a model file into numpy, without torch (same checks as :func:`saesep.model.load`);
    ``payload``: the file's :func:`~saesep.weights.read_payload`, when already read."""
    payload = payload if payload is not None else read_payload(path)
    meta = parse_meta(payload, path)
    try:
        spectral = from_dict(SpectralConfig, meta["spectral"])
        n = int(meta["n_layers"])
        parts = member_parts(meta, payload["state_dict"])
        train = from_dict(TrainConfig, parts[0][1])
        members = []
        for state, _, _ in parts:
            members.append([state[f"layers.{k}.{p}"] for k in range(n) for p in ("weight", "bias")])
            if len(state) != 2 * n:
                raise KeyError("extra tensors")
    except SaesepError:
        raise
    except Exception as e:  # noqa: BLE001
        raise SaesepError(f"'{path}' is a damaged saesep model file ({type(e).__name__})") from e
    networks = []
    for arrays in members:
        check_model(meta, spectral, arrays, path)
        layers = []
        for k, (d_in, units) in enumerate(layer_shapes(meta)):
            w, b = arrays[2 * k].astype(np.float32), arrays[2 * k + 1].astype(np.float32)
            if w.shape != (units, d_in) or b.shape != (units,):
                raise SaesepError(f"'{path}' is a damaged saesep model file (config does not match weights)")
            layers.append((np.ascontiguousarray(w.T), b))
        networks.append(layers)
    return NumpyModel(networks, spectral, meta["target"], train, meta.get("history", {}), meta.get("meta", {}))


def load_models(paths, device: str = "cpu", precision: str = "auto", engine: str = "auto") -> dict:
    """Load model files into ``{target: model}`` for extraction on ``device``, in order: numpy
    or torch models, as :func:`saesep.backend.choose_engine` picks.
    Two models for one target is an error.
    """
    payloads = {p: read_payload(p) for p in paths}  # each file read once
    metas = [parse_meta(payload, p) for p, payload in payloads.items()]
    macs = max((macs_per_frame(m) for m in metas if isinstance(m.get("n_bins"), int)), default=0)
    engine, _ = choose_engine(device, precision, macs, engine)
    models: dict = {}
    for p in paths:
        if engine == "numpy":
            m = load_numpy(p, payloads[p])
        else:
            from .model import load

            m = load(p, device)
        if m.target in models:
            raise SaesepError(f"two models extract '{m.target}'")
        models[m.target] = m
    return models
