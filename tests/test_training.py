"""Layer-wise training: the staircase, its history, reproducibility, validation, optimisers, collapses, pooled folders."""

import json
import numpy as np
import pytest
import soundfile as sf
import torch

from saesep.errors import SaesepError
from saesep.model import StackedDNN, load
from saesep.config import TrainConfig, preset
from saesep.training import learning_rate, train


def test_training_reduces_validation_J_with_a_staircase(tiny_model):
    _, model = tiny_model
    h = model.history
    assert [e["layer"] for e in h["layers_added"]] == [1, 2]
    for ev in h["layers_added"]:
        assert ev["J_valid_after"] <= ev["J_valid_before"]  # LS init: the jump down
    assert h["stages"][-1]["J_valid"] < 0.5 * h["layers_added"][0]["J_valid_after"] or h["stages"][-1]["J_valid"] < h["layers_added"][0]["J_valid_after"]
    assert h["curve"][0]["J_valid"] == 1.0


def test_history_records_training_time_and_plots_against_it(tiny_model, tmp_path):
    from saesep.plot import plot_history

    h = tiny_model[1].history
    secs = [p["seconds"] for p in h["curve"]]
    assert secs[0] >= 0 and secs == sorted(secs) and secs[-1] > 0
    assert secs[-1] <= sum(st["seconds"] for st in h["stages"]) + 1.0  # time inside the stages
    for ev in h["layers_added"]:  # the jump is marked where the new layer's first point is
        assert any(p["seconds"] == ev["seconds"] and p["J_valid"] == ev["J_valid_after"] for p in h["curve"])
    plot_history([h, h], tmp_path / "t.png", labels=["a", "b"], x="seconds")
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    old = {"curve": [{k: v for k, v in p.items() if k != "seconds"} for p in h["curve"]], "layers_added": []}
    with pytest.raises(ValueError, match="older saesep"):
        plot_history(old, tmp_path / "old.png", x="seconds")


def test_same_seed_same_model(track_folder, tmp_path, tiny_model):
    """Same seed, same model — also when 2 loader processes draw the batches (the fixture used none)."""
    _, first = tiny_model
    again = train(track_folder, tmp_path / "again.pt", target="bass", preset="tiny", progress=False, log=lambda m: None,
                  workers=2)
    assert first.meta["workers"] == 0 and again.meta["workers"] == 2
    assert first.history["threads"] == again.history["threads"] == torch.get_num_threads()  # recorded: it matters
    for a, b in zip(first.net.state_dict().values(), again.net.state_dict().values()):
        assert torch.equal(a, b)
    assert [p["J_valid"] for p in first.history["curve"]] == [p["J_valid"] for p in again.history["curve"]]


def test_validation_on_another_track_folder(track_folder, tmp_path, tiny_model):
    """--valid: J_valid is measured on those tracks (here the test split), the training data is unchanged."""
    _, first = tiny_model
    m = train(track_folder, tmp_path / "v.pt", target="bass", preset="tiny", valid=track_folder / "test",
              progress=False, log=lambda m: None)
    assert m.meta["valid_data"] == "test" and first.meta["valid_data"] is None  # the folder by name
    # the same training blocks give the same LS init (later the weights kept at the best J_valid differ)
    assert [p["J_train"] for p in m.history["curve"][:2]] == [p["J_train"] for p in first.history["curve"][:2]]
    assert m.history["layers_added"][0]["J_valid_after"] != first.history["layers_added"][0]["J_valid_after"]
    # resuming with other validation tracks than the interrupted run's is refused
    import shutil
    shutil.copy(tiny_model[0], tmp_path / "r.pt.ckpt")
    with pytest.raises(SaesepError, match="validated on DATA/valid"):
        train(track_folder, tmp_path / "r.pt", target="bass", preset="tiny", valid=track_folder / "test", resume=True,
              progress=False, log=lambda m: None)
    empty = tmp_path / "empty" / "t0"
    empty.mkdir(parents=True)
    sf.write(empty / "drums.wav", np.zeros((100, 2), np.float32), 22050)
    with pytest.raises(SaesepError, match="'bass'"):
        train(track_folder, tmp_path / "w.pt", target="bass", preset="tiny", valid=empty.parent, progress=False,
              log=lambda m: None)


