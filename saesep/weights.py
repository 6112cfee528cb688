"""A model file read without torch: the zip archive ``torch.save`` writes, unpickled by an
unpickler that knows four names (``OrderedDict``, torch's tensor rebuild and its storage
types) and nothing else, so that a file can never run code, as with
``torch.load(weights_only=True)``. Tensors come back as numpy arrays.

Also the checks every loader applies to a model's metadata, torch or not.
"""

from __future__ import annotations

import collections
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np

from .batch import check_name, shown
from .errors import SaesepError

FORMAT = "saesep-model"
_STORAGES = {"FloatStorage": np.float32, "HalfStorage": np.float16, "DoubleStorage": np.float64,
             "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
             "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


class _Storage:
    def __init__(self, dtype):
        self.dtype = dtype


def _rebuild_tensor(storage: np.ndarray, offset: int, size, stride, *args) -> np.ndarray:
    if not size:
        return storage[offset].copy()
    item = storage.itemsize
    return np.lib.stride_tricks.as_strided(storage[offset:], tuple(size), tuple(s * item for s in stride)).copy()


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, byteorder: str):
        super().__init__(file)
        self.archive, self.prefix, self.byteorder = archive, prefix, byteorder

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGES:
            return _Storage(_STORAGES[name])
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a model file")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage" and isinstance(pid[1], _Storage)):
            raise pickle.UnpicklingError("unexpected persistent id")
        data = self.archive.read(f"{self.prefix}/data/{pid[2]}")
        dtype = np.dtype(pid[1].dtype).newbyteorder("<" if self.byteorder == "little" else ">")
        return np.frombuffer(data, dtype).astype(pid[1].dtype)


def read_payload(path) -> dict:
    """The file's top-level dict (``format``, ``meta_json``, ``state_dict`` of numpy arrays)."""
    path = Path(path)
    if not path.is_file():
        raise SaesepError(f"no such model file: '{shown(path)}'")
    try:
        with zipfile.ZipFile(path) as z:
            pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            prefix = pkl[: -len("/data.pkl")]
            names = set(z.namelist())
            byteorder = z.read(f"{prefix}/byteorder").decode() if f"{prefix}/byteorder" in names else "little"
            with z.open(pkl) as f:
                payload = _Unpickler(f, z, prefix, byteorder).load()
    except Exception as e:  # noqa: BLE001 - any damage is the same one line
        raise SaesepError(f"'{shown(path)}' is not a saesep model file (not a weights-only torch file)") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "meta_json" not in payload:
        raise SaesepError(f"'{shown(path)}' is not a saesep model file")
    return payload


def parse_meta(payload: dict, path) -> dict:
    """The metadata dict of a payload; a clear error if it is not one."""
    try:
        meta = json.loads(payload["meta_json"])
    except Exception as e:  # noqa: BLE001
        raise SaesepError(f"'{shown(path)}' is a damaged saesep model file (bad metadata)") from e
    shape_ok = all(isinstance(meta.get(k, 0), int) and not isinstance(meta.get(k), bool)
                   for k in ("n_layers", "n_bins", "context_frames", "hidden_units", "networks")) if isinstance(meta, dict) else False
    if not shape_ok:
        raise SaesepError(f"'{shown(path)}' is a damaged saesep model file (bad metadata)")
    return meta


def read_meta(path) -> dict:
    """A model file's metadata, read without torch; a clear error if it is not a saesep model."""
    return parse_meta(read_payload(path), path)


def member_parts(meta: dict, state: dict) -> list[tuple[dict, dict, dict]]:
    """``(state dict, train config, history)`` of each network of a model file: one, or the
    members of an ensemble (``meta["networks"]``, tensors named ``members.{i}.…``).
    Raises KeyError, TypeError or ValueError on a damaged file."""
    n = meta.get("networks", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError("bad number of networks")
    if n == 1:
        return [(state, meta["train"], meta.get("history", {}))]
    infos = meta["history"]["members"]
    if len(infos) != n or len(state) != sum(1 for k in state if k.startswith("members.")):
        raise ValueError("members do not match the tensors")
    parts = []
    for i, info in enumerate(infos):
        prefix = f"members.{i}."
        parts.append(({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)},
                      info["train"], info["history"]))
    return parts


def check_model(meta: dict, spectral, weights: list, path) -> None:
    """What every loader refuses: a config that does not match the weights, non-finite
    weights, a target that is not a plain name. ``weights``: the layers' arrays or tensors."""
    layers = len(weights) // 2
    ok = layers == meta.get("n_layers") and spectral.net_bins == meta.get("n_bins") \
        and spectral.context_frames == meta.get("context_frames")
    if not ok:
        raise SaesepError(f"'{shown(path)}' is a damaged saesep model file (config does not match weights)")
    if not all(np.isfinite(np.asarray(w, dtype=np.float32)).all() for w in weights):
        raise SaesepError(f"'{shown(path)}' is a damaged saesep model file (NaN or infinite weights)")
    try:
        check_name(meta.get("target"))
    except SaesepError as e:
        raise SaesepError(f"'{shown(path)}' is not a usable model file: its {e}") from None
