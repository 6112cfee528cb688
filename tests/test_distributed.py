"""torchrun with 2 CPU processes (gloo, localhost) matches single-process training on the same samples."""

import socket
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from saesep import spectral

from saesep.model import load
from saesep.training import Trainer, configs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _emulated(data, **kw):
    """Two ranks' samplers drawn in one process: what torchrun --nproc_per_node=2 trains."""
    spectral, cfg = configs("tiny", "bass", **kw)
    return Trainer(data, spectral, cfg, progress=False, log=lambda m: None, emulate_ranks=2).fit()


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_two_process_gloo_matches_single_process(track_folder, tmp_path, optimizer):
    opts = ["--layers", "2", "--iters-per-layer", "30", "--finetune-iters", "20", "--optimizer", optimizer]
    if optimizer == "lbfgs":
        opts += ["--samples", "2048"]
    out = tmp_path / "ddp.pt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={_free_port()}", "-m", "saesep", "train", "--data", str(track_folder), "--target", "bass",
           "--out", str(out), "--preset", "tiny", "-q", *opts]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    ddp = load(out)
    assert ddp.meta["ranks"] == 2
    kw = dict(layers=2, iters_per_layer=30, finetune_iters=20, optimizer=optimizer)
    if optimizer == "lbfgs":
        kw["samples"] = 2048
    single = _emulated(track_folder, **kw)
    # the same function: Adam turns float-rounding differences in near-zero gradients into
    # lr-sized steps of single weights, so compare what the networks compute, not each weight
    mix, _ = sf.read(track_folder / "test" / "track00" / "mixture.wav", dtype="float32", always_2d=True)
    blocks = spectral.stack_context(torch.from_numpy(np.abs(spectral.stft(mix.T, single.spectral))), single.spectral)
    ya, yb = single.estimate(blocks), ddp.estimate(blocks)
    assert float((ya - yb).norm() / ya.norm()) < 1e-3
    ja = [p["J_valid"] for p in single.history["curve"]]
    jb = [p["J_valid"] for p in ddp.history["curve"]]
    assert len(ja) == len(jb)
    assert max(abs(x - y) / x for x, y in zip(ja, jb)) < 1e-3


def test_two_nodes_static_rendezvous(track_folder, tmp_path):
    """Two torchrun launchers (``--nnodes 2 --node_rank 0/1``), as on two machines, one process each:
    the same model as one launcher with 2 processes would give (checked against the emulation)."""
    port = _free_port()
    out = tmp_path / "nodes.pt"
    common = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
              "--master_addr=127.0.0.1", f"--master_port={port}"]
    args = ["-m", "saesep", "train", "--data", str(track_folder), "--target", "bass", "--out", str(out), "--preset", "tiny",
            "-q", "--layers", "2", "--iters-per-layer", "30", "--finetune-iters", "20"]
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(common + [f"--node_rank={r}"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for r in (0, 1)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
    nodes = load(out)
    assert nodes.meta["ranks"] == 2
    single = _emulated(track_folder, layers=2, iters_per_layer=30, finetune_iters=20)
    ja = [p["J_valid"] for p in single.history["curve"]]
    jb = [p["J_valid"] for p in nodes.history["curve"]]
    assert len(ja) == len(jb) and max(abs(x - y) / x for x, y in zip(ja, jb)) < 1e-3
