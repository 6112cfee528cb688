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

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
OUT = ROOT / "docs" / "benchmarks.md"
ROLES = ("bass", "lead", "other", "drums")
# the bench/quality.py run of each built-in model against Open-Unmix at equal CPU time
OPEN_UNMIX = {"bass": "quality_full_bass_band", "lead": "quality_full_lead_other_drums",
              "other": "quality_full_lead_other_drums", "drums": "quality_full_drums"}


def load(name: str) -> dict | None:
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def machine(d: dict) -> str:
    m = d.get("machine", {})
    return f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, torch {m.get('torch', '?')}, {m.get('date', '?')}"


def quality() -> list[str]:
    lines = ["## Quality on the classical test split (museval)", "",
             "Built-in models not retrained on the band corpus yet (the others: next section). "
             "Median over the test split's tracks (unseen pieces, unseen SoundFont), museval BSS Eval v4; "
             "IRM1 is the ideal ratio mask on the model's own STFT, passthrough the mixture itself. "
             "Command: `saesep evaluate --data corpora/medium --split test -m saesep/models/ROLE.pt "
             "--method saesep,irm1,mixture --json bench/results/ROLE.eval.json`.", "",
             "| role | tracks | SDR | SIR | SAR | passthrough SDR | IRM1 SDR | gap closed |",
             "|---|---|---|---|---|---|---|---|"]
    if not any(load(f"{role}.eval") for role in ROLES):
        return []
    for role in ROLES:
        d = load(f"{role}.eval")
        if not d:
            continue
        med, n = d["median"], sum("methods" in r for r in d["tracks"])
        s, mix, irm = med["saesep"], med.get("mixture", {}).get("SDR"), med.get("irm1", {}).get("SDR")
        gap = f"{100 * (s['SDR'] - mix) / (irm - mix):.0f} %" if mix is not None and irm is not None else ""
        lines.append(f"| {role} | {n} | {s['SDR']:.2f} | {s['SIR']:.2f} | {s['SAR']:.2f} | "
                     f"{mix:.2f} | {irm:.2f} | {gap} |")
    rest = load("other_rest.eval")
    if rest:
        s = rest["median"]["saesep"]
        lines += ["", f"`-t other` (all four models, other with half of what they leave; "
                      f"`saesep evaluate --data corpora/medium -t other`): SDR {s['SDR']:.2f}, "
                      f"SIR {s['SIR']:.2f}, SAR {s['SAR']:.2f} dB."]
    rows = []
    for role, name in OPEN_UNMIX.items():
        if not load(f"{role}.eval"):  # a retrained role: that comparison was with its previous model
            continue
        q = load(name)
        t = q["targets"][role] if q else None
        if t and t["median"]["saesep"]["SDR"]:
            u = t.get("open-unmix", {})
            rows.append(f"| {role} | {t['median']['saesep']['SDR']:.2f} | {t['median']['open-unmix']['SDR']:.2f} | "
                        f"{u.get('steps', '')} | {u.get('cpu_budget_s', '')} | `{name}.json` |")
    if rows:
        lines += ["", "Against Open-Unmix trained on the same data for the same CPU time as the saesep model "
                      "(`python bench/quality.py --targets ROLE --tracks 60 --name NAME`):", "",
                  "| role | saesep SDR | Open-Unmix SDR | Open-Unmix steps | CPU budget s | results |",
                  "|---|---|---|---|---|---|"] + rows
    return lines


def generalisation() -> list[str]:
    rows = []
    for p in sorted(RESULTS.glob("generalisation_*.json")):
        d = json.loads(p.read_text())
        for model, splits in d["models"].items():
            for label, r in splits.items():
                metric = "museval SDR" if r.get("metric") == "bss" else "MDX SDR"
                rows.append(f"| {d['target']} | {label} {r['split']} ({r['tracks']}) | `{Path(model).name}` | {metric} | "
                            f"{r['saesep']['SDR']:.2f} | {r['saesep']['SI-SDR']:.2f} | "
                            f"{100 * r['gap_closed']:.0f} % | {r['reference']['SDR']:.2f} ({100 * r['reference_gap_closed']:.0f} %) | "
                            f"{r['paired_sdr']['mean']:+.2f}; {r['paired_sdr']['better']}/{r['paired_sdr']['tracks']} | `{p.name}` |")
    if not rows:
        return []
    return ["## Band music and classical music", "",
            "Each built-in model on the band corpus (unseen tunes and grooves, an unseen SoundFont and drum kit; "
            "`band-opl3`: the same test songs played by an FM synthesizer no model heard) and on the classical "
            "corpus (unseen pieces and SoundFont), against the previous built-in of its role (trained on classical "
            "renders only). Median over tracks of the Music Demixing Challenge's whole-track SDR (MDX SDR, "
            "`saesep evaluate --metric sdr`) and of SI-SDR (dB), the share of the passthrough → IRM1 gap closed, "
            "and the paired SDR difference over the split's tracks. Command: "
            "`python bench/generalisation.py --model saesep/models/ROLE.pt --reference PREVIOUS.pt --split test "
            "--name generalisation_ROLE`.", "",
            "| role | corpus, split (tracks) | model | metric | SDR | SI-SDR | gap closed | previous SDR (gap) | paired; better on | results |",
            "|---|---|---|---|---|---|---|---|---|---|"] + rows


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
            "The test split rendered twice: with its own SoundFont (TimGM6mb, never heard in training) and "
            "with the training one (FluidR3_GM); same notes, instruments, gains and pans. "
            "Median SDR (share of the passthrough → IRM1 gap closed); the cost is the paired mean over tracks. "
            "Command: `python bench/fontshift.py --roles ROLE --name fontshift_ROLE`.", "",
            "| role | test font | training font | cost of the unseen font, dB |", "|---|---|---|---|"] + rows


def speed() -> list[str]:
    lines = ["## Speed", ""]
    d = load("speed_cpu")
    if d:
        lines += [f"`python bench/speed.py` ({machine(d)}; a 240-s stereo 44.1 kHz song, in one process, "
                  "after a warm-up run):", "", "| run | wall s | × real time |", "|---|---|---|"]
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
    g = load("gpu_h100_torch_fft/speed_cuda")
    if g:
        lines += ["", f"On a GPU (`bash scripts/gpu_check.sh`; {machine(g)}, {g['machine'].get('gpu')}): built-in bass "
                      f"{g['saesep']['x_realtime']}× real time"
                      + (f", Open-Unmix {g['open-unmix']['x_realtime']}×" if "x_realtime" in g.get("open-unmix", {})
                         else "") + "."]
    return lines


def memory() -> list[str]:
    d = load("memory")
    if not d:
        return []
    return ["## Memory", "",
            f"`python bench/memory.py` ({machine(d)}): peak RSS of a whole `saesep extract` process (built-in bass).", "",
            "| song | peak RSS MB | wall s |", "|---|---|---|",
            f"| {d['short']['minutes']} min | {d['short']['peak_rss_mb']} | {d['short']['wall_s']} |",
            f"| {d['long']['minutes']} min | {d['long']['peak_rss_mb']} | {d['long']['wall_s']} |",
            "", f"Long over short: {d['ratio_long_over_short']} (memory does not grow with the length)."]


def render() -> str:
    parts = ["# Benchmarks", "",
             "Current figures only, generated by `python bench/report.py` from `bench/results/*.json` "
             "(each section names the command that wrote its file). What was tried and not adopted is in "
             "[experiments.md](experiments.md).", ""]
    for section in (quality(), generalisation(), timbres(), speed(), memory()):
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
