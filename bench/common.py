"""Helpers shared by the benchmark scripts: test songs, machine description, JSON output."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "bench" / "work"
sys.path.insert(0, str(ROOT))


def machine() -> dict:
    import torch

    from saesep.backend import cpu_flags

    info = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    # the name alone can hide the generation ("AMD EPYC"); the instructions that decide the
    # speed of the products (AVX-512, bfloat16, AMX) are named
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f in cpu_flags()]
    cpu = info.get("model name", "unknown")
    if "cpu family" in info:
        cpu += f" (family {info['cpu family']} model {info.get('model', '?')}; {', '.join(isa) or 'no AVX2'})"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "gpu": gpu,
            "python": platform.python_version(), "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}


def long_song(seconds: float, path: Path, source: Path | None = None) -> Path:
    """A stereo 44.1 kHz song of ``seconds``: the bundled demo mixture repeated (written block-wise)."""
    source = source or ROOT / "saesep" / "data" / "demo" / "mixture.flac"
    x, sr = sf.read(source, dtype="float32", always_2d=True)
    n = int(seconds * sr)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and sf.info(str(path)).frames == n:
        return path
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=2, subtype="PCM_16") as f:
        done = 0
        while done < n:
            k = min(len(x), n - done)
            f.write(x[:k])
            done += k
    return path


def _score_job(job):
    import torch

    from saesep.evaluation import bss_eval

    torch.set_num_threads(1)
    key, ref, est, mix, sr = job
    return key, bss_eval(ref, est, mix, sr)


def _scoring_worker() -> None:
    from saesep.workers import die_with_parent, one_thread

    die_with_parent()
    one_thread()


def score_all(jobs, processes: int = 2):
    """BSS Eval v4 of ``(key, ref, est, mix, sr)`` jobs in parallel processes; yields ``(key, scores)``
    in order. ``jobs`` may be a generator: it is drawn lazily, at most 2 jobs per process held at once."""
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    # workers die with this process, however it ends (a killed benchmark leaves no orphans),
    # and run on one thread each
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_scoring_worker) as ex:
        window: deque = deque()
        for job in jobs:
            window.append(ex.submit(_score_job, job))
            if len(window) >= 2 * processes:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def score_estimates(tracks, role: str, estimates) -> dict:
    """BSS Eval v4 of ``estimates(mix, sr) -> {method: estimate}`` against each track's ``role``
    stem; returns ``{track: {method: scores}}``."""
    from saesep import audio as audio_io

    def jobs():
        for t in tracks:
            ref, sr = audio_io.read(t.stems[role])
            mix, _ = audio_io.read(t.mixture)
            for method, est in estimates(mix, sr).items():
                yield (t.name, method), ref, est, mix, sr

    scores: dict = {}
    for (track, method), s in score_all(jobs()):
        scores.setdefault(track, {})[method] = s
    return scores


def read_target(track, target: str):
    """``(reference, mixture, rate)`` of a track (a :class:`saesep.datasets.Track`) for ``target``,
    or None when it has no such stem, no mixture, or a silent one."""
    from saesep import audio as audio_io

    if target not in track.stems or track.mixture is None:
        return None
    ref, sr = audio_io.read(track.stems[target])
    if not np.any(ref):
        return None
    mix, _ = audio_io.read(track.mixture)
    return ref, mix, sr


def gap_closed(saesep: float, mixture: float, irm1: float) -> float:
    """Share of the passthrough → IRM1 SDR gap that saesep closes (NaN when there is no gap)."""
    gap = irm1 - mixture
    return (saesep - mixture) / gap if gap > 0 else float("nan")


def per_track(result: dict, metric: str | None = None, method: str = "saesep") -> dict:
    """``{track: scores}`` of one method in a :func:`saesep.evaluation.evaluate` result (skipped
    tracks left out); with ``metric``, ``{track: that score}``."""
    rows = {r["track"]: r["methods"][method] for r in result["tracks"] if "methods" in r}
    return rows if metric is None else {k: v[metric] for k, v in rows.items()}


def paired(a: dict, b: dict) -> dict:
    """``a``, ``b``: ``{track: SDR}``. Mean over the tracks both have of a − b, and on how many a is better
    (tracks where either is NaN are skipped); with 2 tracks or more also the standard error of
    that mean, the median difference and the two-sided Wilcoxon signed-rank p-value."""
    d = np.array([a[k] - b[k] for k in a if k in b], dtype=float)
    d = d[np.isfinite(d)]
    out = {"mean": round(float(d.mean()), 3) if d.size else float("nan"), "better": int((d > 0).sum()), "tracks": int(d.size)}
    if d.size >= 2:
        from scipy.stats import wilcoxon

        out.update(se=round(float(d.std(ddof=1) / np.sqrt(d.size)), 3), median=round(float(np.median(d)), 3),
                   wilcoxon_p=float(f"{wilcoxon(d).pvalue:.3g}") if np.any(d) else 1.0)
    return out


def wall(cmd: list[str]) -> float:
    """Seconds a whole process takes, its output discarded."""
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def alternated(runs: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    """Each command's whole-process seconds over ``rounds`` rounds, the commands alternated
    within a round (so that a change in the machine's load touches all alike), after a
    warm-up run of each (page cache, bytecode)."""
    for cmd in runs.values():
        wall(cmd)
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):
        for k, cmd in runs.items():
            times[k].append(wall(cmd))
    return times


def results_name(name: str) -> str:
    """``name`` if ``bench/results/NAME.json`` lies under bench/results (the scripts' ``--name`` type:
    a bad name fails before the run, not after it)."""
    import argparse

    if not (RESULTS / f"{name}.json").resolve().is_relative_to(RESULTS.resolve()):
        raise argparse.ArgumentTypeError(f"a results name is a path under bench/results/, got '{name}'")
    return name


def write_results(name: str, data: dict) -> Path:
    """``data`` and the machine to ``bench/results/NAME.json``."""
    p = RESULTS / f"{results_name(name)}.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({"machine": machine(), **data}, indent=1))
    print(f"results written to {p.relative_to(ROOT)}")
    return p


def peak_rss_mb(cmd: list[str]) -> tuple[float, float]:
    """Run a command; return (peak RSS in MB, wall seconds), via GNU time."""
    t = time.time()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    wall = time.time() - t
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    kb = int(out.stderr.strip().splitlines()[-1])
    return kb / 1024, wall
