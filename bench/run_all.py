#!/usr/bin/env python3
"""`make bench`: speed, memory, data loading, training, masks, other-with-the-rest, quality and timbre-shift benchmarks, one after the other."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
RUNS = [["speed.py"], ["speed.py", "--model", "saesep/models/lead.pt", "--no-umx", "--name", "speed_cpu_lead"],
        ["speed.py", "--roles", "--no-umx", "--name", "speed_cpu_roles"], ["memory.py"], ["memory.py", "--target", "other"],
        ["loader.py"], ["loader.py", "--threads", "1", "--workers", "0,1"],
        ["training.py", "--eval-tracks", "60"], ["masks.py"], ["complement.py"], ["cascade.py", "--role", "lead"], ["cascade.py", "--role", "other"], ["quality.py"],
        # the whole test split against Open-Unmix (reuses the Open-Unmix models quality.py trained)
        ["quality.py", "--tracks", "1000", "--methods", "saesep,open-unmix", "--name", "quality_full"],
        ["fontshift.py"]]
for script, *args in RUNS:
    print(f"\n######## {script} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *args], check=True)
