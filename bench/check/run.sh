#!/usr/bin/env bash
# Speed of `mlsec check` and of policy evaluation (issue 18, "Speed"):
#   - `mlsec check examples/` end to end (goal: under 2 s on 2 cores);
#   - `mlsec policy eval` over generated inputs with 0, 10,000 and 100,000
#     scan findings (goal: under 100 ms over 10,000), with no policies, the
#     baseline pack, and baseline + strict, so that process start, reading the
#     input and evaluating the rules can be told apart;
#   - each bundled rule alone on the 10k input;
#   - optionally (`profile`) callgrind and perf on the 10k input.
# Writes bench/check/results.md (see bench/check/README.md).
#
#   bench/check/run.sh                     # check gen eval rules report
#   bench/check/run.sh profile report      # callgrind (+ perf when allowed)
#   MLSEC_BIN=path/to/mlsec BENCH_RUNS=20 bench/check/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
mlsec=${MLSEC_BIN:-target/release/mlsec}
[ -x "$mlsec" ] || { echo "error: no mlsec binary at $mlsec (cargo build --release -p mlsec, or set MLSEC_BIN)" >&2; exit 2; }
runs=${BENCH_RUNS:-10}          # timed runs per command (10k and smaller inputs)
runs_big=${BENCH_RUNS_BIG:-5}   # timed runs per command on the 100k input
work=${BENCH_WORK:-bench/work/check}
packs=crates/mlsec-policy/packs
steps=${*:-check gen eval rules report}
mkdir -p "$work"

if command -v hyperfine >/dev/null; then timer="hyperfine -N -i"; else timer="time.perf_counter (bench/check/tools.py)"; fi

# bench NAME RUNS ARGV...: one warm-up, RUNS timed runs, $work/t-NAME.json.
bench() {
  local name=$1 n=$2; shift 2
  echo "== $name: $*" >&2
  if command -v hyperfine >/dev/null; then
    hyperfine -N -i --style basic --warmup 1 --runs "$n" --export-json "$work/t-$name.json" -- "$*" >&2
  else
    python3 bench/check/tools.py time "$work/t-$name.json" "$n" 1 -- "$@"
  fi
}

for step in $steps; do
  case $step in
  check)
    python3 - "$work/machine.json" "$mlsec" "$timer" <<'PY'
import json, os, subprocess, sys, time
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
ver = subprocess.run([sys.argv[2], "--version"], capture_output=True, text=True).stdout.strip()
json.dump({"cores": os.cpu_count(), "cpu": cpu, "load_start": open("/proc/loadavg").read().split()[0],
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "version": ver, "timer": sys.argv[3]},
          open(sys.argv[1], "w"))
PY
    rm -rf "$work/ev"
    bench check "$((runs < 10 ? 10 : runs * 2))" "$mlsec" check examples/ --evidence "$work/ev"
    ;;
  gen)
    # A real input.json as the template: every envelope of the example project.
    rm -rf "$work/ev-template"
    "$mlsec" check examples/ --evidence "$work/ev-template" >/dev/null || [ $? = 1 ]
    t=$work/ev-template/input.json
    python3 bench/check/gen.py "$t" "$work/in-0.json" --findings 0 --files 2000 --pii 0
    python3 bench/check/gen.py "$t" "$work/in-10k.json" --findings 10000 --files 2000 --pii 3000
    python3 bench/check/gen.py "$t" "$work/in-0-big.json" --findings 0 --files 20000 --pii 0
    python3 bench/check/gen.py "$t" "$work/in-100k.json" --findings 100000 --files 20000 --pii 30000
    python3 - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
d = {"0": "2,000 model files, no findings (the 10k input's twin)",
     "10k": "10,000 scan findings over 2,000 files + 3,000 PII findings over 12 CSV files",
     "0-big": "20,000 model files, no findings (the 100k input's twin)",
     "100k": "100,000 scan findings over 20,000 files + 30,000 PII findings over 12 CSV files"}
json.dump({k: f"{v}; {os.path.getsize(os.path.join(w, f'in-{k}.json')) / 1e6:.1f} MB" for k, v in d.items()},
          open(os.path.join(w, "inputs.json"), "w"))
