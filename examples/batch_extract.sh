#!/usr/bin/env bash
# Extract the bass (and the accompaniment) from every song under a folder tree.
#
#   examples/batch_extract.sh ~/Music separated/
#
# - the model is loaded once for the whole batch;
# - a file that fails is reported and skipped; the exit status says whether any failed;
# - rerunning after an interruption skips songs whose outputs already exist
#   (outputs are renamed into place only when complete, so none is half-written);
# - one JSON line per file goes to batch.jsonl for later scripting.
set -euo pipefail
in_dir=${1:?usage: $0 INPUT_DIR [OUTPUT_DIR]}
out_dir=${2:-separated}

find "$in_dir" -type f \( -iname '*.wav' -o -iname '*.flac' -o -iname '*.mp3' -o -iname '*.ogg' \) -print |
  saesep extract - --target bass --residual --format flac -o "$out_dir" \
    --filename '{track}/{target}.{ext}' --skip-existing --jobs 2 --json |
  tee -a batch.jsonl |
  python3 -c 'import json,sys
ok = bad = 0
for line in sys.stdin:
    r = json.loads(line); ok += r["status"] != "error"; bad += r["status"] == "error"
    if r["status"] == "error": print("FAILED:", r["error"], file=sys.stderr)
print(f"{ok} done, {bad} failed", file=sys.stderr)'
