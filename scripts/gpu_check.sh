#!/usr/bin/env bash
# One prepared run on a lent GPU machine: the test suite and the speed benchmark (docs/benchmarks.md).
# TESTS=... and PYTEST_TIMEOUT=... (seconds) pick a part of the suite when device time is short.
# Missing Python packages travel as wheels in .whl/ (librosa, soundfile, soxr, openunmix…).
set -uo pipefail
OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch, os; print('torch', torch.__version__, torch.cuda.get_device_name(0), 'cpus', os.cpu_count())"; } | tee "$OUT/gpu.txt"
timeout ${PYTEST_TIMEOUT:-330} python3 -m pytest -q -p no:cacheprovider ${TESTS:-tests} 2>&1 | tee "$OUT/pytest.log" | tail -4
# the default model (built-in bass) against Open-Unmix, then lead, then other / -t other / -t all
timeout 90 python3 bench/speed.py --device cuda --seconds 240 --name speed_cuda 2>&1 | tail -15 | tee "$OUT/speed_cuda.log"
timeout 60 python3 bench/speed.py --device cuda --seconds 240 --no-umx --model saesep/models/lead.pt --name speed_cuda_lead 2>&1 | tail -8 | tee "$OUT/speed_cuda_lead.log"
timeout 90 python3 bench/speed.py --device cuda --seconds 240 --no-umx --roles --name speed_cuda_roles 2>&1 | tail -12 | tee "$OUT/speed_cuda_roles.log"
for n in speed_cuda speed_cuda_lead speed_cuda_roles; do cp bench/results/$n.json "$OUT/" 2>/dev/null; done; true
