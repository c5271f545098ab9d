#!/usr/bin/env bash
# Throughput and memory of `mlsec data pii` on a ~1 GB realistic CSV (2 cores),
# and Presidio's pattern recognizers on the first rows of the same file.
#   bench/data/run.sh [SIZE_MB] [PRESIDIO_ROWS]
set -euo pipefail
cd "$(dirname "$0")/../.."
size="${1:-1024}"
presidio_rows="${2:-20000}"
target="${CARGO_TARGET_DIR:-target}"
work="$target/bench-data"
mkdir -p "$work"
csv="$work/customers-${size}mb.csv"
[ -s "$csv" ] || python3 bench/data/gen_csv.py "$csv" "$size"
cargo build --release -p mlsec
mlsec="$target/release/mlsec"
bytes=$(stat -c %s "$csv")
echo "== mlsec data pii on $csv ($bytes bytes), 2 cores"
# Warm the page cache so the disk is not what is measured.
cat "$csv" > /dev/null
/usr/bin/time -v taskset -c 0,1 "$mlsec" data pii "$csv" -f json -o "$work/pii.json" -q \
  2> "$work/time.txt" || [ $? -eq 1 ]
secs=$(grep 'Elapsed (wall clock)' "$work/time.txt" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
rss=$(grep 'Maximum resident set size' "$work/time.txt" | awk '{print $NF}')
findings=$(python3 -c "import json;print(len(json.load(open('$work/pii.json'))['findings']))")
mbs=$(python3 -c "print(round($bytes/$secs/1e6,1))")
echo "mlsec: ${secs}s, ${mbs} MB/s, peak RSS ${rss} KiB, ${findings} findings"

venv="$target/presidio-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r bench/pii/requirements.txt 2>/dev/null || "$venv/bin/pip" install -q presidio-analyzer
fi
echo "== Presidio pattern recognizers on the first $presidio_rows rows"
"$venv/bin/python" bench/data/presidio_csv.py "$csv" "$presidio_rows" | tee "$work/presidio.json"
python3 - "$work/presidio.json" "$mbs" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
print(f"speed ratio mlsec/Presidio: {float(sys.argv[2]) / p['mb_per_s']:.0f}x")
PY
