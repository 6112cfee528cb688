#!/usr/bin/env python3
"""Write docs/benchmarks.md from bench/results/*.json, so that the text and the data cannot drift.

Usage: python bench/report.py            (rewrites docs/benchmarks.md)
       python bench/report.py --check    (exit 1 if docs/benchmarks.md is not what the results give)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common import RESULTS, ROOT, gap_closed

OUT = ROOT / "docs" / "benchmarks.md"
ROLES = ("bass", "lead", "other", "drums")
# the corpora whose test split the built-in models are scored on with museval: label → folder
MUSEVAL_CORPORA = {"band": "corpora/band-medium", "classical": "corpora/medium"}


def load(name: str) -> dict | None:
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def machine(d: dict) -> str:
    m = d.get("machine", {})
    return f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, torch {m.get('torch', '?')}, {m.get('date', '?')}"


def _museval_rows(label: str) -> list[str]:
    """Rows of the museval table of the ``label`` test split: on the band split from the Open-Unmix
    comparison (``umx_band_ROLE.json``, which scores saesep, IRM1 and passthrough with museval on the
    same tracks), else from ``museval_LABEL_ROLE.json``."""
    rows = []
    for role in ROLES:
        if label == "band":
            r = (load(f"umx_band_{role}") or {}).get("targets", {}).get(role)
            med, n = (r["median"], len(r["per_track"])) if r else (None, 0)
        else:
            d = load(f"museval_{label}_{role}")
            med, n = (d["median"], d["counts"]["scored"]) if d else (None, 0)
        if not med:
            continue
        s, mix, irm = med["saesep"], med["mixture"]["SDR"], med["irm1"]["SDR"]
        rows.append(f"| {role} | {n} | {s['SDR']:.2f} | {s['SIR']:.2f} | {s['SAR']:.2f} | {mix:.2f} | {irm:.2f} | "
                    f"{100 * gap_closed(s['SDR'], mix, irm):.0f} % |")
    return rows


def quality() -> list[str]:
    """museval tables of the built-in models, one per test split with results."""
    lines = []
    for label, data in MUSEVAL_CORPORA.items():
        rows = _museval_rows(label)
        if not rows:
            continue
        command = ("`python bench/quality.py --data corpora/band-medium --targets ROLE --tracks 60 --methods "
                   "saesep,open-unmix,irm1,mixture --no-nmf --umx-cpu-scale 4 --name umx_band_ROLE` (the Open-Unmix "
                   "comparison below)" if label == "band" else
                   f"`saesep evaluate --data {data} --split test -t ROLE -m saesep/models/ROLE.pt --metric bss "
                   f"--method saesep,irm1,mixture --json bench/results/museval_{label}_ROLE.json`")
        lines += [f"## Quality on the {label} test split (museval)", "",
                  "The built-in models, median over the split's tracks of museval BSS Eval v4 (1-s windows, "
                  "median over windows); IRM1 is the ideal ratio mask on the model's own STFT, passthrough the "
                  f"mixture itself; `other` is the model alone. Command: {command}.", "",
                  "| role | tracks | SDR | SIR | SAR | passthrough SDR | IRM1 SDR | gap closed |",
                  "|---|---|---|---|---|---|---|---|"] + rows + [""]
    return lines[:-1]


def generalisation() -> list[str]:
    rows = []
    for p in sorted(RESULTS.glob("generalisation_*.json")):
        d = json.loads(p.read_text())
        for model, splits in d["models"].items():
            for label, r in splits.items():
                metric = "museval SDR" if r.get("metric") == "bss" else "MDX SDR"
                rows.append(f"| {d['target']} | {label} {r['split']} ({r['tracks']}) | `{Path(model).name}` | "
                            f"`{Path(d['reference']).name}` | {metric} | "
                            f"{r['saesep']['SDR']:.2f} | {r['saesep']['SI-SDR']:.2f} | "
                            f"{100 * r['gap_closed']:.0f} % | {r['reference']['SDR']:.2f} ({100 * r['reference_gap_closed']:.0f} %) | "
                            f"{r['paired_sdr']['mean']:+.2f}; {r['paired_sdr']['better']}/{r['paired_sdr']['tracks']} | `{p.name}` |")
    if not rows:
        return []
    return ["## Band music and classical music", "",
            "Each built-in model on the band corpus (unseen tunes and grooves, an unseen SoundFont and drum kit; "
            "`band-opl3`: the same test songs played by an FM synthesizer no model heard) and on the classical "
            "corpus (unseen pieces and SoundFont), against a reference of the same role: `bass_constant.pt`, "
            "`drums_constant.pt` and `other_constant.pt` are the previous built-ins, trained at a constant learning "
            "rate, each with its own options; `lead_f1.pt` is lead's earlier seed-0 network alone (the file now "
            "averages two) with the options of before (the stereo Wiener filter, the plain ratio mask, one STFT grid, "
            "no output gain). "
            "Median over tracks of the Music Demixing Challenge's whole-track SDR (MDX SDR, "
            "`saesep evaluate --metric sdr`) and of SI-SDR (dB), the share of the passthrough → IRM1 gap closed, "
            "and the paired SDR difference over the split's tracks. Command: "
            "`python bench/generalisation.py --model saesep/models/ROLE.pt --reference REFERENCE.pt --split test "
            "--name generalisation_ROLE`.", "",
            "| role | corpus, split (tracks) | model | reference | metric | SDR | SI-SDR | gap closed | reference SDR (gap) | paired; better on | results |",
            "|---|---|---|---|---|---|---|---|---|---|---|"] + rows


def open_unmix() -> list[str]:
    """saesep against Open-Unmix trained on the same tracks for a multiple of saesep's CPU time
    (``bench/quality.py --umx-cpu-scale K --name umx_band_ROLE``)."""
    from saesep.weights import read_meta

    rows, earlier = [], []
    for role in ROLES:
        d = load(f"umx_band_{role}")
        r = (d or {}).get("targets", {}).get(role)
        if not r or "open-unmix" not in r["median"]:
            continue
        med, info, vs = r["median"], r["open-unmix"], r["saesep_minus"]["open-unmix"]
        shipped = ROOT / "saesep" / "models" / f"{role}.pt"
        cpu = read_meta(shipped).get("history", {}).get("cpu_seconds")
        if cpu and abs(cpu - info["cpu_budget_s"] / info["cpu_scale"]) > 1:
            earlier.append(f"{role}, whose shipped model took {cpu:.0f} CPU s")
        umx_gap = gap_closed(med["open-unmix"]["SDR"], med["mixture"]["SDR"], med["irm1"]["SDR"])
        rows.append(f"| {role} | {vs['tracks']} | {med['saesep']['SDR']:.2f} ({100 * r['gap_closed_to_irm1']:.0f} %) | "
                    f"{med['open-unmix']['SDR']:.2f} ({100 * umx_gap:.0f} %) | {vs['mean']:+.2f}; {vs['better']}/{vs['tracks']} | "
                    f"{info['cpu_budget_s']:.0f} s ({info['cpu_scale']:g}× saesep's {info['cpu_budget_s'] / info['cpu_scale']:.0f} s) | "
                    f"{info['steps']} × {info['batch']} × {info['segment_seconds']:.0f} s | {machine(d)} |")
    if not rows:
        return []
    return ["## Against Open-Unmix on the band test split", "",
            "Open-Unmix (its model, stereo, 512 hidden units, trained with MSE on magnitudes and Adam, random gains per "
            "stem; separated with its Wiener post-filter, one iteration) trained on the same training tracks as the "
            "built-in model for a multiple of the CPU time saesep's training took (all its threads and loaders). "
            "saesep separates as `saesep extract` does (with the mask exponent, the stereo Wiener filter and the STFT "
            "grids each model file records). museval SDR, median over the band test split (share of the passthrough → IRM1 gap), and the paired "
            "difference saesep − Open-Unmix. Command: `python bench/quality.py --data corpora/band-medium --targets ROLE "
            "--tracks 60 --methods saesep,open-unmix,irm1,mixture --no-nmf --umx-cpu-scale 4 --name umx_band_ROLE` "
            "(with `OMP_NUM_THREADS=1`: one thread loses no CPU time to waiting threads; where only saesep's "
            "separation changed, `--umx-scores bench/results/umx_band_ROLE.json` reuses Open-Unmix's per-track scores "
            "of the same trained model, and the results name that file).", "",
            "| role | tracks | saesep SDR (gap) | Open-Unmix SDR (gap) | paired; saesep better on | Open-Unmix's CPU time | its steps × batch × segment | CPU |",
            "|---|---|---|---|---|---|---|---|"] + rows + \
        (["", "These runs measured an earlier model of the role: " + "; ".join(earlier) + " (the role's card in "
          "[models.md](models.md) compares it with the same Open-Unmix scores)."] if earlier else [])


def timbres() -> list[str]:
    rows = []
    for name in ("fontshift_bass", "fontshift_lead_other_drums"):
        d = load(name)
        for role, r in (d or {}).get("results", {}).items():
            test, train = (r[k] for k in r if k != "paired_cost_db")
            rows.append(f"| {role} | {test['saesep']:.2f} ({100 * test['gap_closed']:.0f} %) | "
                        f"{train['saesep']:.2f} ({100 * train['gap_closed']:.0f} %) | {r['paired_cost_db']:+.2f} |")
    if not rows:
        return []
    return ["## What unseen instruments cost", "",
            "Measured with the models that learnt from classical renders only, before the band corpus: "
            "the classical test split rendered twice: with its own SoundFont (TimGM6mb, never heard in training) and "
            "with the training one (FluidR3_GM); same notes, instruments, gains and pans. "
            "Median SDR (share of the passthrough → IRM1 gap closed); the cost is the paired mean over tracks. "
            "Command: `python bench/fontshift.py --roles ROLE --name fontshift_ROLE`.", "",
            "| role | test font | training font | cost of the unseen font, dB |", "|---|---|---|---|"] + rows


def speed() -> list[str]:
    lines = ["## Speed", ""]
    d = load("speed_cpu")
    if d:
        lines += [f"`python bench/speed.py` ({machine(d)}; a 240-s stereo 44.1 kHz song, in one process, "
                  "the fastest of 3 runs after a warm-up run):", "", "| run | wall s | × real time |", "|---|---|---|"]
        for k, v in d.items():
            if isinstance(v, dict) and "x_realtime" in v:
                lines.append(f"| {k} | {v['wall_s']} | {v['x_realtime']} |")
        if "saesep_over_umx" in d:
            lines += ["", f"saesep is {d['saesep_over_umx']}× as fast as Open-Unmix on that machine "
                          f"(engine {d.get('engine', 'torch')}, {d.get('precision')})."]
    r = load("speed_cpu_roles")
    if r and "roles" in r:
        lines += ["", f"Several models (`python bench/speed.py --roles --no-umx --name speed_cpu_roles`; {machine(r)}):",
                  "", "| run | wall s | × real time |", "|---|---|---|"]
        for k, v in r["roles"].items():
            lines.append(f"| {k} | {v['wall_s']} | {v['x_realtime']} |")
    s = load("startup_cpu")
    if s:
        lines += ["", "### Whole processes, as shell scripts run them", "",
                  f"`python bench/startup.py` ({machine(s)}; {s['rounds']} alternated rounds, medians):", "",
                  "| process | median s | × `import torch` | × real time |", "|---|---|---|---|"]
        for k, v in s["runs"].items():
            lines.append(f"| {k} | {v['median_s']} | {v['over_import_torch']} | {v.get('x_realtime', '')} |")
    b = load("batch_cpu")
    if b:
        lines += ["", "### A batch in one process (`-j`)", "",
                  f"`python bench/batch.py` ({machine(b)}; {b['songs']} songs of {b['song_seconds']:.0f} s, "
                  f"`-t {b['target']}`, {b['rounds']} alternated rounds, medians):", "",
                  "| engine, files in parallel | median s | × real time | × `-j 1` |", "|---|---|---|---|"]
        for k, v in b["runs"].items():
            lines.append(f"| {k} | {v['median_s']} | {v['x_realtime']} | {v['speedup_over_j1']} |")
    g = load("gpu_h100_torch_fft/speed_cuda")
    if g:
        lines += ["", f"On a GPU (`bash scripts/gpu_check.sh`; {machine(g)}, {g['machine'].get('gpu')}): built-in bass "
                      f"{g['saesep']['x_realtime']}× real time"
                      + (f", Open-Unmix {g['open-unmix']['x_realtime']}×" if "x_realtime" in g.get("open-unmix", {})
                         else "") + "."]
    return lines


def training() -> list[str]:
    d = load("pool_cpu")
    if not d:
        return []
    lines = ["## Training: loading a pool", "",
             "Training waits while a pool of tracks loads (32 by default: decoding their stems, one STFT each; "
             f"a default run of other loads up to 39). `python bench/pool.py --baseline DIR` ({machine(d)}; the built-ins' "
             f"corpora, target {d['target']}, medians of {d['pools']} pools, each version in a process of its own "
             "that loads one pool after another; the same pools in every run, checked):", "",
             "| run | wall s | CPU s | × the first run's speed | peak resident MB while it loads |", "|---|---|---|---|---|"]
    for k, r in d["runs"].items():
        lines.append(f"| {k} | {r['wall']} | {r['cpu']} | {r['wall_speedup']} | {r['peak_mb']} |")
    if any(k.startswith("baseline") for k in d["runs"]):
        lines += ["", "The baseline is the earlier loader (one thread; the spectra transposed after "
                      "concatenation), run from a checkout of that version."]
    return lines


def memory() -> list[str]:
    runs = [(d, what) for d, what in ((load("memory"), "built-in bass"),
                                      (load("memory_other"), "`-t other`: the four built-in models")) if d]
    if not runs:
        return []
    lines = ["## Memory", "",
             "`python bench/memory.py`: peak RSS of a whole `saesep extract` process "
             "(`--target other`: `saesep extract -t other`).", "",
             "| models | song | peak RSS MB | wall s | machine |", "|---|---|---|---|---|"]
    for d, what in runs:
        lines += [f"| {what} | {d[k]['minutes']} min | {d[k]['peak_rss_mb']} | {d[k]['wall_s']} | {machine(d)} |"
                  for k in ("short", "long")]
    ratios = "; ".join(f"{what}: {d['ratio_long_over_short']}" for d, what in runs)
    notes = [f"{what}: {d['note']}." for d, what in runs if d.get("note")]
    return lines + ["", f"Long over short ({ratios}): memory does not grow with the length."] + \
        (["", *notes] if notes else [])


def render() -> str:
    parts = ["# Benchmarks", "",
             "Current figures only, generated by `python bench/report.py` from `bench/results/*.json` "
             "(each section names the command that wrote its file). What was tried and not adopted is in "
             "[experiments.md](experiments.md).", ""]
    for section in (quality(), generalisation(), open_unmix(), timbres(), speed(), training(), memory()):
        if section:
            parts += section + [""]
    return "\n".join(parts).rstrip() + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT.relative_to(ROOT)} is out of date: run python bench/report.py")
            sys.exit(1)
        return
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
