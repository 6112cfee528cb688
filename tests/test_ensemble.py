"""Model files of several networks: their estimates averaged, their records kept, bad sets refused."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from saesep.cli import main
from saesep.config import SpectralConfig, TrainConfig
from saesep.errors import SaesepError
from saesep.model import Ensemble, Model, StackedDNN, combine, load, save
from saesep.network import load_models, load_numpy
from saesep.separation import separate

SPECTRAL = SpectralConfig(n_fft=64, hop=32, context=1)


def _model(seed: int, target: str = "bass", spectral: SpectralConfig = SPECTRAL, layers: int = 2) -> Model:
    torch.manual_seed(seed)
    net = StackedDNN(spectral.net_bins, spectral.context_frames)
    for _ in range(layers):
        net.add_layer("random")
    history = {"cpu_seconds": 10.0 + seed, "train_seconds": 5.0, "stages": [{"name": "fine-tune", "J_valid": 0.5}]}
    return Model(net, spectral, target, TrainConfig(target=target, seed=seed), history, {"mask_power": 0.5 + seed})


@pytest.fixture
def files(tmp_path):
    paths = []
    for seed in (0, 1):
        paths.append(tmp_path / f"m{seed}.pt")
        save(_model(seed), paths[-1])
    save(combine(paths), tmp_path / "ens.pt")
    return paths, tmp_path / "ens.pt"


def test_ensemble_estimate_is_the_mean_of_its_members(files):
    paths, ens = files
    mag = np.random.default_rng(0).random((2, 30, SPECTRAL.net_bins)).astype(np.float32)
    members = [load_numpy(p).estimate_sequence(mag) for p in paths]
    expected = (members[0] + members[1]) / 2
    assert np.allclose(load_numpy(ens).estimate_sequence(mag), expected, atol=1e-6)
    assert np.allclose(load(ens).estimate_sequence(torch.from_numpy(mag)).numpy(), expected, atol=1e-6)


def test_ensemble_separates_with_both_engines_alike(files):
    _, ens = files
    x = np.random.default_rng(1).standard_normal((2, 8000)).astype(np.float32) * 0.1
    out = {e: separate(x, 44100, load_models([ens], engine=e))["bass"] for e in ("numpy", "torch")}
    assert out["numpy"].shape == x.shape
    assert np.allclose(out["numpy"], out["torch"], atol=1e-5)


def test_ensemble_file_keeps_each_member_record_and_the_first_options(files):
    _, ens = files
    m = load(ens)
    assert isinstance(m, Ensemble)
    assert [k.train.seed for k in m.members] == [0, 1]
    assert m.history["cpu_seconds"] == 21.0  # the training time of both: what a budget compares
    assert [h["history"]["stages"][0]["J_valid"] for h in m.history["members"]] == [0.5, 0.5]
    assert m.meta["mask_power"] == 0.5


def test_combine_refuses_models_that_cannot_be_averaged(tmp_path):
    save(_model(0), tmp_path / "a.pt")
    save(_model(1, target="drums"), tmp_path / "drums.pt")
    save(_model(1, spectral=SpectralConfig(n_fft=128, hop=64, context=1)), tmp_path / "stft.pt")
    save(_model(1, layers=3), tmp_path / "deep.pt")
    for other, words in (("drums.pt", "cannot be averaged"), ("stft.pt", "STFT"), ("deep.pt", "layers")):
        with pytest.raises(SaesepError, match=words):
            combine([tmp_path / "a.pt", tmp_path / other])
    with pytest.raises(SaesepError, match="two or more"):
        combine([tmp_path / "a.pt"])


def test_combine_command_never_overwrites_an_input(files):
    paths, _ = files
    before = paths[0].read_bytes()
    res = CliRunner().invoke(main, ["combine", str(paths[0]), str(paths[1]), "--out", str(paths[0])])
    assert res.exit_code == 1 and "refusing to overwrite" in res.output
    assert paths[0].read_bytes() == before


def test_ensemble_file_with_a_missing_member_is_refused(files):
    _, ens = files
    payload = torch.load(ens, weights_only=True)
    meta = json.loads(payload["meta_json"])
    meta["networks"] = 3
    payload["meta_json"] = json.dumps(meta)
    torch.save(payload, ens)
    for loader in (load, load_numpy):
        with pytest.raises(SaesepError, match="damaged"):
            loader(ens)


def test_a_shipped_form_file_is_deflated_and_loads_the_same(files, tmp_path):
    import zipfile

    _, ens = files
    save(load(ens), tmp_path / "half.pt", half=True)
    with zipfile.ZipFile(tmp_path / "half.pt") as z:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())
    mag = np.random.default_rng(2).random((1, 12, SPECTRAL.net_bins)).astype(np.float32)
    a = load_numpy(tmp_path / "half.pt").estimate_sequence(mag)
    b = load(tmp_path / "half.pt").estimate_sequence(torch.from_numpy(mag)).numpy()
    assert np.allclose(a, b, atol=1e-5)
    assert np.allclose(a, load_numpy(ens).estimate_sequence(mag), atol=1e-2)  # float16 weights
