#!/usr/bin/env bash
# Side-by-side benchmark of mlsec, picklescan and modelscan (see bench/README.md).
#
#   bench/run.sh                 # everything: venv, inputs, timings, verdicts, results.md
#   MLSEC_BIN=path/to/mlsec bench/run.sh
#   BENCH_RUNS=3 bench/run.sh    # fewer timed runs
#   BENCH_TF=1 bench/run.sh      # give modelscan TensorFlow (Keras/SavedModel scanning)
#   bench/run.sh time report     # only some steps (gen, time, compare, report)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if [ ! -x bench/.venv/bin/python ]; then
  "$PY" -m venv bench/.venv
fi
PIP_ROOT_USER_ACTION=ignore bench/.venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
# BENCH_TF=1: a second venv whose modelscan has its TensorFlow extra (~1.5 GB),
# used for the verdict table only (modelscan then imports TensorFlow on every
# run, ~6 s, which would distort the timings).
if [ "${BENCH_TF:-0}" = 1 ]; then
  [ -x bench/work/venv-tf/bin/python ] || "$PY" -m venv bench/work/venv-tf
  PIP_ROOT_USER_ACTION=ignore bench/work/venv-tf/bin/pip install -q --disable-pip-version-check -r bench/requirements-tf.txt
fi

export MLSEC_BIN=${MLSEC_BIN:-$PWD/target/release/mlsec}
if [ ! -x "$MLSEC_BIN" ]; then
  echo "note: no mlsec binary at $MLSEC_BIN (cargo build --release -p mlsec); mlsec is left out" >&2
fi
if ! command -v hyperfine >/dev/null; then
  echo "note: hyperfine not installed (apt-get install hyperfine); timing with perf_counter" >&2
fi

# The real published model joins the verdict table when pip can fetch it.
if [ -z "${MINILM_DIR:-}" ]; then
  MINILM_DIR=$(scripts/fetch-minilm.sh 2>/dev/null) || MINILM_DIR=
fi
export MINILM_DIR

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(gen time compare report)
for step in "${steps[@]}"; do
  echo "== $step" >&2
  bench/.venv/bin/python bench/bench.py "$step"
done
