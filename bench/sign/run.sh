#!/usr/bin/env bash
# Hashing and signing speed, side by side on the same synthetic model:
#   - openssl dgst -sha256 over the files, one process per core (the hardware bar)
#   - model_signing sign key (model-signing 1.1.1 from PyPI; files + sha256)
#   - mlsec sign (files + sha256), mlsec sign --hash blake3,
#     mlsec sign --shard-size (sha256 shards, for one huge file)
# Wall time, CPU time (user+sys) and peak memory from /usr/bin/time, best of
# BENCH_RUNS runs with a warm page cache. Writes bench/sign/results.md.
#
#   bench/sign/run.sh                      # 4 GB model: 3 x 1 GiB shards + 1 GiB of small files
#   BENCH_GB=8 BENCH_RUNS=3 bench/sign/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
target=${CARGO_TARGET_DIR:-$HOME/.cache/mlsec/target}
mlsec=${MLSEC_BIN:-$target/release/mlsec}
[ -x "$mlsec" ] || cargo build --release --locked -p mlsec
runs=${BENCH_RUNS:-3}
gb=${BENCH_GB:-4}
work=${BENCH_WORK:-$root/bench/work/sign}
venv="$target/sign-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
PIP_ROOT_USER_ACTION=ignore "$venv/bin/pip" install --quiet --disable-pip-version-check \
  "model-signing==1.1.1" "pyopenssl==25.3.0" >&2
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

model="$work/model-${gb}g"
if [ ! -d "$model" ]; then
  mkdir -p "$model/weights" "$model/extra"
  for i in $(seq 1 $((gb - 1))); do
    head -c $((1 << 30)) /dev/urandom > "$model/weights/model-0000$i.safetensors"
  done
  # The last GiB as 1,024 files of 1 MiB: per-file overhead counts too.
  for i in $(seq 1 1024); do head -c $((1 << 20)) /dev/urandom > "$model/extra/part-$i.bin"; done
  echo '{"hidden_size": 4096}' > "$model/config.json"
fi
key="$work/key.pem"
[ -f "$key" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key" 2>/dev/null
cores=$(nproc)

measure() { # name, command...
  local name=$1; shift
  local best=""
  for _ in $(seq 1 "$runs"); do
    local out
    /usr/bin/time -o "$work/time.txt" -f "%e %U %S %M" "$@" >/dev/null 2>&1
    out=$(tail -1 "$work/time.txt")
    if [ -z "$best" ] || awk -v a="${out%% *}" -v b="${best%% *}" 'BEGIN{exit !(a<b)}'; then best=$out; fi
  done
  echo "$name $best"
}

# Warm the page cache once so every tool reads from memory.
cat "$model"/weights/* "$model"/extra/* > /dev/null
sig="$work/model.sig"
{
  measure "openssl-parallel" bash -c "find '$model' -type f -print0 | xargs -0 -P $cores -n 64 openssl dgst -sha256"
  measure "model_signing-sha256" "$venv/bin/model_signing" sign key --private_key "$key" --signature "$sig" "$model"
  measure "mlsec-sha256" "$mlsec" sign "$model" --key "$key" --signature "$sig" -q
  measure "mlsec-sha256-shards-256MiB" "$mlsec" sign "$model" --key "$key" --signature "$sig" -q --shard-size $((256 << 20))
  measure "mlsec-blake3" "$mlsec" sign "$model" --key "$key" --signature "$sig" -q --hash blake3
  "$mlsec" sign "$model" --key "$key" --signature "$sig" -q
  openssl pkey -in "$key" -pubout -out "$work/pub.pem"
  measure "mlsec-verify-sha256" "$mlsec" verify "$model" --key "$work/pub.pem" --signature "$sig" -q
  measure "model_signing-verify-sha256" "$venv/bin/model_signing" verify key --public_key "$work/pub.pem" --signature "$sig" "$model"
} | tee "$work/times.txt"

python3 - "$work/times.txt" "$gb" "$cores" "$runs" > bench/sign/results.md <<'PY'
import platform, subprocess, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
gb, cores, runs = sys.argv[2:5]
t = {r[0]: (float(r[1]), float(r[2]) + float(r[3]), int(r[4]) / 1024) for r in rows}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
flags = open("/proc/cpuinfo").read()
print(f"# Signing speed: mlsec vs model_signing vs parallel openssl\n")
print(f"Model: {gb} GB synthetic ({int(gb) - 1} x 1 GiB weights + 1,024 x 1 MiB files), warm page cache. "
      f"Machine: {cores} cores, {cpu}, SHA extensions: {'yes' if 'sha_ni' in flags else 'no'}. "
      f"Best of {runs} runs; times from /usr/bin/time. Made by `bench/sign/run.sh`.\n")
base = t["model_signing-sha256"][0]
print("| tool | wall s | CPU s | peak RSS MiB | GB/s | vs model_signing |")
print("|---|---|---|---|---|---|")
size = int(gb) * (1 << 30) / 1e9
for name, (wall, cputime, rss) in t.items():
    print(f"| {name} | {wall:.2f} | {cputime:.2f} | {rss:.0f} | {size / wall:.2f} | {base / wall:.2f}x |")
print()
o = t["openssl-parallel"][0]
m = t["mlsec-sha256"][0]
print(f"mlsec sha256 vs parallel openssl: {100 * (m - o) / o:+.1f}% wall time. "
      f"mlsec blake3 vs model_signing sha256: {base / t['mlsec-blake3'][0]:.2f}x faster.")
PY
cat bench/sign/results.md
