#!/usr/bin/env bash
# `mlsec data pii` end to end on two cores: throughput on a realistic CSV
# (best of 5, page cache warm), peak memory on a CSV of BIG_GB gigabytes (the
# same rows repeated; deleted afterwards), and Presidio's pattern recognizers
# on the first rows of the same CSV for the speed ratio.
#   bench/data/run.sh [SIZE_MB] [PRESIDIO_ROWS] [BIG_GB]
set -euo pipefail
cd "$(dirname "$0")/../.."
size="${1:-1024}"
presidio_rows="${2:-5000}"
big_gb="${3:-10}"
target="${CARGO_TARGET_DIR:-target}"
work="$target/bench-data"
mkdir -p "$work"
csv="$work/customers-${size}mb.csv"
[ -s "$csv" ] || python3 bench/data/gen_csv.py "$csv" "$size"
cargo build --release -p mlsec
mlsec="$target/release/mlsec"

# Runs mlsec on $1 on cores 0 and 1; prints "seconds peak_rss_kib".
measure() {
  /usr/bin/time -f '%e %M' -o "$work/time.txt" taskset -c 0,1 \
    "$mlsec" data pii "$1" -f json -o "$work/pii.json" -q || [ $? -eq 1 ]
  tail -n 1 "$work/time.txt"
}

bytes=$(stat -c %s "$csv")
echo "== mlsec data pii on $csv ($bytes bytes), 2 cores, best of 5"
cat "$csv" > /dev/null
best=""
for _ in 1 2 3 4 5; do
  read -r secs rss < <(measure "$csv")
  echo "  ${secs}s, peak RSS ${rss} KiB"
  if [ -z "$best" ] || python3 -c "import sys; sys.exit(not $secs < $best)"; then best=$secs; fi
done
mbs=$(python3 -c "print(round($bytes / $best / 1e6, 1))")
python3 - "$work/pii.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
print(f"  findings listed {len(e['findings'])}, counted {sum(e['details']['entities'].values())}: {e['details']['entities']}")
PY
echo "mlsec: ${mbs} MB/s (best ${best}s)"

if [ "$big_gb" -gt 0 ]; then
  big="$work/customers-${big_gb}gb.csv"
  echo "== memory on a ${big_gb} GB CSV (the rows above, repeated)"
  head -n 1 "$csv" > "$big"
  while [ "$(stat -c %s "$big")" -lt $((big_gb * 1000000000)) ]; do tail -n +2 "$csv" >> "$big"; done
  read -r secs rss < <(measure "$big")
  big_bytes=$(stat -c %s "$big")
  rm -f "$big"
  echo "mlsec: $big_bytes bytes in ${secs}s ($(python3 -c "print(round($big_bytes / $secs / 1e6, 1))") MB/s), peak RSS ${rss} KiB"
fi

venv="$target/presidio-venv"
if ! "$venv/bin/python" -c "import presidio_analyzer" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r bench/pii/requirements.txt
fi
echo "== Presidio pattern recognizers on the first $presidio_rows rows"
"$venv/bin/python" bench/data/presidio_csv.py "$csv" "$presidio_rows" | tee "$work/presidio.json"
python3 - "$work/presidio.json" "$mbs" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
print(f"speed ratio mlsec/Presidio: {float(sys.argv[2]) / p['mb_per_s']:.0f}x")
PY
