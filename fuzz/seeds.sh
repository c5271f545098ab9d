#!/usr/bin/env bash
# What a fuzz target starts from, for run-all.sh and the ClusterFuzzLite build.
#   seeds.sh TARGET         the seed files, one path per line, relative to fuzz/:
#                           the regressions and hostile shapes (polyglots, deep
#                           nesting) first, then corpora/TARGET, then the fixtures
#   seeds.sh --dict TARGET  the target's libFuzzer dictionary, if it has one
#   seeds.sh --copy TARGET DIR  copies the seed files into DIR, each named by
#                           its path (the example models are all model.onnx)
set -euo pipefail
usage() { echo "usage: seeds.sh TARGET | seeds.sh --dict TARGET | seeds.sh --copy TARGET DIR" >&2; exit 2; }
[ $# -ge 1 ] || usage
if [ "$1" = --copy ]; then
  [ $# -ge 3 ] || usage
  # DIR is relative to the caller's folder, not to fuzz/.
  dest=$(cd "$3" && pwd)
fi
cd "$(dirname "$0")"
if [ "$1" = --dict ]; then
  [ $# -ge 2 ] || usage
  # dict/TARGET.dict where there is one; scan and archive meet pickles most.
  case "$2" in
    scan | archive) echo dict/pickle.dict ;;
    *) if [ -f "dict/$2.dict" ]; then echo "dict/$2.dict"; fi ;;
  esac
  exit 0
fi
seed_files() {
  local t="$1"
  find regressions ../fixtures/hostile -type f -not -name '*.json'
  # The minimised corpus earlier runs left (see README.md, Corpora).
  if [ -d "corpora/$t" ]; then find "corpora/$t" -type f; fi
  # Under 1 MiB: find's -size rounds up to whole units, so -1M would mean empty.
  find ../fixtures ../crates/mlsec-sign/tests/vectors/sigs -type f -size -1024k -not -name '*.json' -not -name '*.py'
  case "$t" in
    # Profiles are JSON: the profile target starts from the example's.
    profile) find ../examples -name '*.profile.json' ;;
    # The tabular model target starts from the skl2onnx fixtures.
    onnx_model) find ../crates/mlsec-onnx/tests/fixtures ../examples/models -name '*.onnx' ;;
  esac
}
if [ "$1" = --copy ]; then
  files=$(seed_files "$2")
  status=0
  while read -r f; do
    cp "$f" "$dest/$(echo "${f#../}" | tr '/' '_')" || status=1
  done <<<"$files"
  exit $status
fi
seed_files "$1"
