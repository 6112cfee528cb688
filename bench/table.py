#!/usr/bin/env python3
"""Print bench/results/quality.json as a Markdown table (for the README)."""

import json
from pathlib import Path

res = json.loads((Path(__file__).parent / "results" / "quality.json").read_text())
targets = res["targets"]
methods = list(next(iter(targets.values()))["median"])
print("| method | " + " | ".join(targets) + " |")
print("|---|" + "---|" * len(targets))
for m in methods:
    cells = [f"{targets[t]['median'][m]['SDR']:.2f}" if m in targets[t]["median"] else "–" for t in targets]
    print(f"| {m} | " + " | ".join(cells) + " |")
print("| share of the passthrough → IRM1 gap closed by saesep | "
      + " | ".join(f"{100 * targets[t]['gap_closed_to_irm1']:.0f} %" for t in targets) + " |")
umx = [targets[t].get("open-unmix", {}) for t in targets]
print("| Open-Unmix training steps (CPU s) | " + " | ".join(f"{u.get('steps', '–')} ({u.get('cpu_seconds', '–')})" for u in umx) + " |")
