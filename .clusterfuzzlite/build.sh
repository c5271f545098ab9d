#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ with the sanitizer flags the builder
# sets, and gives each the seeds and dictionary fuzz/seeds.sh names, as
# fuzz/run-all.sh does.
cd "$SRC/mlsec/fuzz"
cargo fuzz build -O
release="target/x86_64-unknown-linux-gnu/release"
for target in $(cargo fuzz list); do
  cp "$release/$target" "$OUT/"
  seeds=$(mktemp -d)
  ./seeds.sh --copy "$target" "$seeds"
  (cd "$seeds" && zip -qj "$OUT/${target}_seed_corpus.zip" ./*)
  dict=$(./seeds.sh --dict "$target")
  if [ -n "$dict" ]; then cp "$dict" "$OUT/$target.dict"; fi
done
