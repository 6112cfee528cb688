#!/usr/bin/env python3
"""Extraction speed: seconds of audio per wall second on a 4-minute stereo 44.1 kHz song,
saesep vs Open-Unmix's model on the same file and machine, and how close the network
is to the CPU's matrix-multiply limit.

Usage: python bench/speed.py [--seconds 240] [--model saesep/models/lead.pt] [--device cpu] [--name speed_cpu_lead]
(default model: the built-in bass, what `saesep extract song.wav` runs; each run the fastest of 3)
       python bench/speed.py --roles --no-umx --name speed_cpu_roles
(also the built-in other alone, `-t other` — the four built-ins, other taking half of what
they leave — and `-t all`, with and without the stereo Wiener filter the models record)
"""

from __future__ import annotations

import argparse
import sys
import time
import types

import torch

from common import WORK, long_song, machine, results_name, write_results

from saesep import models as builtin  # noqa: E402
from saesep.backend import choose_engine  # noqa: E402
from saesep.extract import extract_file  # noqa: E402
from saesep.network import load_models, macs_per_frame  # noqa: E402
from saesep.separation import SeparationOptions  # noqa: E402
from saesep.weights import read_meta  # noqa: E402


def matmul_gflops(device: str, dtype: torch.dtype = torch.float32) -> float:
    a = torch.rand(4096, 3591, device=device, dtype=dtype)
    b = torch.rand(3591, 513, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    t, n = time.time(), 20
    for _ in range(n):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    return 2 * 4096 * 3591 * 513 * n / (time.time() - t) / 1e9


def network_gflop_per_audio_second(m, channels: int) -> float:
    cfg = m.spectral
    macs = m.macs
    frames = cfg.sample_rate / cfg.hop
    ch = 1 if cfg.stereo == "mid" else channels
    return 2 * macs * frames * ch / 1e9


def umx_speed(path, seconds: float, device: str) -> dict:
    sys.modules.setdefault("torchaudio", types.ModuleType("torchaudio"))
    try:
        from openunmix.model import OpenUnmix, Separator
    except ImportError:
        return {"skipped": "openunmix not installed (pip install --no-deps openunmix==1.3.0)"}
    import soundfile as sf

    torch.manual_seed(0)
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    umx = OpenUnmix(nb_bins=2049, nb_channels=2, hidden_size=512, max_bin=1487).eval()
    sep = Separator({"bass": umx}, niter=1, residual=True, sample_rate=sr, n_fft=4096, n_hop=1024, nb_channels=2).eval().to(device)
    audio = torch.from_numpy(x.T)[None].to(device)
    with torch.no_grad():  # warm-up, as for saesep (CUDA kernels, threads)
        sep(audio[..., : 10 * sr])
    t = time.time()
    with torch.no_grad():
        est = sep(audio)
    if device == "cuda":
        torch.cuda.synchronize()
    wall = time.time() - t
    assert est.shape[-1] == audio.shape[-1]
    return {"wall_s": round(wall, 2), "x_realtime": round(seconds / wall, 1), "config": "OpenUnmix n_fft 4096 hop 1024 hidden 512, 1 target, niter 1 (untrained weights: same cost; EM needs the residual as a second source)"}


def timed_extract(song, models, opts, repeats: int = 3) -> float:
    """Wall seconds of an extraction of ``song``: the fastest of ``repeats`` runs, after a
    warm-up run (page cache, threads); the fastest is the least disturbed by other processes."""
    extract_file(song, models, WORK / "out_warm", opts)
    walls = []
    for _ in range(repeats):
        t = time.time()
        extract_file(song, models, WORK / "out", opts)
        walls.append(time.time() - t)
    return min(walls)


def roles_speed(song, seconds: float, device: str) -> dict:
    """Wall time of the built-in other alone, of ``-t other`` (the four built-ins, other with half
    the rest) and of ``-t all``, on the same file."""
    ms = load_models(list(builtin.available().values()), device)
    runs = (("other alone", {"other": ms["other"]}, SeparationOptions()),
            ("-t other (four models, other with half the rest)", ms, SeparationOptions(outputs=("other",))),
            ("-t all", ms, SeparationOptions()),
            ("-t all --niter 0 (no Wiener filter)", ms, SeparationOptions(wiener_iterations=0)))
    out = {}
    for label, models, opts in runs:
        wall = timed_extract(song, models, opts)
        out[label] = {"wall_s": round(wall, 2), "x_realtime": round(seconds / wall, 1)}
        print(f"{label:<50} {wall:6.2f} s: {seconds / wall:7.1f} x real time")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=240.0)
    ap.add_argument("--model", default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-umx", action="store_true")
    ap.add_argument("--roles", action="store_true", help="Also time other alone, -t other and -t all (built-in models).")
    ap.add_argument("--name", type=results_name, default=None, help="results file name under bench/results/ (default speed_DEVICE)")
    args = ap.parse_args()
    song = long_song(args.seconds, WORK / f"song_{int(args.seconds)}s.wav")
    path = args.model or str(builtin.path_for(builtin.DEFAULT_TARGET))
    res = {}
    engine, prec = choose_engine(args.device, "auto", macs_per_frame(read_meta(path)))
    dtype = torch.bfloat16 if prec == "bfloat16" else torch.float32
    print(f"CPU: {machine()['cpu']}; default here: {engine} engine, {prec}")
    runs = (("saesep", "auto", SeparationOptions()),
            ("saesep --precision float32", "float32", SeparationOptions(precision="float32")),
            ("saesep --precision bfloat16 (torch)", "bfloat16", SeparationOptions(precision="bfloat16")),
            ("saesep --stereo mid", "auto", None),
            ("saesep --niter 0 (no Wiener filter)", "auto", SeparationOptions(wiener_iterations=0)))
    for label, precision, opts in runs:
        m = next(iter(load_models([path], args.device, precision).values()))
        if opts is None:
            m.spectral.stereo = "mid"
            opts = SeparationOptions()
        wall = timed_extract(song, m, opts)
        res[label] = {"wall_s": round(wall, 2), "x_realtime": round(args.seconds / wall, 1),
                      "network_gflop_per_audio_s": round(network_gflop_per_audio_second(m, 2), 3)}
        print(f"{label:<27} {wall:6.2f} s for {args.seconds:.0f} s of audio: {args.seconds / wall:7.1f} x real time")
    if args.roles:
        res["roles"] = roles_speed(song, args.seconds, args.device)
    gf = matmul_gflops(args.device, dtype)
    res["precision"] = prec
    res["engine"] = engine
    net_gflops = res["saesep"]["network_gflop_per_audio_s"] * args.seconds / res["saesep"]["wall_s"]
    res["machine_matmul_gflops"] = round(gf, 1)
    res["network_gflops_achieved"] = round(net_gflops, 1)
    res["share_of_matmul_limit"] = round(net_gflops / gf, 3)
    res["limit_x_realtime_network_only"] = round(gf / res["saesep"]["network_gflop_per_audio_s"], 1)
    print(f"network: {res['saesep']['network_gflop_per_audio_s']:.3f} GFLOP per audio second; "
          f"achieved {net_gflops:.1f} GFLOP/s of the {gf:.0f} GFLOP/s a large {res['precision']} matmul reaches "
          f"({100 * net_gflops / gf:.0f} %); network-only bound {res['limit_x_realtime_network_only']:.0f} x real time")
    if not args.no_umx:
        res["open-unmix"] = umx_speed(song, args.seconds, args.device)
        u = res["open-unmix"]
        if "x_realtime" in u:
            ratio = res["saesep"]["x_realtime"] / u["x_realtime"]
            res["saesep_over_umx"] = round(ratio, 2)
            print(f"open-unmix (float32)        {u['wall_s']:6.2f} s: {u['x_realtime']:7.1f} x real time  -> saesep is {ratio:.1f}x faster")
        else:
            print(f"open-unmix: {u['skipped']}")
    res["seconds"] = args.seconds
    res["device"] = args.device
    res["model"] = {"path": args.model or f"built-in {builtin.DEFAULT_TARGET}", "target": m.target, "n_fft": m.spectral.n_fft, "hop": m.spectral.hop}
    write_results(args.name or f"speed_{args.device}", res)


if __name__ == "__main__":
    main()