def test_validation_on_two_folders_is_validation_on_their_tracks_together(track_folder, tmp_path):
    """--valid A --valid B: the same validation as one folder holding the tracks of A and of B."""
    both = tmp_path / "both"
    both.mkdir()
    for i, split in enumerate(("valid", "test")):  # named so that valid's tracks sort first
        for t in sorted((track_folder / split).iterdir()):
            (both / f"{i}_{t.name}").symlink_to(t, target_is_directory=True)
    kw = dict(target="bass", preset="tiny", layers=2, iters_per_layer=20, finetune_iters=0, progress=False,
              log=lambda m: None)
    two = train(track_folder, tmp_path / "two.pt", valid=[track_folder / "valid", track_folder / "test"], **kw)
    one = train(track_folder, tmp_path / "one.pt", valid=both, **kw)
    assert two.meta["valid_data"] == ["valid", "test"]
    assert [p["J_valid"] for p in two.history["curve"]] == [p["J_valid"] for p in one.history["curve"]]


def test_identity_init_shows_no_jump(track_folder, tmp_path):
    m = train(track_folder, tmp_path / "id.pt", target="bass", preset="tiny", init="identity", layers=2,
              iters_per_layer=20, finetune_iters=0, progress=False, log=lambda m: None)
    ev = m.history["layers_added"]
    assert ev[0]["J_valid_after"] == pytest.approx(1.0)  # identity on the centre frame: J = 1
    assert ev[1]["J_valid_after"] == pytest.approx(ev[1]["J_valid_before"], rel=1e-6)


def test_lbfgs_paper_schedule_runs(track_folder, tmp_path):
    m = train(track_folder, tmp_path / "lb.pt", target="bass", preset="uhlich2015", layers=2, iters_per_layer=5,
              finetune_iters=5, samples=2048, valid_samples=1024, monitor_samples=1024, eval_every=5,
              pool_tracks=4, progress=False, log=lambda m: None)
    st = m.history["stages"]
    assert len(st) == 3 and st[-1]["J_valid"] < 1.0
    assert m.spectral.window == "rectangular" and m.spectral.sample_rate == 32000


def test_loader_process_errors_arrive_as_one_line(track_folder):
    from saesep.config import preset
    from saesep.datasets import find_tracks
    from saesep.errors import SaesepError
    from saesep.loader import BatchSource, SamplerSpec

    p = preset("tiny")
    src = BatchSource(SamplerSpec(find_tracks(track_folder, "train"), "nosuch", p.spectral, p.train, [0]), workers=1)
    try:
        with pytest.raises(SaesepError, match="'nosuch' stems drawn for training are silent"):
            src.next(16)
    finally:
        src.close()
    assert not src.procs


def test_warmup_starts_adam_gently(track_folder, tmp_path):
    """With a very long warm-up the learning rate stays ~0: the stage keeps the LS layer's J;
    without it the same 20 Adam steps move J."""
    kw = dict(target="bass", preset="tiny", layers=1, iters_per_layer=20, finetune_iters=0, eval_every=20,
              patience=1000, progress=False, log=lambda m: None)
    slow = train(track_folder, tmp_path / "slow.pt", warmup_iters=10**9, **kw)
    fast = train(track_folder, tmp_path / "fast.pt", **kw)
    ls_j = slow.history["layers_added"][0]["J_train_after"]
    assert fast.history["layers_added"][0]["J_train_after"] == ls_j  # same LS layer
    assert abs(slow.history["curve"][-1]["J_train"] - ls_j) < 1e-6 * ls_j * 100
    assert abs(fast.history["curve"][-1]["J_train"] - ls_j) > 1e-3 * ls_j


def test_cosine_schedule_follows_torchs_cosine_annealing():
    """With lr_schedule cosine each stage's rate is torch's CosineAnnealingLR to 0 over the
    stage: lr at the first iteration, lr/2 halfway, near 0 at the last."""
    lr, total = 1e-3, 40
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=lr)
    ref = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=0.0)
    cfg = TrainConfig(lr_schedule="cosine")
    for done in range(total):
        assert learning_rate(cfg, lr, done, total) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9, abs=1e-15)
        opt.step()
        ref.step()
    assert learning_rate(TrainConfig(), lr, total - 1, total) == lr  # constant: unchanged


def test_cosine_schedule_runs_every_stage_to_its_end(track_folder, tmp_path):
    """The schedule sets a stage's length: no early stop even with a patience of 0."""
    m = train(track_folder, tmp_path / "cos.pt", target="bass", preset="tiny", layers=2, iters_per_layer=12,
              finetune_iters=6, eval_every=1, patience=0, lr_schedule="cosine", progress=False, log=lambda m: None)
    assert [st["iterations"] for st in m.history["stages"]] == [12, 12, 6]
    assert load(tmp_path / "cos.pt").train.lr_schedule == "cosine"


def test_the_default_preset_trains_with_the_cosine_schedule_and_tiny_with_a_constant_rate():
    assert preset("default").train.lr_schedule == "cosine"
    assert preset("tiny").train.lr_schedule == "constant"