PY
    ;;
  eval)
    mkdir -p "$work/rules/none"
    for k in 0 10k 0-big 100k; do
      n=$runs
      case $k in *big|100k) n=$runs_big ;; esac
      bench "eval-$k-none" "$n" "$mlsec" policy eval --input "$work/in-$k.json" "$work/rules/none"
      bench "eval-$k-baseline" "$n" "$mlsec" policy eval --input "$work/in-$k.json" --pack baseline
      bench "eval-$k-strict" "$n" "$mlsec" policy eval --input "$work/in-$k.json" --pack baseline --pack strict
    done
    ;;
  rules)
    # Each bundled rule alone, as a user policy folder (no --pack).
    rm -rf "$work/rules"
    mkdir -p "$work/rules/none"
    for r in mlp001 mlp002 mlp003 mlp004 mlp005 mlp101 mlp102 mlp103 mlp104 mlp105; do
      mkdir -p "$work/rules/$r"
      cp "$packs"/*/"$r.rego" "$work/rules/$r/"
    done
    for r in mlp005 mlp105; do cp "$packs/lib/pii.rego" "$work/rules/$r/"; done
    mkdir -p "$work/rules/mlp005+mlp105"
    cp "$packs/baseline/mlp005.rego" "$packs/strict/mlp105.rego" "$packs/lib/pii.rego" "$work/rules/mlp005+mlp105/"
    in=$work/in-10k.json
    for r in none mlp001 mlp002 mlp003 mlp004 mlp005 mlp101 mlp102 mlp103 mlp104 mlp105 mlp005+mlp105; do
      bench "rule-$r" "$runs" "$mlsec" policy eval --input "$in" "$work/rules/$r"
    done
    bench "rule-strict" "$runs" "$mlsec" policy eval --input "$in" --pack baseline --pack strict
    ;;
  profile)
    # regorus stops a rule after 10 s of wall time; under valgrind (~50x
    # slower) that would cut the profile short, so the clock runs at 1/100th
    # speed through libfaketime.
    ft=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1 || true)
    [ -n "$ft" ] || { echo "profile needs libfaketime (apt-get install faketime)" >&2; exit 2; }
    command -v valgrind >/dev/null || { echo "profile needs valgrind" >&2; exit 2; }
    cg=$work/callgrind.out
    LD_PRELOAD=$ft FAKETIME="+0 x0.01" valgrind --tool=callgrind --callgrind-out-file="$cg" \
      "$mlsec" policy eval --input "$work/in-10k.json" --pack baseline --pack strict > "$work/callgrind-decision.json" 2> "$work/callgrind.log" || true
    if grep -v '^==' "$work/callgrind.log" | grep -q .; then
      echo "the profiled run printed an error:" >&2; grep -v '^==' "$work/callgrind.log" >&2; exit 1
    fi
    callgrind_annotate --inclusive=yes --tree=calling "$cg" > "$work/callgrind-tree.txt" 2>/dev/null
    callgrind_annotate --inclusive=no "$cg" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '3,22p' \
      | sed -E 's/ \[[^]]*\]$//; s/\?\?\?://' > "$work/callgrind-self.txt"
    # Native: the share of CPU time per function, the clock reads included.
    rm -f "$work/perf.data" "$work/perf-top.txt"
    if command -v perf >/dev/null; then
      # exit 1 is the decision (denied), not perf failing
      perf record -e cpu-clock:u -F 2000 -o "$work/perf.data" \
        "$mlsec" policy eval --input "$work/in-10k.json" --pack baseline --pack strict > /dev/null 2> "$work/perf.log" || true
    fi
    if [ -s "$work/perf.data" ]; then
      perf report -i "$work/perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null \
        | grep -E '^ +[0-9.]+%' | sed -E 's/ +-? +-? *$//' | head -15 > "$work/perf-top.txt" || true
    else
      echo "perf could not record (perf_event_paranoid?); skipped" >&2
    fi
    ;;
  report)
    python3 - "$work/machine.json" <<'PY'
import json, sys
p = sys.argv[1]
try:
    m = json.load(open(p))
except FileNotFoundError:
    m = {}
m["load_end"] = open("/proc/loadavg").read().split()[0]
json.dump(m, open(p, "w"))
PY
    python3 bench/check/tools.py report "$work" bench/check/results.md
    cat bench/check/results.md
    ;;
  *) echo "unknown step $step (check gen eval rules profile report)" >&2; exit 2 ;;
  esac
done
