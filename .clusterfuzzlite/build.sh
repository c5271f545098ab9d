#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ with the sanitizer flags the builder
# sets, and gives each its seeds (the fixture corpus, the hostile shapes first)
# plus the minimised corpus of earlier runs (fuzz/corpora/TARGET) and, where
# fuzz/dict has one, a dictionary.
cd "$SRC/mlsec/fuzz"
cargo fuzz build -O
release="target/x86_64-unknown-linux-gnu/release"
seeds=$(mktemp -d)
# Under 1 MiB: find's -size rounds up to whole units, so -1M would mean empty.
find regressions ../fixtures/hostile ../fixtures ../crates/mlsec-sign/tests/vectors/sigs -type f -size -1024k \
  -not -name '*.json' -not -name '*.py' \
  | while read -r f; do cp "$f" "$seeds/$(echo "${f#../}" | tr '/' '_')"; done
for target in $(cargo fuzz list); do
  cp "$release/$target" "$OUT/"
  (cd "$seeds" && zip -qj "$OUT/${target}_seed_corpus.zip" ./*)
  # The committed, minimised corpus of earlier runs, where there is one.
  if [ -d "corpora/$target" ]; then
    (cd "corpora/$target" && zip -qj "$OUT/${target}_seed_corpus.zip" ./*)
  fi
  # The profile and tabular-model targets also start from the examples' files
  # (named by their paths: the example models are all model.onnx).
  extra=$(mktemp -d)
  case "$target" in
    profile) find ../examples -name '*.profile.json' ;;
    onnx_model) find ../crates/mlsec-onnx/tests/fixtures ../examples/models -name '*.onnx' ;;
  esac | while read -r f; do cp "$f" "$extra/$(echo "${f#../}" | tr '/' '_')"; done
  if [ -n "$(ls -A "$extra")" ]; then
    (cd "$extra" && zip -qj "$OUT/${target}_seed_corpus.zip" ./*)
  fi
  # dict/TARGET.dict where there is one; scan and archive meet pickles most.
  case "$target" in
    scan | archive) cp dict/pickle.dict "$OUT/$target.dict" ;;
    *) if [ -f "dict/$target.dict" ]; then cp "dict/$target.dict" "$OUT/$target.dict"; fi ;;
  esac
done
