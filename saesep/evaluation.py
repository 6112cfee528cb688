"""Evaluation against reference stems, for saesep and reference methods: BSS Eval v4 (museval:
SDR, SIR, SAR, ISR) and SI-SDR, or — ``metric="sdr"``, hundreds of times faster — the
Music Demixing Challenge's SDR (10 log10 Σs² / Σ(s − ŝ)² over the whole track) and SI-SDR.

Reference methods use the same STFT as the model being compared:
``irm1``/``irm2`` (ideal ratio masks, magnitude/power), ``ibm`` (ideal binary mask),
``oracle-mag`` (the target's true magnitude with the mixture phase: the bound of any
magnitude-only method), ``mixture`` (passthrough) and ``nmf`` (supervised NMF, bases
learnt from the training stems).
"""

from __future__ import annotations

import itertools
import os
import warnings
from pathlib import Path

import numpy as np

from . import audio as audio_io
from .config import SpectralConfig
from .errors import SaesepError
from .workers import one_thread, process_pool
from .spectral import istft, stft

ORACLES = ("irm1", "irm2", "ibm", "oracle-mag", "mixture")
METHODS = ("saesep",) + ORACLES + ("nmf",)


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB over all channels, ``(channels, samples)``."""
    r, e = reference.ravel().astype(np.float64), estimate.ravel().astype(np.float64)
    a = np.dot(e, r) / (np.dot(r, r) + 1e-12)
    t = a * r
    return float(10 * np.log10((np.sum(t ** 2) + 1e-12) / (np.sum((e - t) ** 2) + 1e-12)))


def bss_eval(reference: np.ndarray, estimate: np.ndarray, mixture: np.ndarray, sample_rate: int) -> dict:
    """museval BSS Eval v4 of the target against (target, mixture − target), 1 s windows.

    Arrays are ``(channels, samples)``; returns the median over windows of SDR, SIR,
    SAR, ISR for the target (NaN windows, e.g. silent references, are skipped), plus SI-SDR.
    """
    if reference.shape != estimate.shape or reference.shape != mixture.shape:
        raise SaesepError(f"reference {reference.shape} and estimate {estimate.shape} differ in shape")
    import museval

    refs = np.stack([reference.T, (mixture - reference).T]).astype(np.float64)
    ests = np.stack([estimate.T, (mixture - estimate).T]).astype(np.float64)
    for e in ests:  # museval refuses an all-zero estimate (passthrough leaves an empty rest)
        if not np.any(e):
            e += 1e-10 * np.random.default_rng(0).standard_normal(e.shape)
    win = sample_rate
    sdr, isr, sir, sar = museval.evaluate(refs, ests, win=win, hop=win, mode="v4", padding=True)
    med = lambda v: float(np.nanmedian(v[0])) if np.any(np.isfinite(v[0])) else float("nan")  # noqa: E731
    return {"SDR": med(sdr), "SIR": med(sir), "SAR": med(sar), "ISR": med(isr), "SI-SDR": si_sdr(reference, estimate)}


def mdx_sdr(reference: np.ndarray, estimate: np.ndarray) -> dict:
    """The Music Demixing Challenge's SDR over the whole track and all channels (no distortion
    filters: an estimate is not forgiven a filtered version of the target), and SI-SDR.
    SIR, SAR and ISR are NaN: only BSS Eval separates them."""
    if reference.shape != estimate.shape:
        raise SaesepError(f"reference {reference.shape} and estimate {estimate.shape} differ in shape")
    r, e = reference.astype(np.float64), estimate.astype(np.float64)
    sdr = 10 * np.log10((np.sum(r ** 2) + 1e-8) / (np.sum((r - e) ** 2) + 1e-8))
    nan = float("nan")
    return {"SDR": float(sdr), "SIR": nan, "SAR": nan, "ISR": nan, "SI-SDR": si_sdr(reference, estimate)}


METRICS = ("bss", "sdr")


def score(metric: str, reference: np.ndarray, estimate: np.ndarray, mixture: np.ndarray, sample_rate: int) -> dict:
    """``bss``: :func:`bss_eval`; ``sdr``: :func:`mdx_sdr`."""
    return bss_eval(reference, estimate, mixture, sample_rate) if metric == "bss" else mdx_sdr(reference, estimate)


def oracle(method: str, mixture: np.ndarray, target: np.ndarray, cfg: SpectralConfig, sample_rate: int) -> np.ndarray:
    """A reference estimate of the target, computed with the model's STFT settings."""
    if method == "mixture":
        return mixture.copy()
    x = audio_io.resample(mixture, sample_rate, cfg.sample_rate)
    s = audio_io.resample(target, sample_rate, cfg.sample_rate)
    X, S = stft(x, cfg), stft(s, cfg)
    R = X - S
    if method == "oracle-mag":
        mag = np.abs(X)
        ph = np.divide(X, mag, out=np.ones_like(X), where=mag > 0)
        Y = np.abs(S) * ph
    else:
        p = {"irm1": 1, "irm2": 2, "ibm": None}[method]
        if p is None:
            mask = (np.abs(S) > np.abs(R)).astype(np.float32)
        else:
            a, b = np.abs(S) ** p, np.abs(R) ** p
            mask = a / (a + b + 1e-12)
        Y = X * mask
    y = istft(Y, cfg, x.shape[1])
    y = audio_io.resample(y, cfg.sample_rate, sample_rate)
    return _fit_length(y, mixture.shape[1])


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    return y[:, :n] if y.shape[1] >= n else np.pad(y, ((0, 0), (0, n - y.shape[1])))


