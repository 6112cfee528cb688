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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from . import distributed, model as model_io
from .backend import resolve_device
from .batch import check_name
from .config import Preset, SpectralConfig, TrainConfig, from_dict, preset as get_preset
from .datasets import FIXED, MONITOR, VALID, find_tracks, require_target
from .errors import SaesepError
from .least_squares import fit_next_layer
from .loader import BatchSource, SamplerSpec, auto_workers
from .model import Model, StackedDNN


@torch.no_grad()
def normalised_error(net: StackedDNN, x: torch.Tensor, s: torch.Tensor, batch: int = 8192) -> float:
    """J on a fixed set: x ``(n, in_features)``, s ``(n, bins)``, both γ-normalised."""
    num = den = 0.0
    for i in range(0, x.shape[0], batch):
        xb, sb = x[i:i + batch], s[i:i + batch]
        num += float(((sb - net(xb)) ** 2).sum())
        den += float(((sb - net.centre(xb)) ** 2).sum())
    return num / max(den, 1e-20)


def _stages(cfg: TrainConfig) -> list[dict]:
    st = [{"name": f"layer {k}", "layers": k, "add": True, "iters": cfg.iters_per_layer} for k in range(1, cfg.layers + 1)]
    if cfg.finetune_iters > 0:
        st.append({"name": "fine-tune", "layers": cfg.layers, "add": False, "iters": cfg.finetune_iters})
    return st


def checkpoint_path(out) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".ckpt")


def learning_rate(cfg: TrainConfig, lr: float, done: int, total: int) -> float:
    """Adam's learning rate at iteration ``done`` (from 0) of a stage of ``total``, from the
    rate ``lr``: it ramps up linearly over the first ``cfg.warmup_iters`` and, with
    ``cfg.lr_schedule`` cosine, falls along a half cosine from ``lr`` to 0 over the stage."""
    scale = min(1.0, (done + 1) / cfg.warmup_iters) if cfg.warmup_iters > 0 else 1.0
    if cfg.lr_schedule == "cosine":
        scale *= 0.5 * (1 + math.cos(math.pi * done / max(total, 1)))
    return lr * scale


@dataclass
class StageState:
    """Where the running stage stands; a mid-stage checkpoint holds exactly this."""

    done: int  # iterations run in the stage
    best: float  # the best J_valid so far (the starting weights' at first)
    start: float  # J_valid of the weights the stage started from
    best_state: dict  # the weights that scored ``best``
    since_best: int = 0  # evaluations without a gain
    seconds: float = 0.0  # time spent in the stage
    opt_state: dict | None = None  # the optimiser's state

    def to_checkpoint(self) -> dict:
        return asdict(self)

    @classmethod
    def from_checkpoint(cls, d: dict, path) -> "StageState":
        try:
            return cls(**d)
        except TypeError:
            raise SaesepError(f"checkpoint '{path}' was written by an older saesep; start the training again") from None


GO, STOP, RESTART = "go", "stop", "restart"  # what an evaluation tells the stage to do


