#!/usr/bin/env bash
# What mlsec gateway adds to a request, side by side with LiteLLM's proxy:
# the same stand-in model server (`mlsec gateway mock-upstream`) reached
# directly, through mlsec gateway (API key, Cedar policy, a rate limit and the
# SQLite audit log all on; then again with the prompt-injection and secrets
# guards on the route too), and through LiteLLM's proxy (master-key auth and a
# per-model rpm limit; it keeps no audit log without a database). oha sends
# chat completions at fixed rates (added p50 and p99 latency), then as fast
# as 64 connections can (maximum throughput). Writes results.md.
#   bench/gateway/run.sh            # everything (about 10 minutes)
#   BENCH_SECONDS=20 BENCH_ROUNDS=5 bench/gateway/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$here/work"
seconds="${BENCH_SECONDS:-10}"
rates="${BENCH_RATES:-500 1000 2000}"
rounds="${BENCH_ROUNDS:-3}"
mkdir -p "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mlsec/target}"

command -v oha >/dev/null || cargo install oha --locked
(cd "$root" && cargo build --release -p mlsec)
mlsec="$CARGO_TARGET_DIR/release/mlsec"
if [ ! -x "$here/.venv/bin/litellm" ]; then
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install -q -r "$here/requirements.txt"
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; exit 2; }

"$mlsec" gateway mock-upstream --listen 127.0.0.1:18089 2>"$work/mock.log" & pids+=($!)

# mlsec gateway: everything on.
rm -rf "$work/mlsec" && mkdir -p "$work/mlsec"
cat > "$work/mlsec/gateway.toml" <<TOML
[server]
listen = "127.0.0.1:18088"
[audit]
sqlite = "audit.db"
[authorization]
policies = "policies.cedar"
[[limit]]
name = "per-key"
per = "principal"
requests_per_second = 100000
[[route]]
name = "llm"
protocol = "openai"
upstream = "http://127.0.0.1:18089"
TOML
cat > "$work/mlsec/policies.cedar" <<'CEDAR'
@id("bench") permit (principal in Group::"bench", action == Action::"chat", resource);
CEDAR
printf 'bench-key-0123456789' | "$mlsec" gateway keys create --store "$work/mlsec/keys.json" --owner bench --group bench --secret-stdin >/dev/null
MLSEC_LOG=warn "$mlsec" gateway --config "$work/mlsec/gateway.toml" 2>"$work/mlsec.log" & pids+=($!)

# The same with the input guards on the route.
rm -rf "$work/guarded" && cp -r "$work/mlsec" "$work/guarded" && rm -f "$work/guarded"/audit.db*
sed -i 's/18088/18087/' "$work/guarded/gateway.toml"
cat >> "$work/guarded/gateway.toml" <<TOML
guards = ["injection", "secrets"]
[guards.injection]
kind = "prompt-injection"
[guards.secrets]
kind = "pii"
entities = ["secrets"]
TOML
MLSEC_LOG=warn "$mlsec" gateway --config "$work/guarded/gateway.toml" 2>"$work/guarded.log" & pids+=($!)

# LiteLLM's proxy, configured as close to that as it goes without a database.
cat > "$work/litellm.yaml" <<YAML
model_list:
  - model_name: bench
    litellm_params:
      model: openai/bench
      api_base: http://127.0.0.1:18089/v1
      api_key: unused
      rpm: 1000000
general_settings:
  master_key: sk-bench-key-0123456789
litellm_settings:
  telemetry: false
YAML
(cd "$work" && "$here/.venv/bin/litellm" --config litellm.yaml --host 127.0.0.1 --port 18090 --num_workers 1 >"$work/litellm.log" 2>&1) & pids+=($!)

wait_port 18089; wait_port 18088; wait_port 18087; wait_port 18090
body='{"model":"bench","messages":[{"role":"user","content":"Say hello."}]}'
run() { # name port key extra-oha-args...
  local name=$1 port=$2 key=$3; shift 3
  oha --no-tui --output-format json -m POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "$body" "$@" "http://127.0.0.1:$port/v1/chat/completions" >"$work/$name.json"
  # LiteLLM still works off the requests oha gave up on: let it finish
  # before the next measurement shares the cores with it.
  case $name in litellm*) sleep 3 ;; esac
}
targets=("direct 18089 none" "mlsec 18088 bench-key-0123456789" "guarded 18087 bench-key-0123456789" "litellm 18090 sk-bench-key-0123456789")
for target in "${targets[@]}"; do set -- $target; run "$1-warmup" "$2" "$3" -z 3s -c 16; done
# Each fixed rate is measured in rounds, the targets one after another in
# each round, so a pause of the machine shows in one round and not in one
# target; the report takes each target's median over the rounds.
for round in $(seq 1 "$rounds"); do
  for rate in $rates; do
    for target in "${targets[@]}"; do
      set -- $target
      run "$1-rate$rate-round$round" "$2" "$3" -z "${seconds}s" -q "$rate" -c 64 --latency-correction
    done
  done
done
for target in "${targets[@]}"; do set -- $target; run "$1-max" "$2" "$3" -z "${seconds}s" -c 64; done
python3 "$here/report.py" "$work" "$rates" "$seconds" "$rounds" >"$here/results.md"
"$mlsec" audit verify "$work/mlsec/audit.db"
"$mlsec" audit verify "$work/guarded/audit.db"
cat "$here/results.md"
