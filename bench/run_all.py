#!/usr/bin/env python3
"""`make bench`: speed, memory, training and quality benchmarks, one after the other."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
for script in ("speed.py", "memory.py", "training.py", "quality.py"):
    print(f"\n######## {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True)
