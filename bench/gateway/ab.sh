#!/usr/bin/env bash
# Two mlsec builds side by side on the same machine at the same time: the
# same config (API key, Cedar policy, rate limit, SQLite audit log), the same
# stand-in model server, oha at a fixed rate against each in turn, several
# rounds. For telling a regression from a noisy machine.
#   bench/gateway/ab.sh OLD/mlsec NEW/mlsec [RATE] [ROUNDS]
set -euo pipefail
a="$1" b="$2" rate="${3:-2000}" rounds="${4:-3}" seconds="${BENCH_SECONDS:-10}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; exit 2; }

"$b" gateway mock-upstream --listen 127.0.0.1:18189 2>/dev/null & pids+=($!)
for side in a:18188 b:18187; do
  name="${side%%:*}" port="${side##*:}" bin="${!name}"
  mkdir -p "$work/$name"
  cat > "$work/$name/gateway.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
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
upstream = "http://127.0.0.1:18189"
TOML
  echo '@id("bench") permit (principal in Group::"bench", action == Action::"chat", resource);' > "$work/$name/policies.cedar"
  printf 'bench-key-0123456789' | "$bin" gateway keys create --store "$work/$name/keys.json" --owner bench --group bench --secret-stdin >/dev/null
  MLSEC_LOG=warn "$bin" gateway --config "$work/$name/gateway.toml" 2>"$work/$name.log" & pids+=($!)
  wait_port "$port"
done
wait_port 18189
body='{"model":"bench","messages":[{"role":"user","content":"Say hello."}]}'
measure() { # port key
  oha --no-tui --output-format json -m POST -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
    -d "$body" -z "${seconds}s" -q "$rate" -c 64 --latency-correction "http://127.0.0.1:$1/v1/chat/completions" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["latencyPercentiles"]; print("%.3f %.3f" % (r["p50"]*1e3, r["p99"]*1e3))'
}
echo "round target p50_ms p99_ms (at $rate req/s, ${seconds}s each)"
for round in $(seq 1 "$rounds"); do
  echo "$round direct $(measure 18189 none)"
  echo "$round A $(measure 18188 bench-key-0123456789)"
  echo "$round B $(measure 18187 bench-key-0123456789)"
done