def test_a_file_from_before_the_schedule_existed_reads_as_a_constant_rate(tiny_model, tmp_path):
    """Files without the lr_schedule field were trained with a constant rate; the default
    preset's cosine must not be read into them."""
    payload = torch.load(tiny_model[0], weights_only=True)
    meta = json.loads(payload["meta_json"])
    del meta["train"]["lr_schedule"]
    payload["meta_json"] = json.dumps(meta)
    torch.save(payload, tmp_path / "old.pt")
    assert load(tmp_path / "old.pt").train.lr_schedule == "constant"


def test_a_collapse_restores_the_best_weights_and_lowers_the_learning_rate(track_folder, tmp_path):
    """Adam at lr 0.3 throws the LS-initialised ReLU network far off (J_valid ×10 in 10
    steps). The stage goes back to its best weights and carries on at lr/10, then lr/100,
    and ends as good as a sane learning rate; with no drop allowed the stage stops at once
    and keeps its LS weights instead of the collapsed ones."""
    kw = dict(target="bass", preset="tiny", iters_per_layer=60, finetune_iters=0, eval_every=10,
              progress=False, log=lambda m: None)
    sane = train(track_folder, tmp_path / "sane.pt", **kw)
    hot = train(track_folder, tmp_path / "hot.pt", lr=0.3, **kw)
    drops = hot.history["lr_drops"]
    assert [d["lr"] for d in drops] == pytest.approx([0.03, 0.003])
    assert all(d["J_valid"] > 2 * hot.history["layers_added"][0]["J_valid_after"] for d in drops)
    for st, add in zip(hot.history["stages"], hot.history["layers_added"]):
        assert st["J_valid"] <= add["J_valid_after"]  # never worse than where the stage started
    assert hot.history["stages"][-1]["J_valid"] < 1.2 * sane.history["stages"][-1]["J_valid"]
    assert "lr_drops" not in sane.history
    assert load(tmp_path / "hot.pt").history["lr_drops"] == drops  # kept in the model file
    from click.testing import CliRunner

    from saesep.cli import main
    shown = CliRunner().invoke(main, ["info", str(tmp_path / "hot.pt")]).output
    assert "collapse in layer 1 at it 10: best weights restored, learning rate 0.03" in shown
    from saesep.plot import plot_history
    for x in ("iteration", "seconds"):  # the collapses are marked on the staircase
        plot_history(hot.history, tmp_path / f"hot_{x}.png", x=x)
        assert (tmp_path / f"hot_{x}.png").stat().st_size > 10_000

    none = train(track_folder, tmp_path / "none.pt", lr=0.3, max_lr_drops=0, layers=1, **kw)
    assert none.history["stages"][0]["iterations"] == 10
    assert none.history["stages"][0]["J_valid"] == none.history["layers_added"][0]["J_valid_after"]
    assert none.history["curve"][-1]["J_valid"] == none.history["layers_added"][0]["J_valid_after"]


def test_training_pools_the_tracks_of_several_folders(track_folder, tmp_path):
    """--data A --data B: the training tracks of both folders, validation on A's valid/;
    the model file records both folders; a second folder without the target is an error."""
    from click.testing import CliRunner

    from saesep.cli import main
    from saesep.config import TrainConfig, preset
    from saesep.training import Trainer
    from conftest import write_track_folder

    # other audio than track_folder's train tracks (seeds 9-11), under the same names track00-track02
    second = write_track_folder(tmp_path / "second", splits=(("valid", 9), ("train", 3)))
    p = preset("tiny")
    tr = Trainer([track_folder, second], p.spectral, TrainConfig(**{**p.train.__dict__, "target": "bass"}),
                 progress=False, log=lambda m: None)
    try:
        paths = [t.path for t in tr.source.spec.tracks]
    finally:
        tr.source.close()
    assert paths == sorted((track_folder / "train").iterdir()) + sorted((second / "train").iterdir())
    from saesep.datasets import BlockSampler, find_tracks

    def pooled_energy(tracks):  # every track in one pool (channel mean): the target's total spectral energy
        bs = BlockSampler(tracks, "bass", p.spectral, TrainConfig(**{**p.train.__dict__, "target": "bass"}), seed=0)
        bs._load_pool(list(range(len(tracks))), np.full(len(tracks), 0.99))
        return float((bs.spec["bass"].double() ** 2).sum())

    a, b = find_tracks(track_folder, "train"), find_tracks(second, "train")
    assert pooled_energy(a + b) == pytest.approx(pooled_energy(a) + pooled_energy(b), rel=1e-5)
    out = tmp_path / "m.pt"
    res = CliRunner().invoke(main, ["train", "--data", str(track_folder), "--data", str(second), "--out", str(out),
                                    "--preset", "tiny", "--iters-per-layer", "10", "--finetune-iters", "0", "-q"])
    assert res.exit_code == 0, res.output
    assert load(out).meta["data"] == [track_folder.name, second.name]  # names, not this machine's paths
    for t in (second / "train").iterdir():
        (t / "bass.wav").unlink()
    res = CliRunner().invoke(main, ["train", "--data", str(track_folder), "--data", str(second), "--out", str(out) + "2",
                                    "--preset", "tiny", "-q"])
    assert res.exit_code != 0 and "has a 'bass' stem" in res.output and "Traceback" not in res.output


