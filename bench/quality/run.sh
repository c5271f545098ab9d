#!/usr/bin/env bash
# Side-by-side drift benchmark: `mlsec data drift` vs scipy's per-column tests
# vs Evidently's DataDriftPreset on a seeded 1,000,000 x 20 Parquet pair
# (issue 19, drift part). Writes bench/quality/results.md (see bench/quality/README.md).
#
#   bench/quality/run.sh                      # venv, inputs, timings, equality, verdicts, results.md
#   MLSEC_BIN=path/to/mlsec bench/quality/run.sh
#   BENCH_RUNS=5 BENCH_RUNS_PY=2 bench/quality/run.sh   # fewer timed runs (mlsec / Python tools)
#   bench/quality/run.sh mlsec compare report # only some steps (gen scipy evidently mlsec compare report)
#   bench/quality/run.sh big                  # optional: ~10 GB pair, mlsec's time and peak RSS
#   nice -n 10 bench/quality/run.sh           # on a machine shared with other work
#
# The label-issue and outlier benchmark (`mlsec data issues` vs cleanlab and IsolationForest,
# bench/quality/issues.py; writes bench/quality/issues-results.md) has its own steps:
#   bench/quality/run.sh issues               # issues.py all: gen refs mlsec report
#   bench/quality/run.sh issues-gen issues-refs issues-report   # only some of its steps
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
VENV=${BENCH_VENV:-bench/quality/.venv}

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
PIP_ROOT_USER_ACTION=ignore "$VENV/bin/pip" install -q --disable-pip-version-check -r bench/quality/requirements.txt

export MLSEC_BIN=${MLSEC_BIN:-$PWD/target/release/mlsec}
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(all)

drift=0
for step in "${steps[@]}"; do
  case $step in issues|issues-*) ;; *) drift=1 ;; esac
done
if [ $drift = 1 ]; then
  # drift.py leaves mlsec out when it can't run; issues.py's mlsec step fails instead.
  if [ ! -x "$MLSEC_BIN" ]; then
    echo "note: no mlsec binary at $MLSEC_BIN (cargo build --release -p mlsec); mlsec is left out" >&2
  elif ! "$MLSEC_BIN" data drift --help >/dev/null 2>&1; then
    echo "note: $MLSEC_BIN has no \`data drift\` command yet; mlsec is left out" >&2
  fi
  if ! command -v hyperfine >/dev/null; then
    echo "note: hyperfine not installed (apt-get install hyperfine); timing mlsec with perf_counter" >&2
  fi
fi

for step in "${steps[@]}"; do
  echo "== $step" >&2
  case $step in
    issues) "$VENV/bin/python" bench/quality/issues.py all ;;
    issues-*) "$VENV/bin/python" bench/quality/issues.py "${step#issues-}" ;;
    *) "$VENV/bin/python" bench/quality/drift.py "$step" ;;
  esac
done
