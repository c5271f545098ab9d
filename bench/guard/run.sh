#!/usr/bin/env bash
# mlsec guard vs reference prompt-injection heuristics (see bench/guard/README.md).
# Writes bench/guard/results.md.
#
#   bench/guard/run.sh                        # venvs, sets, all tools, speed, results.md
#   MLSEC_BIN=path/to/mlsec bench/guard/run.sh
#   bench/guard/run.sh mlsec report           # only some steps:
#                                             #   venv data mlsec denylist llmguard rebuff speed report
#   CORPUS_LINES=5000 bench/guard/run.sh      # smaller speed corpus (default 20000)
#   REBUFF_ORIGINAL_N=0 bench/guard/run.sh    # skip timing rebuff's own (slow) function
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
WORK=work
mkdir -p "$WORK"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_ROOT_USER_ACTION=ignore PYTHONWARNINGS=ignore

# The binary under test: MLSEC_BIN, else a release build, else a debug build.
if [ -z "${MLSEC_BIN:-}" ]; then
  for t in ${CARGO_TARGET_DIR:-} "$HOME/.cache/mlsec/target" ../../target; do
    for p in release debug; do
      if [ -z "${MLSEC_BIN:-}" ] && [ -x "$t/$p/mlsec" ]; then MLSEC_BIN=$t/$p/mlsec; fi
    done
  done
fi
MLSEC_BIN=${MLSEC_BIN:-}
CORPUS=$WORK/corpus_1k.jsonl

note() { echo "note: $*" >&2; echo "$*" >>"$WORK/notes.txt"; }

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(venv data mlsec denylist llmguard rebuff speed report)
for step in "${steps[@]}"; do
  echo "== $step" >&2
  case $step in
    venv)
      : >"$WORK/notes.txt"
      [ -x .venv/bin/python ] || "$PY" -m venv .venv
      .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt \
        || note "llm-guard: pip install failed (see the log above); LLM Guard is left out"
      [ -x .venv-rebuff/bin/python ] || "$PY" -m venv .venv-rebuff
      .venv-rebuff/bin/pip install -q --disable-pip-version-check -r requirements-rebuff.txt \
        || note "rebuff: pip install failed (see the log above); Rebuff is left out"
      ;;
    data)
      # Deterministic: regenerates the committed dev.jsonl and eval.jsonl byte for byte.
      "$PY" make_eval.py --corpus "$CORPUS" --lines "${CORPUS_LINES:-20000}"
      git diff --quiet -- dev.jsonl eval.jsonl 2>/dev/null \
        || echo "note: dev.jsonl/eval.jsonl changed; commit them with the generator" >&2
      ;;
    mlsec)
      if [ -n "$MLSEC_BIN" ] && [ -x "$MLSEC_BIN" ]; then
        "$PY" compare.py mlsec --bin "$MLSEC_BIN"
      else
        note "mlsec: no binary (set MLSEC_BIN or cargo build --release -p mlsec); mlsec is left out"
      fi
      ;;
    denylist) "$PY" compare.py denylist --corpus "$CORPUS" ;;
    llmguard)
      .venv/bin/python compare.py llmguard --corpus "$CORPUS" \
        || note "llm-guard: the scanners failed to import or run (see the log); LLM Guard is left out"
      ;;
    rebuff)
      .venv-rebuff/bin/python compare.py rebuff --corpus "$CORPUS" --corpus-limit "${REBUFF_CORPUS_N:-50}" \
        --original-n "${REBUFF_ORIGINAL_N:-1}" --verify "${REBUFF_VERIFY_N:-20}" \
        || note "rebuff: the heuristic failed to import or run (see the log); Rebuff is left out"
      ;;
    speed)
      if [ -n "$MLSEC_BIN" ] && [ -x "$MLSEC_BIN" ]; then
        "$PY" compare.py mlsec-speed --bin "$MLSEC_BIN" --corpus "$CORPUS" --runs "${BENCH_RUNS:-3}"
      fi
      # The library alone, one thread: the injection guard on the same corpus,
      # and what the output guards add to each streamed chunk.
      mkdir -p "$WORK/speed"
      (cd ../.. && cargo run -q --release -p mlsec-guard --example guard_speed -- "bench/guard/$CORPUS") \
        >"$WORK/speed/mlsec-lib.json" || note "guard_speed: cargo run failed; the library rows are left out"
      ;;
    report) "$PY" compare.py report --out results.md ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