def test_fixed_sets_are_rank_major(track_folder):
    """With emulated ranks, a fixed set holds rank 0's blocks first, as rank 0's process does."""
    from saesep.config import preset
    from saesep.datasets import MONITOR, find_tracks
    from saesep.loader import BatchSource, SamplerSpec

    p = preset("tiny")
    tracks = find_tracks(track_folder, "train")
    two = BatchSource(SamplerSpec(tracks, "bass", p.spectral, p.train, [0, 1000])).fixed(300, MONITOR, batch=128)
    one = BatchSource(SamplerSpec(tracks, "bass", p.spectral, p.train, [0])).fixed(300, MONITOR, batch=128)
    other = BatchSource(SamplerSpec(tracks, "bass", p.spectral, p.train, [1000])).fixed(300, MONITOR, batch=128)
    assert torch.equal(two[0][:300], one[0]) and torch.equal(two[0][300:], other[0])
    assert torch.equal(two[1][:300], one[1])


def test_J_train_is_measured_on_the_pool_being_trained_on(track_folder):
    """With one track per pool, renewed every 10 batches, each point of the J_train curve is
    J on blocks of the pool the batches came from at that moment."""
    from saesep.datasets import MONITOR
    from saesep.loader import BatchSource
    from saesep.training import Trainer, configs, normalised_error

    spectral, cfg = configs("tiny", "bass", layers=1, iters_per_layer=50, finetune_iters=0, eval_every=25,
                            pool_tracks=1, pool_refresh=10 * 128, patience=100)
    tr = Trainer(track_folder, spectral, cfg, progress=False, log=lambda m: None)
    model = tr.fit()
    last = model.history["curve"][-1]
    drawn = cfg.ls_samples + last["iteration"] * cfg.batch_size  # the least-squares blocks, then Adam's
    final_pool = drawn // cfg.pool_refresh
    assert final_pool >= 4
    source = BatchSource(tr.source.spec)
    first, now = source.fixed(cfg.monitor_samples, MONITOR), source.fixed(cfg.monitor_samples, MONITOR, pool=final_pool)
    assert last["J_train"] == pytest.approx(normalised_error(model.net, *now), rel=1e-6)
    assert last["J_train"] != pytest.approx(normalised_error(model.net, *first), rel=1e-3)


def test_wide_hidden_layers_train_with_a_least_squares_jump(track_folder, tmp_path):
    m = train(track_folder, tmp_path / "wide.pt", target="bass", preset="tiny", layers=3, width=300,
              iters_per_layer=20, finetune_iters=0, progress=False, log=lambda m: None)
    bins = m.spectral.net_bins
    assert [tuple(layer.weight.shape) for layer in m.net.layers] == [(300, bins * m.spectral.context_frames), (300, 300), (bins, 300)]
    for ev in m.history["layers_added"]:
        assert ev["J_valid_after"] < ev["J_valid_before"]
    assert load(tmp_path / "wide.pt").net.hidden == 300


def test_width_below_the_bins_is_refused(track_folder, tmp_path):
    with pytest.raises(SaesepError, match="width must be 0 or at least"):
        train(track_folder, tmp_path / "narrow.pt", target="bass", preset="tiny", width=3, progress=False)


@pytest.mark.parametrize("rectify_top,learns", [(True, False), (False, True)])
def test_only_the_linear_top_loss_reaches_an_output_unit_that_is_off_for_every_block(rectify_top, learns):
    """TrainConfig.top_loss: the loss on the rectified estimate gives a unit switched off for
    every block no gradient (it is dead for good); on the values before the ReLU it does."""
    net = StackedDNN(4, 1, n_layers=1)
    with torch.no_grad():
        net.layers[0].bias[2] = -100.0
    x, s = torch.rand(64, 4), torch.rand(64, 4)
    ((net(x, rectify_top) - s) ** 2).sum().backward()
    assert bool(net.layers[0].weight.grad[2].abs().sum() > 0) == learns
    assert net(x)[:, 2].abs().max() == 0  # the estimate itself is rectified either way
