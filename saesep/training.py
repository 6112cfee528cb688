"""Layer-wise training: add a layer → initialise it → train the whole net → … → fine-tune.

The normalised error J = Σ‖s − ŝ‖² / Σ‖s − S x‖² (S x: the mixture's centre frame)
is recorded for a fixed training subset and the validation set, with the
iterations where layers were added, so the staircase can be plotted.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Callable

import torch

from . import model as model_io
from .config import Preset, SpectralConfig, TrainConfig, from_dict, preset as get_preset
from .datasets import FIXED, MONITOR, VALID, find_tracks, require_target
from .backend import resolve_device
from .batch import check_name
from .errors import SaesepError
from .loader import BatchSource, SamplerSpec, auto_workers
from .model import LeastSquares, Model, StackedDNN


@torch.no_grad()
def normalised_error(net: StackedDNN, x: torch.Tensor, s: torch.Tensor, batch: int = 8192) -> float:
    """J on a fixed set: x ``(n, in_features)``, s ``(n, bins)``, both γ-normalised."""
    num = den = 0.0
    for i in range(0, x.shape[0], batch):
        xb, sb = x[i:i + batch], s[i:i + batch]
        num += float(((sb - net(xb)) ** 2).sum())
        den += float(((sb - net.centre(xb)) ** 2).sum())
    return num / max(den, 1e-20)


@torch.no_grad()
def least_squares_layer(net: StackedDNN, batches, ridge: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit the next layer by least squares on the current network's output.

    batches: iterable of ``(x, s)``; the features are ``x`` for the first layer, else ``net(x)``.
    Under torch.distributed, the covariance sums of all ranks are added up (all-reduce),
    so every rank solves the same system and gets the same layer.
    """
    ls = LeastSquares(net.next_in_features, net.n_bins)
    distributed = _world() > 1
    for x, s in batches:
        f = x if len(net.layers) == 0 else net(x)
        if distributed and ls.shift_x is None:  # one shift for all ranks: the mean of their first batches
            mx, ms = f.double().mean(0).cpu(), s.double().mean(0).cpu()
            _all_reduce_mean([mx, ms])
            ls.shift_x, ls.shift_s = mx, ms
        ls.update(f, s)
    if distributed:
        n = torch.tensor([float(ls.n)], dtype=torch.float64)
        tensors = ls.tensors() + [n]
        for t in tensors:
            torch.distributed.all_reduce(t)
        ls.n = int(n.item())
    return ls.solve(ridge)


def _world() -> int:
    return torch.distributed.get_world_size() if torch.distributed.is_available() and torch.distributed.is_initialized() else 1


def _rank() -> int:
    return torch.distributed.get_rank() if _world() > 1 else 0


def _all_reduce_mean(tensors) -> None:
    for t in tensors:
        torch.distributed.all_reduce(t)
        t /= _world()


