#!/usr/bin/env bash
# One prepared run on a lent GPU machine (see README "GPU"): the test suite and the speed benchmark.
# Missing Python packages travel as wheels in .whl/ (librosa, soundfile, soxr, openunmix…).
set -uo pipefail
OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))" | tee -a "$OUT/gpu.txt"
timeout 330 python3 -m pytest -q -p no:cacheprovider tests 2>&1 | tee "$OUT/pytest.log" | tail -25
timeout 150 python3 bench/speed.py --device cuda --seconds 240 2>&1 | tee "$OUT/speed_cuda.log"
cp bench/results/speed_cuda.json "$OUT/" 2>/dev/null || true
