#!/usr/bin/env bash
# Runs every fuzz target for a fixed time (default 60 s each) with AddressSanitizer
# on the stable toolchain. Crashes land in fuzz/artifacts/TARGET/; turn each into a
# regression test next to the parser it broke.
#   fuzz/run-all.sh [SECONDS] [TARGET...]
# FUZZ_JOBS=N runs N fuzzing processes per target on one shared corpus (each for
# SECONDS). After each target it prints the CPU seconds its processes used, the
# figure the log in README.md records.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
# User and system time of this script's finished children, in whole seconds
# (cutime and cstime in /proc; they count the fuzzing processes' own children).
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%d", ($14 + $15) / hz }' /proc/$$/stat
}
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(RUSTC_BOOTSTRAP=1 cargo fuzz list)
fi
for t in "${targets[@]}"; do
  echo "== fuzzing $t for ${seconds}s"
  mkdir -p "corpus/$t"
  ./seeds.sh --copy "$t" "corpus/$t" 2>/dev/null || true
  dict=()
  d=$(./seeds.sh --dict "$t")
  if [ -n "$d" ]; then dict=(-dict="$d"); fi
  jobs=()
  if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS"); fi
  before=$(cpu_seconds)
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -max_len=1048576 "${dict[@]}" "${jobs[@]}"
  echo "== $t: $(($(cpu_seconds) - before)) CPU-s, $(find "corpus/$t" -type f | wc -l) inputs in corpus/$t"
done