class NMFBaseline:
    """Supervised NMF: k bases for the target and k for the rest, learnt on training
    stems (magnitudes, KL divergence); on a mixture only the activations are fitted,
    and the target is extracted with the soft mask W_t H_t / W H."""

    def __init__(self, cfg: SpectralConfig, n_components: int = 32, max_frames: int = 20000, seed: int = 0):
        self.cfg, self.k, self.max_frames, self.seed = cfg, n_components, max_frames, seed

    def fit(self, tracks, target: str) -> "NMFBaseline":
        from sklearn.decomposition import NMF

        rng = np.random.default_rng(self.seed)
        tgt, rest = [], []
        for t in tracks:
            if target not in t.stems:
                continue
            s, _ = audio_io.read(t.stems[target], self.cfg.sample_rate, mono=True)
            others = [audio_io.read(p, self.cfg.sample_rate, mono=True)[0] for n, p in t.stems.items() if n != target]
            tgt.append(np.abs(stft(s[0], self.cfg)))
            if others:
                n = min(o.shape[1] for o in others)
                rest.append(np.abs(stft(sum(o[:, :n] for o in others)[0], self.cfg)))
        if not tgt or not rest:
            raise SaesepError(f"NMF baseline needs training tracks with '{target}' and other stems")

        def bases(mags):
            m = np.concatenate(mags, axis=1)
            m = m[:, m.sum(0) > 1e-3 * m.sum(0).max()]
            if m.shape[1] > self.max_frames:
                m = m[:, np.sort(rng.choice(m.shape[1], self.max_frames, replace=False))]
            nmf = NMF(self.k, beta_loss="kullback-leibler", solver="mu", max_iter=200, init="nndsvda", random_state=self.seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence warnings: 200 iterations are enough here
                nmf.fit(m.T + 1e-9)
            return nmf.components_.T  # (bins, k)

        self.w_t, self.w_r = bases(tgt), bases(rest)
        return self

    def separate(self, mixture: np.ndarray, sample_rate: int, iters: int = 100) -> np.ndarray:
        x = audio_io.resample(mixture, sample_rate, self.cfg.sample_rate)
        X = stft(x, self.cfg)
        W = np.concatenate([self.w_t, self.w_r], axis=1) + 1e-9
        out = []
        for c in range(X.shape[0]):
            V = np.abs(X[c]) + 1e-9
            H = np.full((W.shape[1], V.shape[1]), V.mean() / W.shape[1])
            wsum = W.sum(0)[:, None]
            for _ in range(iters):  # KL multiplicative updates of H only
                H *= (W.T @ (V / (W @ H))) / wsum
            vt = self.w_t @ H[: self.k]
            mask = vt / (W @ H)
            out.append(X[c] * mask)
        y = istft(np.stack(out), self.cfg, x.shape[1])
        return _fit_length(audio_io.resample(y, self.cfg.sample_rate, sample_rate), mixture.shape[1])


def _eval_track(args) -> dict:
    """One track's scores, or ``{"track", "skipped": why}`` / ``{"track", "error": message}``."""
    track = args[0]
    try:
        return _score_track(*args)
    except SaesepError as e:
        return {"track": track.name, "error": str(e)}
    except (OSError, ValueError) as e:  # one bad track must not stop the evaluation
        return {"track": track.name, "error": f"{type(e).__name__}: {e}"}


def _score_track(t, target, methods, model_paths, rest_to, cfg_dict, nmf, metric="bss", options=None) -> dict:
    from .network import load_models
    from .config import from_dict
    from .separation import SeparationOptions, separate

    if target not in t.stems:
        return {"track": t.name, "skipped": f"no '{target}' stem"}
    ref, sr = audio_io.read(t.stems[target])
    if t.mixture is not None:
        mix, sr_m = audio_io.read(t.mixture)
        if sr_m != sr or mix.shape != ref.shape:
            raise SaesepError(f"track '{t.name}': mixture and '{target}' differ in length, rate or channels")
    else:
        stems = [audio_io.read(p) for p in t.stems.values()]
        if len({(a.shape, r) for a, r in stems}) > 1:
            raise SaesepError(f"track '{t.name}': its stems differ in length, rate or channels "
                              "(and there is no mixture file)")
        mix = sum(a for a, _ in stems)
    if not np.any(ref):
        return {"track": t.name, "skipped": f"'{target}' stem is silent"}
    cfg = from_dict(SpectralConfig, cfg_dict)
    res = {"track": t.name, "seconds": round(mix.shape[1] / sr, 2), "methods": {}}
    for m in methods:
        if m == "saesep":
            models = load_models(model_paths)
            opts = SeparationOptions(rest_to=rest_to, outputs=(target,), **(options or {}))
            est = separate(mix, sr, models, opts)[target]
        elif m == "nmf":
            est = nmf.separate(mix, sr)
        else:
            est = oracle(m, mix, ref, cfg, sr)
        res["methods"][m] = score(metric, ref, est, mix, sr)
        if not np.isfinite(res["methods"][m]["SDR"]):
            return {"track": t.name, "skipped": f"'{target}' stem too quiet to score (no BSS Eval window)"}
    return res


def evaluate(data, split: str = "test", model=None, target: str | None = None, methods=("saesep",),
             jobs: int | None = None, progress: bool = True, spectral: SpectralConfig | None = None,
             max_tracks: int | None = None, rest_to: str | None = "auto", metric: str = "bss",
             mask_power: float | None = None, wiener_iterations: int | None = None,
             shifts: int | None = None) -> dict:
    """Score methods on every track of ``data/split``; returns per-track and aggregate medians.

    model: path of a model file (needed for ``saesep``; its STFT settings are used for the
        oracles), or a list of paths: the models run together, as ``saesep extract`` with
        several models does, and the target's output is scored (with bass, lead, drums and
        other, other takes half of what they leave: ``rest_to``, see ``SeparationOptions``).
    target: the stem scored (default: the first model's).
    max_tracks: score only the first N tracks (in name order) that have the target.
    metric: ``bss`` (museval BSS Eval v4, 1-s windows) or ``sdr`` (the Music Demixing
        Challenge's whole-track SDR, no SIR/SAR/ISR; hundreds of times faster).
    mask_power, wiener_iterations, shifts: saesep's separation options (default: each model's
        own exponent, filter and shifts; see :class:`~saesep.separation.SeparationOptions`); the result
        records them (``separation``, None for the models' own).
    """
    from tqdm.auto import tqdm

    from .network import load_models
    from .config import to_dict
    from .datasets import find_tracks, require_target
    from .separation import SeparationOptions

    if metric not in METRICS:
        raise SaesepError(f"unknown metric '{metric}' (choose {', '.join(METRICS)})")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SaesepError(f"unknown method(s) {', '.join(unknown)} (choose from {', '.join(METHODS)})")
    options = {"mask_power": mask_power, "wiener_iterations": wiener_iterations}
    if shifts is not None:  # recorded only when given
        options["shifts"] = shifts
    paths = [] if model is None else [str(model)] if isinstance(model, (str, Path)) else [str(p) for p in model]
    if paths:
        loaded = load_models(paths)
        first = next(iter(loaded.values()))
        if target is not None and target not in loaded:
            if len(paths) == 1:
                raise SaesepError(f"model '{paths[0]}' extracts '{first.target}', not '{target}'")
            raise SaesepError(f"no model extracts '{target}' (the models extract {', '.join(loaded)})")
        target = target or first.target
        spectral = spectral or loaded[target].spectral
        # a bad rest target, mask exponent or iteration count: one line, before any work
        rest = SeparationOptions(rest_to=rest_to, **options).rest_target(loaded)
    elif "saesep" in methods:
        raise SaesepError("method 'saesep' needs --model")
    if target is None:
        raise SaesepError("give --target (or a --model)")
    spectral = spectral or SpectralConfig()
    every = find_tracks(data, split)
    tracks = require_target(every, target, Path(data) / split)
    if max_tracks is not None:
        if max_tracks < 1:
            raise SaesepError("max_tracks must be at least 1")
        tracks = tracks[:max_tracks]
    lacking = [{"track": t.name, "skipped": f"no '{target}' stem"} for t in every if target not in t.stems]
    nmf = None
    if "nmf" in methods:
        nmf = NMFBaseline(spectral).fit(find_tracks(data, "train") if (Path(data) / "train").is_dir() else tracks, target)
    args = [(t, target, list(methods), paths, rest_to, to_dict(spectral), nmf, metric, options)
            for t in tracks]
    jobs = jobs or os.cpu_count() or 1
    rows = []
    with tqdm(total=len(args), disable=not progress, unit="track", desc=f"evaluate {target}") as bar:
        if jobs > 1 and len(args) > 1:
            with process_pool(jobs, initializer=one_thread) as pool:
                for r in pool.imap(_eval_track, args):
                    rows.append(r)
                    bar.update(1)
        else:
            for a in args:
                rows.append(_eval_track(a))
                bar.update(1)
    scored = [r for r in rows if "methods" in r]
    if not scored:
        why = "; ".join(sorted({r.get("error") or r.get("skipped") for r in rows}))
        raise SaesepError(f"no track of '{Path(data) / split}' could be scored ({why})")
    rows += lacking if max_tracks is None else []
    agg = {}
    for m in methods:
        agg[m] = {k: _median([r["methods"][m][k] for r in scored]) for k in ("SDR", "SIR", "SAR", "ISR", "SI-SDR")}
    return {"data": str(data), "split": split, "target": target, "metric": metric,
            "model": (paths[0] if len(paths) == 1 else paths) if paths else None,
            "rest_to": rest if paths else None, "separation": options,
            "spectral": to_dict(spectral), "tracks": rows, "median": agg,
            "counts": {"scored": len(scored), "skipped": sum("skipped" in r for r in rows),
                       "failed": sum("error" in r for r in rows)}}


# the separation options a built-in model chooses among, every combination (scripts/make_models.py)
OPTION_GRID = {"wiener_iterations": (0, 1), "mask_power": (1.0, 0.75, 0.5)}


def choose_options(model, corpora, grid: dict | None = None, split: str = "valid", jobs: int | None = None,
                   progress: bool = False) -> tuple[dict, list[dict]]:
    """The combination of separation options (keyword arguments of :func:`evaluate`:
    ``mask_power``, ``wiener_iterations``) with the highest mean SDR (the Music Demixing
    Challenge's) over the tracks of ``split`` of every corpus in ``corpora`` taken together.

    grid: ``{option: values}``, every combination is scored (default :data:`OPTION_GRID`);
        ties keep the earlier combination in the grid's order.
    Returns ``(best, scores)``: the best combination as a dict, and every combination with
    its ``mean_sdr``. The tracks should sound like the music the model will separate: for
    the built-in models, choices made on valid splits played by the training instruments
    did not carry over to unseen ones (docs/experiments.md)."""
    grid = OPTION_GRID if grid is None else grid
    scores = []
    for values in itertools.product(*grid.values()):
        options = dict(zip(grid, values))
        sdr = []
        for data in corpora:
            res = evaluate(data, split, model=model, methods=["saesep"], jobs=jobs, progress=progress,
                           metric="sdr", **options)
            sdr += [r["methods"]["saesep"]["SDR"] for r in res["tracks"] if "methods" in r]
        scores.append({**options, "mean_sdr": round(float(np.mean(sdr)), 4)})
    best = max(scores, key=lambda s: s["mean_sdr"])  # the first of equals
    return {k: best[k] for k in grid}, scores


def _median(values) -> float:
    """Median of the finite values; NaN when there is none (e.g. SIR with ``metric="sdr"``)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else float("nan")


def format_table(result: dict, per_track: bool = True) -> str:
    """A plain-text table: per track and the median over tracks (SiSEC style)."""
    methods = list(result["median"])
    lines = []
    head = f"{'track':<40} {'method':<11} {'SDR':>7} {'SIR':>7} {'SAR':>7} {'ISR':>7} {'SI-SDR':>7}"
    lines.append(head)
    lines.append("-" * len(head))
    if per_track:
        for r in result["tracks"]:
            if "methods" not in r:
                why = f"skipped: {r['skipped']}" if "skipped" in r else f"failed: {r['error']}"
                lines.append(f"{r['track'][:40]:<40} ({why})")
                continue
            for m in methods:
                v = r["methods"][m]
                lines.append(f"{r['track'][:40]:<40} {m:<11} " + " ".join(f"{v[k]:>7.2f}" for k in ("SDR", "SIR", "SAR", "ISR", "SI-SDR")))
    for m in methods:
        v = result["median"][m]
        lines.append(f"{'MEDIAN (' + result['target'] + ')':<40} {m:<11} " + " ".join(f"{v[k]:>7.2f}" for k in ("SDR", "SIR", "SAR", "ISR", "SI-SDR")))
    c = result.get("counts")
    if c:
        lines.append(f"{c['scored']} track(s) scored, {c['skipped']} skipped, {c['failed']} failed")
    return "\n".join(lines)
