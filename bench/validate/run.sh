#!/usr/bin/env bash
# mlsec redteam vs IBM ART (Square Attack, HopSkipJump) on the same ONNX
# models, rows, radii and query budgets, and mlsec privacy vs ART's
# membership-inference attacks (see bench/validate/README.md).
# Writes bench/validate/results.json (compare.py's raw output).
#
#   bench/validate/run.sh                          # venv, release build, compare
#   bench/validate/run.sh --privacy                # membership inference (privacy.py)
#   bench/validate/run.sh --datasets iris          # arguments go to compare.py
#   MLSEC_BIN=path/to/mlsec bench/validate/run.sh  # skip the build
#   BENCH_VENV=dir bench/validate/run.sh           # another venv location
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PY=${PYTHON:-python3}
VENV=${BENCH_VENV:-$HOME/.cache/mlsec/bench-validate-venv}
export PIP_ROOT_USER_ACTION=ignore PYTHONWARNINGS=ignore

# 1. The venv (outside the repository), pinned.
if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"

# 2. The binary under test: a release build (unless MLSEC_BIN is given).
if [ -z "${MLSEC_BIN:-}" ]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/mlsec/target}
  (cd "$root" && cargo build --release -p mlsec --locked)
  MLSEC_BIN=$CARGO_TARGET_DIR/release/mlsec
fi

# 3. The comparison: evasion (compare.py), or membership inference
#    (privacy.py) with --privacy.
script=compare.py
if [ "${1:-}" = "--privacy" ]; then
  script=privacy.py
  shift
fi
exec "$VENV/bin/python" "$here/$script" --mlsec "$MLSEC_BIN" "$@"