def init_distributed(device: str) -> tuple[int, int]:
    """Join the process group torchrun describes (env RANK/WORLD_SIZE); gloo on CPU, nccl on GPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        torch.distributed.init_process_group(backend)
    return _rank(), _world()


def _stages(cfg: TrainConfig) -> list[dict]:
    st = [{"name": f"layer {k}", "layers": k, "add": True, "iters": cfg.iters_per_layer} for k in range(1, cfg.layers + 1)]
    if cfg.finetune_iters > 0:
        st.append({"name": "fine-tune", "layers": cfg.layers, "add": False, "iters": cfg.finetune_iters})
    return st


def checkpoint_path(out) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".ckpt")


class Trainer:
    """Holds the data, the network and the history of one training run."""

    def __init__(self, data, spectral: SpectralConfig, cfg: TrainConfig, device: str = "cpu",
                 progress: bool = True, log: Callable[[str], None] = print, emulate_ranks: int = 1,
                 workers: int = 0, valid=None):
        """emulate_ranks: draw every batch from that many rank samplers in one process — what
        ``torchrun --nproc_per_node=N`` does across processes (used to test DDP training).
        workers: loader processes drawing the batches (0: in this process); the result
        does not depend on it. valid: validation track folder instead of ``data/valid``."""
        self.spectral, self.cfg, self.device, self.progress, self.log = spectral, cfg, torch.device(device), progress, log
        torch.manual_seed(cfg.seed)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        roots = [Path(d) for d in (data if isinstance(data, (list, tuple)) else [data])]
        if not roots:
            raise SaesepError("no training data folder given")
        root = roots[0]
        train_tracks = [t for r in roots for t in require_target(find_tracks(r, "train" if (r / "train").is_dir() else None),
                                                                 cfg.target, r)]
        # each rank draws different data: rank r samples with seed + 1000 r
        ranks = [_rank()] if _world() > 1 else list(range(emulate_ranks))
        self.ranks = len(ranks)
        self.source = BatchSource(SamplerSpec(train_tracks, cfg.target, spectral, cfg, [cfg.seed + 1000 * r for r in ranks]),
                                  workers=workers)
        if valid is not None:
            vroot = Path(valid)
            vtracks = require_target(find_tracks(vroot, "valid" if (vroot / "valid").is_dir() else None), cfg.target, vroot)
        elif (root / "valid").is_dir():
            vtracks = require_target(find_tracks(root, "valid"), cfg.target, root / "valid")
        else:
            self.log("no 'valid' split: validating on separate blocks of the training tracks")
            vtracks = train_tracks
        self.valid = BatchSource(SamplerSpec(vtracks, cfg.target, spectral, cfg, [cfg.seed + 1])).fixed(cfg.valid_samples, VALID)
        x, s = self.source.fixed(cfg.monitor_samples, MONITOR)  # (emulated) rank 0's blocks come first
        self.monitor = (x[: cfg.monitor_samples], s[: cfg.monitor_samples])
        self.fixed = None
        if cfg.optimizer == "lbfgs":  # every rank holds its own shard of the fixed set
            self.fixed = self.source.fixed(cfg.samples, FIXED)
            self.fixed_total = cfg.samples * max(_world(), self.ranks)
        self.valid = tuple(t.to(self.device) for t in self.valid)
        self.monitor = tuple(t.to(self.device) for t in self.monitor)
        if self.fixed is not None:
            self.fixed = tuple(t.to(self.device) for t in self.fixed)
            self.monitor = (self.fixed[0][: cfg.monitor_samples], self.fixed[1][: cfg.monitor_samples])
        self.net = StackedDNN(spectral.net_bins, spectral.context_frames).to(self.device)
        self.history = {"curve": [], "layers_added": [], "stages": []}
        self.iteration = 0
        self.stage = 0
        self.resume_in_stage = None
        self.ckpt_path, self.ckpt_meta, self.last_ckpt = None, {}, time.time()
        self.clock_start, self.seconds_before = None, 0.0  # training clock: seconds spent in stages

    def elapsed(self) -> float:
        """Seconds spent in training stages so far (least-squares solves and evaluations
        included, data loading before the first stage not), continued across --resume."""
        if self.clock_start is None:
            self.clock_start = time.time()
        return self.seconds_before + time.time() - self.clock_start

    # ---- measurements -----------------------------------------------------------
    def scores(self) -> tuple[float, float]:
        return normalised_error(self.net, *self.monitor), normalised_error(self.net, *self.valid)

    def _record(self, layer: int):
        jt, jv = self.scores()
        self.history["curve"].append({"iteration": self.iteration, "seconds": round(self.elapsed(), 3), "layers": layer,
                                      "J_train": jt, "J_valid": jv})
        return jt, jv

    # ---- one stage ----------------------------------------------------------------
    def lr(self) -> float:
        """Adam's learning rate now: ``cfg.lr``, divided by 10 after each collapse so far."""
        return self.cfg.lr / 10 ** len(self.history.get("lr_drops", []))

    def _drop_lr(self, st: dict, jv: float) -> bool:
        """After a collapse (the best weights already restored): divide the learning rate by 10
        for the rest of the training, recorded in the history. False when no drop is left."""
        drops = self.history.setdefault("lr_drops", [])
        if self.cfg.optimizer != "adam" or len(drops) >= self.cfg.max_lr_drops:
            return False
        drops.append({"iteration": self.iteration, "seconds": round(self.elapsed(), 3), "stage": st["name"],
                      "J_valid": jv if math.isfinite(jv) else None, "lr": self.lr() / 10})
        self.log(f"{st['name']}: J_valid rose to {jv:.4f} (collapse): best weights restored, "
                 f"learning rate {self.lr():g} from now on")
        return True

    def _ls_batches(self):
        if self.fixed is not None:
            x, s = self.fixed
            for i in range(0, x.shape[0], 4096):
                yield x[i:i + 4096], s[i:i + 4096]
        else:
            n = self.cfg.ls_samples
            for i in range(0, n, 4096):
                # tell the loader the next draw's size: another LS chunk, or the first Adam batch
                nxt = min(4096, n - i - 4096) if i + 4096 < n else self.cfg.batch_size
                x, s = self.source.next(min(4096, n - i), nxt)
                yield x.to(self.device), s.to(self.device)

    def add_layer(self, k: int) -> None:
        jt0, jv0 = self._record(k - 1)  # the point just before the jump
        sol = least_squares_layer(self.net, self._ls_batches(), self.cfg.ridge) if self.cfg.init == "ls" else None
        if sol is not None:
            sol = tuple(t.to(self.device) for t in sol)
        self.net.add_layer(self.cfg.init, sol, generator=self.gen)
        self.net.to(self.device)
        jt1, jv1 = self._record(k)
        self.history["layers_added"].append({"iteration": self.iteration, "seconds": self.history["curve"][-1]["seconds"],
                                             "layer": k, "init": self.cfg.init,
                                             "J_train_before": jt0, "J_train_after": jt1,
                                             "J_valid_before": jv0, "J_valid_after": jv1})
        self.log(f"layer {k} added ({self.cfg.init} init): J_valid {jv0:.4f} -> {jv1:.4f}")

    def _adam_step(self, opt) -> float:
        x, s = self.source.next(self.cfg.batch_size)  # n blocks from each (emulated) rank
        x, s = x.to(self.device), s.to(self.device)
        loss = ((self.ddp(x) - s) ** 2).sum(1).mean()  # DDP averages the gradients over ranks
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    def _lbfgs_step(self, opt) -> float:
        x, s = self.fixed
        n = self.fixed_total  # all ranks' samples together

        def closure():
            opt.zero_grad(set_to_none=True)
            total = torch.zeros(1, dtype=torch.float64)
            for i in range(0, x.shape[0], 16384):
                loss = ((self.net(x[i:i + 16384]) - s[i:i + 16384]) ** 2).sum() / n
                loss.backward()
                total += loss.item()
            if _world() > 1:  # full-batch gradient = sum over the ranks' shards
                for p in self.net.parameters():
                    torch.distributed.all_reduce(p.grad)
                torch.distributed.all_reduce(total)
            return torch.tensor(float(total))

        return float(opt.step(closure))

    def run_stage(self, st: dict, bar=None) -> None:
        cfg = self.cfg
        t0 = time.time()
        self.elapsed()  # starts the clock with the first stage
        inside = self.resume_in_stage  # set when resuming from a checkpoint written mid-stage
        self.resume_in_stage = None
        if st["add"] and inside is None:
            self.add_layer(st["layers"])
        params = list(self.net.parameters())
        self.ddp = self.net
        if _world() > 1 and cfg.optimizer == "adam":
            from torch.nn.parallel import DistributedDataParallel

            self.ddp = DistributedDataParallel(self.net, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        if cfg.optimizer == "adam":
            opt, step = torch.optim.Adam(params, lr=self.lr()), self._adam_step
        else:
            opt = torch.optim.LBFGS(params, lr=1, max_iter=1, history_size=cfg.lbfgs_history, line_search_fn="strong_wolfe")
            step = self._lbfgs_step
        best = (self.history["curve"][-1]["J_valid"] if self.history["curve"] else math.inf)
        start = best  # J_valid of the weights the stage starts from (identical on every rank)
        best_state = {k: v.clone() for k, v in self.net.state_dict().items()}
        since_best = 0
        done = 0
        if inside is not None:
            opt.load_state_dict(inside["opt_state"])
            best, since_best, done = inside["best"], inside["since_best"], inside["stage_iter"]
            start = inside.get("start", math.inf)
            best_state = inside["best_state"]
            t0 -= inside["stage_seconds"]
        for i in range(done, st["iters"]):
            if cfg.optimizer == "adam" and cfg.warmup_iters > 0:  # a function of i: nothing to checkpoint
                for group in opt.param_groups:
                    group["lr"] = self.lr() * min(1.0, (i + 1) / cfg.warmup_iters)
            step(opt)  # a non-finite loss shows as a non-finite J_valid at the next evaluation
            self.iteration += 1
            done += 1
            if bar is not None:
                bar.update(1)
            if (i + 1) % cfg.eval_every == 0 or i + 1 == st["iters"]:
                jt, jv = self._record(st["layers"])  # identical on every rank: same weights, same valid set
                if bar is not None:
                    bar.set_postfix_str(f"{st['name']} J_train {jt:.3f} J_valid {jv:.3f}")
                if not math.isfinite(jv) or (cfg.optimizer == "adam" and jv > cfg.collapse_factor * start):
                    self.net.load_state_dict(best_state)
                    if not self._drop_lr(st, jv):
                        if not math.isfinite(jv):
                            raise SaesepError(f"training diverged (non-finite loss) in stage '{st['name']}' at iteration "
                                              f"{self.iteration}; the last good checkpoint is kept (try a lower --lr)")
                        self.log(f"{st['name']}: J_valid {jv:.4f} after {start:.4f} at the start and no learning-rate "
                                 "drop left: the stage ends with its best weights")
                        break
                    opt, since_best = torch.optim.Adam(params, lr=self.lr()), 0
                    self._record(st["layers"])  # the restored weights
                    continue
                if jv < best - 1e-6:
                    best, since_best = jv, 0
                    best_state = {k: v.clone() for k, v in self.net.state_dict().items()}
                else:
                    since_best += 1
                    if since_best > cfg.patience:
                        self.log(f"{st['name']}: early stop, no validation gain in {since_best} evaluations")
                        break
                if self.ckpt_path is not None and time.time() - self.last_ckpt >= cfg.checkpoint_minutes * 60 \
                        and i + 1 < st["iters"]:
                    self.save_checkpoint(self.ckpt_path, self.ckpt_meta, inside_stage={
                        "stage_iter": done, "opt_state": opt.state_dict(), "best": best, "since_best": since_best,
                        "start": start, "best_state": best_state, "stage_seconds": time.time() - t0})
        if bar is not None and done < st["iters"]:
            bar.update(st["iters"] - done)
        self.net.load_state_dict(best_state)
        if self.history["curve"][-1]["J_valid"] != best:
            self._record(st["layers"])  # the restored best state
        secs = time.time() - t0
        self.history["stages"].append({"name": st["name"], "layers": st["layers"], "iterations": done,
                                       "seconds": round(secs, 2), "J_valid": best,
                                       "samples_per_second": round(done * (cfg.batch_size if cfg.optimizer == "adam" else cfg.samples) / max(secs, 1e-9), 1)})
        self.log(f"{st['name']}: {done} iterations in {secs:.1f} s, J_valid {best:.4f}")

    # ---- persistence --------------------------------------------------------------
    def model(self, meta: dict | None = None) -> Model:
        return Model(self.net, self.spectral, self.cfg.target, self.cfg, self.history, meta or {})

    def save_checkpoint(self, path, meta: dict, inside_stage: dict | None = None) -> None:
        """Everything needed to continue: weights, history, RNGs, the batch counter (the same on
        every rank); mid-stage also the optimiser state and the stage's best state (``inside_stage``)."""
        self.last_ckpt = time.time()
        if _rank() == 0:
            extra = {"stage": self.stage, "iteration": self.iteration, "torch_rng": torch.get_rng_state(),
                     "gen_rng": self.gen.get_state(),
                     "sampler_json": json.dumps({"batches": self.source.state(), "ranks": max(_world(), self.ranks)})}
            if inside_stage is not None:
                extra["inside_stage"] = inside_stage
            model_io.save(self.model(meta), path, extra=extra)
        if _world() > 1:
            torch.distributed.barrier()

    def restore_checkpoint(self, path) -> None:
        meta, payload = model_io.load_payload(path)
        extra = payload.get("extra") or {}
        if "stage" not in extra:
            raise SaesepError(f"'{path}' is a model, not a training checkpoint")
        loaded = model_io.load(path, self.device)
        self.net = loaded.net.to(self.device)
        self.history = loaded.history
        curve = self.history.get("curve") or [{}]
        self.seconds_before = float(curve[-1].get("seconds", 0.0))
        self.stage, self.iteration = int(extra["stage"]), int(extra["iteration"])
        torch.set_rng_state(extra["torch_rng"])
        self.gen.set_state(extra["gen_rng"])
        state = json.loads(extra["sampler_json"])
        if not isinstance(state, dict) or "batches" not in state:
            raise SaesepError(f"checkpoint '{path}' was written by an older saesep; start the training again")
        if state["ranks"] != max(_world(), self.ranks):
            raise SaesepError(f"checkpoint '{path}' was written by {state['ranks']} ranks; resume with as many")
        self.source.set_state(state["batches"])
        self.resume_in_stage = extra.get("inside_stage")


def _resumed_configs(cmeta: dict, spectral: SpectralConfig, cfg: TrainConfig, asked: set):
    """The checkpoint's configs; an option asked for now that differs from them is an error."""
    c_spectral, c_cfg = from_dict(SpectralConfig, cmeta["spectral"]), from_dict(TrainConfig, cmeta["train"])
    diff = [f"--{k.replace('_', '-')} {getattr(old, k)} (asked: {getattr(new, k)})"
            for k in sorted(asked) for old, new in ((c_spectral, spectral), (c_cfg, cfg))
            if hasattr(old, k) and getattr(old, k) != getattr(new, k)]
    if diff:
        raise SaesepError(f"the interrupted run has {', '.join(diff)}: resume without those options, or start afresh")
    return c_spectral, c_cfg


def train(data, out, target: str | None = None, preset: str | Preset = "default", resume: bool = False,
          device: str = "cpu", plot=None, progress: bool = True, log: Callable[[str], None] = print,
          emulate_ranks: int = 1, workers: int | None = None, valid=None, **overrides) -> Model:
    """Train a model on the track folder ``data`` and write it to ``out``.

    ``data``: a track folder, or a list of them whose training tracks are pooled (the
    first one's ``valid`` split validates): e.g. the same kind of music rendered with
    another SoundFont.

    ``valid``: validate on this track folder (its ``valid`` split, or its tracks)
    instead of ``data/valid`` — e.g. tracks rendered with instruments the training
    data lacks, so that early stopping and the weights kept favour unseen timbres.

    ``overrides`` replace fields of the preset's TrainConfig or SpectralConfig
    (e.g. ``layers=5, init="identity", optimizer="lbfgs", hop=256``).
    ``target``: the stem to extract (default: bass; on ``resume``, the checkpoint's).
    Returns the trained :class:`Model`. With ``resume``, continues from ``out.ckpt``;
    options given then must agree with the checkpoint's (a difference is an error).
    ``workers``: loader processes drawing training batches (None: none on the CPU, one
    per 4 cores on a GPU; 0: in this process). The model does not depend on it.
    """
    from tqdm.auto import tqdm

    p = get_preset(preset) if isinstance(preset, str) else preset
    sp_fields = set(SpectralConfig.__dataclass_fields__)
    tr_fields = set(TrainConfig.__dataclass_fields__)
    unknown = set(overrides) - sp_fields - tr_fields
    if unknown:
        raise SaesepError(f"unknown training option(s): {', '.join(sorted(unknown))}")
    spectral = from_dict(SpectralConfig, {**p.spectral.__dict__, **{k: v for k, v in overrides.items() if k in sp_fields and v is not None}})
    cfg = from_dict(TrainConfig, {**p.train.__dict__, "target": check_name(target or "bass"),
                                  **{k: v for k, v in overrides.items() if k in tr_fields and v is not None}})
    device = resolve_device(device)
    rank, world = init_distributed(device)
    if world > 1:
        if device == "cuda":
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
            torch.cuda.set_device(device)
        if rank != 0:  # one voice: rank 0 logs and shows progress
            progress, log = False, (lambda m: None)
        log(f"distributed training: {world} processes ({torch.distributed.get_backend()})")
    ckpt = checkpoint_path(out)
    if resume and not ckpt.exists():
        raise SaesepError(f"nothing to resume: no checkpoint '{ckpt}'")
    if resume:
        cmeta, _ = model_io.load_payload(ckpt)
        asked = {k for k, v in overrides.items() if v is not None} | ({"target"} if target is not None else set())
        spectral, cfg = _resumed_configs(cmeta, spectral, cfg, asked)
        had = cmeta.get("meta", {}).get("valid_data")
        if valid is None:
            valid = had  # the interrupted run's validation tracks
        elif had is None or Path(valid) != Path(had):
            raise SaesepError(f"the interrupted run validated on {had or 'DATA/valid'}, not '{valid}': "
                              "resume without --valid, or start afresh")
    t0, c0 = time.time(), _cpu_seconds()
    if workers is None:
        workers = auto_workers(device)
    tr = Trainer(data, spectral, cfg, device, progress, log, emulate_ranks=emulate_ranks, workers=workers, valid=valid)
    meta = {"preset": p.__class__.__name__ if not isinstance(preset, str) else preset,
            "data": [str(d) for d in data] if isinstance(data, (list, tuple)) else str(data),
            "valid_data": str(valid) if valid is not None else None,
            "seed": cfg.seed, "ranks": max(world, emulate_ranks), "workers": workers}
    tr.ckpt_path, tr.ckpt_meta = ckpt, meta
    try:
        if resume:
            tr.restore_checkpoint(ckpt)
            log(f"resuming at stage {tr.stage + 1} of {len(_stages(cfg))} (iteration {tr.iteration})")
        stages = _stages(cfg)
        total = sum(s["iters"] for s in stages)
        done_iters = sum(s["iters"] for s in stages[:tr.stage])
        with tqdm(total=total, initial=done_iters, disable=not progress, unit="it", desc=f"train {cfg.target}") as bar:
            while tr.stage < len(stages):
                tr.run_stage(stages[tr.stage], bar)
                tr.stage += 1
                if tr.stage < len(stages):
                    tr.save_checkpoint(ckpt, meta)
    finally:
        tr.source.close()  # joins the loader processes, so their CPU time counts below
    tr.history["train_seconds"] = round(time.time() - t0, 2)
    tr.history["cpu_seconds"] = round(_cpu_seconds() - c0, 2)  # this process and its loaders
    # the model file names its data folders, not this machine's paths (the checkpoint keeps those)
    model = tr.model({**meta, "data": _folder_names(meta["data"]), "valid_data": _folder_names(meta["valid_data"])})
    model.net.eval()
    if rank != 0:  # only rank 0 writes the model, removes the checkpoint and plots
        torch.distributed.barrier()
        return model
    model_io.save(model, out)
    if ckpt.exists():
        ckpt.unlink()
    if world > 1:
        torch.distributed.barrier()
    if plot:
        from .plot import plot_history

        plot_history(model.history, plot, title=f"saesep {cfg.target}: {cfg.init} init, {cfg.optimizer}")
    return model


def _folder_names(paths):
    if paths is None:
        return None
    return Path(paths).name if isinstance(paths, str) else [Path(p).name for p in paths]


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes (the data loaders)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
