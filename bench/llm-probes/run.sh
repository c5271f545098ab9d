#!/usr/bin/env bash
# Side-by-side run of mlsec's and garak's LLM probes against the same local
# mock OpenAI-compatible models (see README.md). Offline: nothing is fetched
# at run time (the venv is installed from PyPI on the first run).
#
#   bench/llm-probes/run.sh
#   MLSEC_BIN=path/to/mlsec BENCH_MODELS="naive partial" GARAK_CAP=28 bench/llm-probes/run.sh
#
# Writes work/ (raw outputs, garak reports, the mock's request log) and
# results.json / results.md beside this script.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
PY=${PYTHON:-python3}
NICE=(nice -n "${BENCH_NICE:-19}")
VENV=${GARAK_VENV:-$HOME/.cache/mlsec/bench-garak-venv}
MODELS=${BENCH_MODELS:-naive careful partial}
FAMILIES="injection leakage pii"
CAP=${GARAK_CAP:-28}   # garak prompts per probe (soft_probe_prompt_cap); 28 = all sysprompt attacks
SEED=${GARAK_SEED:-0}

if [ -z "${MLSEC_BIN:-}" ]; then
  for c in "$HOME/.cache/mlsec/target/debug/mlsec" ../../target/release/mlsec ../../target/debug/mlsec; do
    [ -x "$c" ] && { MLSEC_BIN=$(cd "$(dirname "$c")" && pwd)/mlsec; break; }
  done
fi
[ -x "${MLSEC_BIN:-}" ] || { echo "no mlsec binary: set MLSEC_BIN (cargo build -p mlsec)" >&2; exit 2; }

# garak's venv (first run only downloads; the runs below are offline)
if [ ! -x "$VENV/bin/garak" ]; then
  "$PY" -m venv "$VENV"
fi
PIP_ROOT_USER_ACTION=ignore "${NICE[@]}" "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements.txt

WORK=$HERE/work
rm -rf "$WORK"
mkdir -p "$WORK/xdg"
# garak: no hub downloads, its logs/caches inside work/
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 \
  HF_HOME="$WORK/xdg/hf" XDG_DATA_HOME="$WORK/xdg/data" XDG_CACHE_HOME="$WORK/xdg/cache" \
  XDG_CONFIG_HOME="$WORK/xdg/config" OPENAICOMPATIBLE_API_KEY=mock-key \
  NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

"${NICE[@]}" "$PY" mock.py --port 0 --port-file "$WORK/port" --log "$WORK/requests.jsonl" 2>"$WORK/mock.log" &
MOCK_PID=$!
trap 'kill "$MOCK_PID" 2>/dev/null || true' EXIT
for _ in $(seq 600); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || { echo "the mock did not start: $(cat "$WORK/mock.log")" >&2; exit 1; }
PORT=$(cat "$WORK/port")
URL=http://127.0.0.1:$PORT/v1
echo "mock on $URL" >&2

now() { date +%s.%N; }
timing() { # tool model family t0 t1 rc
  awk -v tool="$1" -v m="$2" -v f="$3" -v a="$4" -v b="$5" -v rc="$6" \
    'BEGIN { printf "{\"tool\": \"%s\", \"model\": \"%s\", \"family\": \"%s\", \"wall_s\": %.3f, \"rc\": %d}\n", tool, m, f, b - a, rc }' \
    >> "$WORK/timings.jsonl"
}

"$PY" - "$MLSEC_BIN" "$VENV" > "$WORK/versions.json" <<'PYEOF'
import json, platform, subprocess, sys, os
mlsec = subprocess.run([sys.argv[1], "--version"], capture_output=True, text=True).stdout.strip()
garak = subprocess.run([os.path.join(sys.argv[2], "bin", "python"), "-c",
                        "import importlib.metadata as m; print(m.version('garak'))"], capture_output=True, text=True).stdout.strip()
cpu = ""
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except Exception:
    pass
print(json.dumps({"mlsec": mlsec.removeprefix("mlsec ").strip(), "garak": garak, "python": platform.python_version(),
                  "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}"}))
PYEOF

for m in $MODELS; do
  echo "== $m: mlsec" >&2
  t0=$(now); rc=0
  "${NICE[@]}" "$MLSEC_BIN" redteam "$URL" --protocol openai --llm-model "$m" --probes injection,leakage,pii \
    -f json --min-pass-rate 0 > "$WORK/mlsec-$m.json" 2> "$WORK/mlsec-$m.log" || rc=$?
  timing mlsec "$m" all "$t0" "$(now)" "$rc"
  for f in $FAMILIES; do
    echo "== $m: garak $f" >&2
    "$PY" garak_config.py --uri "$URL/" --model "$m" --family "$f" --work "$WORK" --cap "$CAP" --seed "$SEED" \
      > "$WORK/garak-$m-$f.config.json"
    t0=$(now); rc=0
    "${NICE[@]}" "$VENV/bin/garak" --config "$WORK/garak-$m-$f.config.json" > "$WORK/garak-$m-$f.log" 2>&1 || rc=$?
    timing garak "$m" "$f" "$t0" "$(now)" "$rc"
    [ "$rc" = 0 ] || { echo "garak failed ($rc) for $m/$f: see $WORK/garak-$m-$f.log" >&2; tail -5 "$WORK/garak-$m-$f.log" >&2; }
  done
done

"$PY" compare.py --work "$WORK" --json results.json --md results.md