class Trainer:
    """One training run: the data, the network, the history; :meth:`fit` runs every stage."""

    def __init__(self, data, spectral: SpectralConfig, cfg: TrainConfig, device: str = "cpu",
                 progress: bool = True, log: Callable[[str], None] = print, emulate_ranks: int = 1,
                 workers: int = 0, valid=None, checkpoint=None, meta: dict | None = None):
        """emulate_ranks: draw every batch from that many rank samplers in one process — what
        ``torchrun --nproc_per_node=N`` does across processes (to check distributed training).
        workers: loader processes drawing the batches (0: in this process); the result
        does not depend on it. valid: validation track folder instead of ``data/valid``.
        checkpoint: where :meth:`fit` keeps the run's checkpoint (None: nowhere), with ``meta``."""
        self.spectral, self.cfg, self.device, self.progress, self.log = spectral, cfg, torch.device(device), progress, log
        self.ckpt_path, self.ckpt_meta, self.last_ckpt = checkpoint, meta or {}, time.time()
        torch.manual_seed(cfg.seed)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        roots = [Path(d) for d in (data if isinstance(data, (list, tuple)) else [data])]
        if not roots:
            raise SaesepError("no training data folder given")
        train_tracks = [t for r in roots for t in require_target(find_tracks(r, "train" if (r / "train").is_dir() else None),
                                                                 cfg.target, r)]
        # each rank draws different data: rank r samples with seed + 1000 r
        ranks = [distributed.rank()] if distributed.world() > 1 else list(range(emulate_ranks))
        self.ranks = len(ranks)
        self.source = BatchSource(SamplerSpec(train_tracks, cfg.target, spectral, cfg, [cfg.seed + 1000 * r for r in ranks]),
                                  workers=workers)
        vtracks = self._valid_tracks(valid, roots[0], train_tracks)
        self.valid = BatchSource(SamplerSpec(vtracks, cfg.target, spectral, cfg, [cfg.seed + 1])).fixed(cfg.valid_samples, VALID)
        self.monitor = self._monitor_set(0)
        self.fixed = None
        if cfg.optimizer == "lbfgs":  # every rank holds its own shard of the fixed set
            self.fixed = tuple(t.to(self.device) for t in self.source.fixed(cfg.samples, FIXED))
            self.fixed_total = cfg.samples * max(distributed.world(), self.ranks)
            self.monitor = (self.fixed[0][: cfg.monitor_samples], self.fixed[1][: cfg.monitor_samples])
        self.valid = tuple(t.to(self.device) for t in self.valid)
        self.monitor = tuple(t.to(self.device) for t in self.monitor)
        self.monitor_pool = 0
        self.net = StackedDNN(spectral.net_bins, spectral.context_frames, hidden=cfg.width).to(self.device)
        self.rectify_top = cfg.top_loss == "rectified"  # what the loss compares (TrainConfig.top_loss)
        self.history = {"curve": [], "layers_added": [], "stages": []}
        self.iteration = 0
        self.stage = 0
        self.resumed_stage: StageState | None = None
        self.clock_start, self.seconds_before = None, 0.0  # training clock: seconds spent in stages

    def _valid_tracks(self, valid, root: Path, train_tracks):
        if valid is not None:  # a folder, or several whose tracks validate together
            vroots = [Path(v) for v in (valid if isinstance(valid, (list, tuple)) else [valid])]
            tracks = [t for v in vroots for t in find_tracks(v, "valid" if (v / "valid").is_dir() else None)]
            return require_target(tracks, self.cfg.target, ", ".join(map(str, vroots)))
        if (root / "valid").is_dir():
            return require_target(find_tracks(root, "valid"), self.cfg.target, root / "valid")
        self.log("no 'valid' split: validating on separate blocks of the training tracks")
        return train_tracks

    def elapsed(self) -> float:
        """Seconds spent in training stages so far (least-squares solves and evaluations
        included, data loading before the first stage not), continued across --resume."""
        if self.clock_start is None:
            self.clock_start = time.time()
        return self.seconds_before + time.time() - self.clock_start

    # ---- the whole run ------------------------------------------------------------
    def fit(self, resume: bool = False) -> Model:
        """Every stage in turn (from the checkpoint's, with ``resume``), a checkpoint between
        stages; returns the trained model (not written)."""
        from tqdm.auto import tqdm

        if resume:
            self.restore_checkpoint(self.ckpt_path)
            self.log(f"resuming at stage {self.stage + 1} of {len(_stages(self.cfg))} (iteration {self.iteration})")
        stages = _stages(self.cfg)
        total = sum(s["iters"] for s in stages)
        done = sum(s["iters"] for s in stages[:self.stage])
        try:
            with tqdm(total=total, initial=done, disable=not self.progress, unit="it", desc=f"train {self.cfg.target}") as bar:
                while self.stage < len(stages):
                    self.run_stage(stages[self.stage], bar)
                    self.stage += 1
                    if self.stage < len(stages) and self.ckpt_path is not None:
                        self.save_checkpoint()
        finally:
            self.source.close()  # joins the loader processes, so their CPU time counts
        return self.model(self.ckpt_meta)

    # ---- measurements -----------------------------------------------------------
    def scores(self) -> tuple[float, float]:
        """J on blocks of the pool the training draws from now (J_train), and on the validation set."""
        self._follow_pool()
        return normalised_error(self.net, *self.monitor), normalised_error(self.net, *self.valid)

    def _follow_pool(self) -> None:
        """With more tracks than a pool holds, the monitored training blocks are drawn again
        from each new pool (L-BFGS trains on its fixed set, which it monitors)."""
        if self.fixed is not None or len(self.source.spec.tracks) <= self.cfg.pool_tracks:
            return
        pool = self.source.pool()
        if pool != self.monitor_pool:
            self.monitor, self.monitor_pool = tuple(t.to(self.device) for t in self._monitor_set(pool)), pool

    def _monitor_set(self, pool: int):
        """The monitored training blocks of ``pool``: (emulated) rank 0's, which come first."""
        n = self.cfg.monitor_samples
        x, s = self.source.fixed(n, MONITOR, pool=pool)
        return x[:n], s[:n]

    def _record(self, layer: int):
        jt, jv = self.scores()
        self.history["curve"].append({"iteration": self.iteration, "seconds": round(self.elapsed(), 3), "layers": layer,
                                      "J_train": jt, "J_valid": jv})
        return jt, jv

    # ---- one stage ----------------------------------------------------------------
    def run_stage(self, st: dict, bar=None) -> None:
        """Add the stage's layer (least squares on the current output), then train the whole
        network, evaluating every ``eval_every`` iterations; the stage keeps its best weights."""
        self.elapsed()  # starts the clock with the first stage
        t0 = time.time()  # the stage's time includes its least-squares init
        state, self.resumed_stage = self.resumed_stage or self._begin_stage(st), None
        t0 -= state.seconds
        self.ddp = self._parallel()
        opt, step = self._optimizer(state.opt_state)
        while state.done < st["iters"]:
            self._schedule(opt, state.done, st["iters"])
            step(opt)  # a non-finite loss shows as a non-finite J_valid at the next evaluation
            self.iteration += 1
            state.done += 1
            if bar is not None:
                bar.update(1)
            if state.done % self.cfg.eval_every and state.done < st["iters"]:
                continue
            verdict = self._evaluate(st, state, bar)
            if verdict == STOP:
                break
            if verdict == RESTART:
                opt, step = self._optimizer(None)
            elif self._checkpoint_due() and state.done < st["iters"]:
                state.seconds, state.opt_state = time.time() - t0, opt.state_dict()
                self.save_checkpoint(state)
        if bar is not None and state.done < st["iters"]:
            bar.update(st["iters"] - state.done)
        self._end_stage(st, state, t0)

    def _begin_stage(self, st: dict) -> StageState:
        if st["add"]:
            self.add_layer(st["layers"])
        best = self.history["curve"][-1]["J_valid"] if self.history["curve"] else math.inf
        return StageState(done=0, best=best, start=best, best_state=self._weights())

    def _parallel(self):
        """The network Adam steps through: wrapped by DistributedDataParallel under torchrun,
        which averages the gradients over the ranks."""
        if distributed.world() > 1 and self.cfg.optimizer == "adam":
            from torch.nn.parallel import DistributedDataParallel

            return DistributedDataParallel(self.net, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        return self.net

    def _optimizer(self, opt_state: dict | None):
        """The stage's optimiser (Adam at the current learning rate, or L-BFGS) and its step."""
        params = list(self.net.parameters())
        if self.cfg.optimizer == "adam":
            opt, step = torch.optim.Adam(params, lr=self.lr()), self._adam_step
        else:
            opt = torch.optim.LBFGS(params, lr=1, max_iter=1, history_size=self.cfg.lbfgs_history,
                                    line_search_fn="strong_wolfe")
            step = self._lbfgs_step
        if opt_state is not None:
            opt.load_state_dict(opt_state)
        return opt, step

    def _schedule(self, opt, done: int, total: int) -> None:
        """Set Adam's learning rate for iteration ``done`` of a stage of ``total``
        (:func:`learning_rate`; a function of the iteration: nothing to checkpoint)."""
        if self.cfg.optimizer == "adam":
            for group in opt.param_groups:
                group["lr"] = learning_rate(self.cfg, self.lr(), done, total)

    def _evaluate(self, st: dict, state: StageState, bar) -> str:
        """Score the weights; keep them if best; on a collapse restore the best and lower the
        learning rate (RESTART) or end the stage (STOP); STOP also after ``patience`` evaluations
        without a gain."""
        cfg = self.cfg
        jt, jv = self._record(st["layers"])  # identical on every rank: same weights, same valid set
        if bar is not None:
            bar.set_postfix_str(f"{st['name']} J_train {jt:.3f} J_valid {jv:.3f}")
        if not math.isfinite(jv) or (cfg.optimizer == "adam" and jv > cfg.collapse_factor * state.start):
            self.net.load_state_dict(state.best_state)
            if not self._drop_lr(st, jv):
                if not math.isfinite(jv):
                    raise SaesepError(f"training diverged (non-finite loss) in stage '{st['name']}' at iteration "
                                      f"{self.iteration}; the last good checkpoint is kept (try a lower --lr)")
                self.log(f"{st['name']}: J_valid {jv:.4f} after {state.start:.4f} at the start and no learning-rate "
                         "drop left: the stage ends with its best weights")
                return STOP
            state.since_best = 0
            self._record(st["layers"])  # the restored weights
            return RESTART
        if jv < state.best - 1e-6:
            state.best, state.since_best, state.best_state = jv, 0, self._weights()
            return GO
        state.since_best += 1
        scheduled = cfg.optimizer == "adam" and cfg.lr_schedule != "constant"  # a schedule sets the stage's end
        if state.since_best > cfg.patience and not scheduled:
            self.log(f"{st['name']}: early stop, no validation gain in {state.since_best} evaluations")
            return STOP
        return GO

    def _end_stage(self, st: dict, state: StageState, t0: float) -> None:
        self.net.load_state_dict(state.best_state)
        if self.history["curve"][-1]["J_valid"] != state.best:
            self._record(st["layers"])  # the restored best state
        secs = time.time() - t0
        per_iter = self.cfg.batch_size if self.cfg.optimizer == "adam" else self.cfg.samples
        self.history["stages"].append({"name": st["name"], "layers": st["layers"], "iterations": state.done,
                                       "seconds": round(secs, 2), "J_valid": state.best,
                                       "samples_per_second": round(state.done * per_iter / max(secs, 1e-9), 1)})
        self.log(f"{st['name']}: {state.done} iterations in {secs:.1f} s, J_valid {state.best:.4f}")

    def _weights(self) -> dict:
        return {k: v.clone() for k, v in self.net.state_dict().items()}

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
        self.net.widen_top(self.gen)  # wide hidden layers: random features beside the estimate so far
        sol = fit_next_layer(self.net, self._ls_batches(), self.cfg.ridge) if self.cfg.init == "ls" else None
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
        loss = ((self.ddp(x, self.rectify_top) - s) ** 2).sum(1).mean()  # DDP averages the gradients over ranks
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
                loss = ((self.net(x[i:i + 16384], self.rectify_top) - s[i:i + 16384]) ** 2).sum() / n
                loss.backward()
                total += loss.item()
            # full-batch gradient = sum over the ranks' shards
            distributed.all_reduce_sum([p.grad for p in self.net.parameters()] + [total])
            return torch.tensor(float(total))

        return float(opt.step(closure))

    # ---- persistence --------------------------------------------------------------
    def _checkpoint_due(self) -> bool:
        return self.ckpt_path is not None and time.time() - self.last_ckpt >= self.cfg.checkpoint_minutes * 60

    def model(self, meta: dict | None = None) -> Model:
        return Model(self.net, self.spectral, self.cfg.target, self.cfg, self.history, meta or {})

    def save_checkpoint(self, inside: StageState | None = None) -> None:
        """Everything needed to continue: weights, history, RNGs, the batch counter (the same on
        every rank); mid-stage also the stage's state (``inside``)."""
        self.last_ckpt = time.time()
        if distributed.rank() == 0:
            extra = {"stage": self.stage, "iteration": self.iteration, "torch_rng": torch.get_rng_state(),
                     "gen_rng": self.gen.get_state(),
                     "sampler_json": json.dumps({"batches": self.source.state(),
                                                 "ranks": max(distributed.world(), self.ranks)})}
            if inside is not None:
                extra["inside_stage"] = inside.to_checkpoint()
            model_io.save(self.model(self.ckpt_meta), self.ckpt_path, extra=extra)
        distributed.barrier()

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
        if state["ranks"] != max(distributed.world(), self.ranks):
            raise SaesepError(f"checkpoint '{path}' was written by {state['ranks']} ranks; resume with as many")
        self.source.set_state(state["batches"])
        inside = extra.get("inside_stage")
        self.resumed_stage = StageState.from_checkpoint(inside, path) if inside is not None else None


def _resumed_configs(cmeta: dict, spectral: SpectralConfig, cfg: TrainConfig, asked: set):
    """The checkpoint's configs; an option asked for now that differs from them is an error."""
    c_spectral, c_cfg = from_dict(SpectralConfig, cmeta["spectral"]), from_dict(TrainConfig, cmeta["train"])
    diff = [f"--{k.replace('_', '-')} {getattr(old, k)} (asked: {getattr(new, k)})"
            for k in sorted(asked) for old, new in ((c_spectral, spectral), (c_cfg, cfg))
            if hasattr(old, k) and getattr(old, k) != getattr(new, k)]
    if diff:
        raise SaesepError(f"the interrupted run has {', '.join(diff)}: resume without those options, or start afresh")
    return c_spectral, c_cfg


def configs(preset: str | Preset = "default", target: str | None = None, **overrides) -> tuple[SpectralConfig, TrainConfig]:
    """The preset's configs with ``overrides`` (fields of either config; None keeps the preset's)."""
    p = get_preset(preset) if isinstance(preset, str) else preset
    sp_fields, tr_fields = set(SpectralConfig.__dataclass_fields__), set(TrainConfig.__dataclass_fields__)
    unknown = set(overrides) - sp_fields - tr_fields
    if unknown:
        raise SaesepError(f"unknown training option(s): {', '.join(sorted(unknown))}")
    given = {k: v for k, v in overrides.items() if v is not None}
    spectral = from_dict(SpectralConfig, {**p.spectral.__dict__, **{k: v for k, v in given.items() if k in sp_fields}})
    cfg = from_dict(TrainConfig, {**p.train.__dict__, "target": check_name(target or "bass"),
                                  **{k: v for k, v in given.items() if k in tr_fields}})
    if 0 < cfg.width < spectral.net_bins:
        raise SaesepError(f"width must be 0 or at least the network's {spectral.net_bins} bins")
    return spectral, cfg


def train(data, out, target: str | None = None, preset: str | Preset = "default", resume: bool = False,
          device: str = "cpu", plot=None, progress: bool = True, log: Callable[[str], None] = print,
          workers: int | None = None, valid=None, **overrides) -> Model:
    """Train a model on the track folder ``data`` and write it to ``out``.

    ``data``: a track folder, or a list of them whose training tracks are pooled (the
    first one's ``valid`` split validates): e.g. the same kind of music rendered with
    another SoundFont.

    ``valid``: validate on this track folder (its ``valid`` split, or its tracks), or on
    the tracks of a list of them together, instead of ``data/valid`` — e.g. tracks of
    several styles, so that early stopping and the weights kept favour none of them.

    ``overrides`` replace fields of the preset's TrainConfig or SpectralConfig
    (e.g. ``layers=5, init="identity", optimizer="lbfgs", hop=256``).
    ``target``: the stem to extract (default: bass; on ``resume``, the checkpoint's).
    Returns the trained :class:`Model`. With ``resume``, continues from ``out.ckpt``;
    options given then must agree with the checkpoint's (a difference is an error).
    ``workers``: loader processes drawing training batches (None: none on the CPU, one
    per 4 cores on a GPU; 0: in this process). The model does not depend on it.
    """
    spectral, cfg = configs(preset, target, **overrides)
    device = resolve_device(device)
    rank, world = distributed.init(device)
    if world > 1:
        if device == "cuda":
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
            torch.cuda.set_device(device)
        if rank != 0:  # one voice: rank 0 logs and shows progress
            progress, log = False, (lambda m: None)
        log(f"distributed training: {world} processes ({torch.distributed.get_backend()})")
    ckpt = checkpoint_path(out)
    if resume:
        spectral, cfg, valid = _resume_settings(ckpt, spectral, cfg, valid, overrides, target)
    t0, c0 = time.time(), _cpu_seconds()
    workers = auto_workers(device) if workers is None else workers
    meta = {"preset": preset if isinstance(preset, str) else preset.__class__.__name__,
            "data": [str(d) for d in data] if isinstance(data, (list, tuple)) else str(data),
            "valid_data": _folder_paths(valid),
            "seed": cfg.seed, "ranks": world, "workers": workers}
    tr = Trainer(data, spectral, cfg, device, progress, log, workers=workers, valid=valid, checkpoint=ckpt, meta=meta)
    model = tr.fit(resume)
    model.history["train_seconds"] = round(time.time() - t0, 2)
    model.history["cpu_seconds"] = round(_cpu_seconds() - c0, 2)  # this process and its loaders
    # float sums split differently on another thread count: the same seed gives the same model
    # only with the same count, so the file records it
    model.history["threads"] = torch.get_num_threads()
    # the model file names its data folders, not this machine's paths (the checkpoint keeps those)
    model.meta.update(data=_folder_names(meta["data"]), valid_data=_folder_names(meta["valid_data"]))
    model.net.eval()
    if rank == 0:  # only rank 0 writes the model, removes the checkpoint and plots
        model_io.save(model, out)
        ckpt.unlink(missing_ok=True)
    distributed.barrier()
    if plot and rank == 0:
        from .plot import plot_history

        plot_history(model.history, plot, title=f"saesep {cfg.target}: {cfg.init} init, {cfg.optimizer}")
    return model


def _resume_settings(ckpt: Path, spectral, cfg, valid, overrides: dict, target):
    """The interrupted run's configs and validation folder; what was asked now must agree."""
    if not ckpt.exists():
        raise SaesepError(f"nothing to resume: no checkpoint '{ckpt}'")
    cmeta, _ = model_io.load_payload(ckpt)
    asked = {k for k, v in overrides.items() if v is not None} | ({"target"} if target is not None else set())
    spectral, cfg = _resumed_configs(cmeta, spectral, cfg, asked)
    had = cmeta.get("meta", {}).get("valid_data")
    if valid is None:
        valid = had  # the interrupted run's validation tracks
    elif had is None or _folder_paths(valid) != had:
        raise SaesepError(f"the interrupted run validated on {had or 'DATA/valid'}, not '{_folder_paths(valid)}': "
                          "resume without --valid, or start afresh")
    return spectral, cfg, valid


def _folder_paths(paths):
    """A folder argument as recorded: None, one path as a string, or several as a list of strings."""
    if paths is None:
        return None
    if isinstance(paths, (list, tuple)):
        return str(Path(paths[0])) if len(paths) == 1 else [str(Path(p)) for p in paths]
    return str(Path(paths))


def _folder_names(paths):
    if paths is None:
        return None
    return Path(paths).name if isinstance(paths, str) else [Path(p).name for p in paths]


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes (the data loaders)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
