#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ with the sanitizer flags the builder
# sets, and gives each its seeds (the fixture corpus, the hostile shapes first)
# plus the minimised corpus of earlier runs (fuzz/corpora/TARGET) and, for
# the pickle-reading targets and the Jinja lexer, a dictionary.
cd "$SRC/mlsec/fuzz"
cargo fuzz build -O
release="target/x86_64-unknown-linux-gnu/release"
seeds=$(mktemp -d)
find ../fixtures/hostile ../fixtures ../crates/mlsec-sign/tests/vectors/sigs -type f -size -1M \
  -not -name '*.json' -not -name '*.py' 2>/dev/null | head -400 \
  | while read -r f; do cp "$f" "$seeds/$(echo "$f" | tr '/' '_')"; done
for target in $(cargo fuzz list); do
  cp "$release/$target" "$OUT/"
  (cd "$seeds" && zip -qj "$OUT/${target}_seed_corpus.zip" ./*)
  # The committed, minimised corpus of earlier runs, where there is one.
  if [ -d "corpora/$target" ]; then
    (cd "corpora/$target" && zip -qj "$OUT/${target}_seed_corpus.zip" ./*)
  fi
  case "$target" in
    pickle | scan | archive) cp dict/pickle.dict "$OUT/$target.dict" ;;
    jinja) cp dict/jinja.dict "$OUT/$target.dict" ;;
  esac
done
