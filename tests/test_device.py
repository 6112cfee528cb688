"""The same code on a GPU: training and extraction with --device cuda (skipped without one)."""

import numpy as np
import pytest
import torch

from saesep.model import load
from saesep.separation import SeparationOptions, separate
from saesep.training import resolve_device, train
from saesep.errors import SaesepError

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")


def test_device_auto_and_missing_cuda():
    assert resolve_device("auto") in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(SaesepError, match="no CUDA GPU"):
            resolve_device("cuda")


@cuda
def test_train_and_extract_on_gpu_match_cpu(track_folder, tiny_model, tmp_path):
    m = train(track_folder, tmp_path / "gpu.pt", target="bass", preset="tiny", device="cuda", progress=False,
              log=lambda m: None, iters_per_layer=30, finetune_iters=0)
    assert m.history["stages"][-1]["J_valid"] < 0.5
    cpu_model = load(tiny_model[0])
    gpu_model = load(tiny_model[0], device="cuda")
    x = (0.1 * np.random.default_rng(0).standard_normal((2, 44100))).astype(np.float32)
    a = separate(x, 22050, cpu_model)["bass"]
    b = separate(x, 22050, gpu_model, SeparationOptions())["bass"]
    assert np.abs(a - b).max() < 1e-3
