#!/usr/bin/env bash
# mlsec-pii vs Presidio: quality on the labelled set, throughput on a corpus.
# Writes bench/pii/results.md (see bench/pii/README.md).
#
#   bench/pii/run.sh                  # venv, eval set, corpus, both tools, results.md
#   CORPUS_MB=16 bench/pii/run.sh     # smaller corpus
#   PRESIDIO_MB=0.1 bench/pii/run.sh  # Presidio on less of the corpus (it is slow)
#   PRESIDIO_ARGS=--no-spacy bench/pii/run.sh  # Presidio's pattern recognizers only
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/mlsec/target}
export CARGO_TARGET_DIR=$TARGET
VENV=$TARGET/pii-venv
WORK=$TARGET/pii-bench
mkdir -p "$WORK"

[ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
PIP_ROOT_USER_ACTION=ignore "$VENV/bin/pip" install -q --disable-pip-version-check -r bench/pii/requirements.txt

# Deterministic: regenerates the committed eval.jsonl byte for byte.
"$VENV/bin/python" bench/pii/make_eval.py --corpus "$WORK/corpus.csv" --mb "${CORPUS_MB:-64}"
git diff --quiet -- bench/pii/eval.jsonl || echo "note: bench/pii/eval.jsonl changed; commit it with the generator" >&2

cargo build -q --release -p mlsec-pii --examples
"$TARGET/release/examples/eval_predict" bench/pii/eval.jsonl >"$WORK/mlsec-pred.jsonl"
"$TARGET/release/examples/throughput" "$WORK/corpus.csv" --threads "${THREADS:-2}" | tee "$WORK/mlsec-throughput.txt"

"$VENV/bin/python" bench/pii/presidio_compare.py \
  --eval bench/pii/eval.jsonl --mlsec-pred "$WORK/mlsec-pred.jsonl" \
  --corpus "$WORK/corpus.csv" --mlsec-throughput "$WORK/mlsec-throughput.txt" \
  --presidio-mb "${PRESIDIO_MB:-0.2}" ${PRESIDIO_ARGS:-} --out bench/pii/results.md
