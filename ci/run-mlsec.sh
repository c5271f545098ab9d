#!/usr/bin/env bash
# Runs mlsec once in CI and writes what CI systems read: SARIF, optionally an
# HTML report and JUnit XML, the evidence folder, a Markdown summary and step
# outputs. The GitHub Action (action.yml) and the GitLab CI template
# (ci/gitlab/mlsec.gitlab-ci.yml) both call it; see docs/ci.md.
#
# Environment (all optional):
#   MLSEC           the mlsec binary (default: mlsec on PATH)
#   MLSEC_COMMAND   check (default) or scan
#   MLSEC_PATH      check: the project folder; scan: the file or folder to scan (default .)
#   MLSEC_ARGS      more arguments, split like a shell would (quotes work; nothing is expanded)
#   MLSEC_FAIL_ON   check: deny (default) or never; scan: low, medium, high
#                   (default), critical or never. `never` reports findings and
#                   denials but exits 0; errors still exit 2.
#   MLSEC_SARIF     SARIF 2.1.0 file to write (default mlsec.sarif; empty: none)
#   MLSEC_REPORT    check only: HTML report to write (needs `mlsec check --report`
#                   or `mlsec report`)
#   MLSEC_JUNIT     check only: JUnit XML to write (needs `mlsec report`)
#   MLSEC_EVIDENCE  check only: the evidence folder (default: `[project] evidence`
#                   in the project file, else PATH/.mlsec/evidence); passed to
#                   `mlsec check --evidence`
#   GITHUB_OUTPUT, GITHUB_STEP_SUMMARY   set by GitHub Actions: outputs and a
#                   Markdown summary are appended to them
#
# Outputs (GITHUB_OUTPUT): exit-code, decision (pass, deny, fail, error), and
# sarif, report, junit, evidence: each the path written, or empty.
# Exit: mlsec's (0 pass, 1 denied or findings, 2 error), once every file is
# written; 0 instead of 1 with MLSEC_FAIL_ON=never; 2 for bad settings here.
# Files named above are removed first, so a failed run never leaves an older
# run's file behind to be uploaded as this one's.
set -uo pipefail

command=${MLSEC_COMMAND:-check}
path=${MLSEC_PATH:-.}
fail_on=${MLSEC_FAIL_ON:-}
sarif=${MLSEC_SARIF-mlsec.sarif}
report=${MLSEC_REPORT:-}
junit=${MLSEC_JUNIT:-}
evidence=${MLSEC_EVIDENCE:-}
mlsec=${MLSEC:-mlsec}

github_output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"; fi
}
finish() { # exit code, decision
  github_output exit-code "$1"
  github_output decision "$2"
  for name in sarif report junit evidence; do
    local file=${!name}
    if [ -n "$file" ] && [ -e "$file" ]; then github_output "$name" "$file"; else github_output "$name" ""; fi
  done
  exit "$3"
}
usage_error() {
  echo "mlsec CI: error: $*" >&2
  if [ "${GITHUB_ACTIONS:-}" = true ]; then echo "::error title=mlsec::$*"; fi
  sarif="" report="" junit="" evidence=""
  finish 2 error 2
}

# --- settings ---------------------------------------------------------------
if ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] < 404)); then
  usage_error "needs bash 4.4 or newer, not $BASH_VERSION"
fi
for file in "$sarif" "$report" "$junit"; do
  if [ -n "$file" ]; then rm -f -- "$file"; fi
done
case "$command" in
check) case "$fail_on" in "" | deny | never) ;; *) usage_error "fail-on for check is deny or never, not '$fail_on' (policies decide what fails)" ;; esac ;;
scan)
  case "$fail_on" in "" | low | medium | high | critical | never) ;; *) usage_error "fail-on for scan is low, medium, high, critical or never, not '$fail_on'" ;; esac
  [ -z "$report$junit$evidence" ] || usage_error "report, junit and evidence are for command check, not scan"
  ;;
*) usage_error "command must be check or scan, not '$command'" ;;
esac
command -v "$mlsec" >/dev/null 2>&1 || usage_error "no mlsec binary: '$mlsec' is not on PATH (set MLSEC or install mlsec)"
version=$("$mlsec" --version 2>/dev/null) || usage_error "'$mlsec --version' failed"

# MLSEC_ARGS, split with quotes honoured and nothing executed or expanded.
args=()
if [ -n "${MLSEC_ARGS:-}" ] && [ -n "${MLSEC_ARGS//[[:space:]]/}" ]; then
  if ! split=$(printf '%s' "$MLSEC_ARGS" | xargs printf '%s\0' 2>&1 >/dev/null); then
    usage_error "cannot split args: ${split:-unbalanced quotes}"
  fi
  mapfile -d '' args < <(printf '%s' "$MLSEC_ARGS" | xargs printf '%s\0')
fi
config=""
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
  -f | --format | --format=* | -f?* | -o | --output | --output=* | -o?*)
    usage_error "args must not set the format or output (${args[i]}): set sarif, report, junit instead" ;;
  --fail-on | --fail-on=*) usage_error "args must not set --fail-on: set fail-on instead" ;;
  --report | --report=*) usage_error "args must not set --report: set report instead" ;;
  --evidence | --evidence=*) usage_error "args must not set --evidence: set evidence instead" ;;
  --config) config=${args[i + 1]:-} ;;
  --config=*) config=${args[i]#--config=} ;;
  esac
done

# What this mlsec can render. `mlsec report` renders the saved evidence again.
has_report=false
if "$mlsec" report --help >/dev/null 2>&1; then has_report=true; fi
check_report=false
help=$("$mlsec" check --help 2>/dev/null) || true
if [[ "$help" == *--report* ]]; then check_report=true; fi
if [ -n "$junit" ] && [ "$has_report" != true ]; then
  usage_error "junit needs \`mlsec report\`, which $version does not have (use a newer mlsec)"
fi
if [ -n "$report" ] && [ "$check_report" != true ] && [ "$has_report" != true ]; then
  usage_error "report needs \`mlsec check --report\`, which $version does not have (use a newer mlsec)"
fi

# The evidence folder `mlsec check` would choose, made explicit so that what
# this script renders and reports is where mlsec wrote.
project_evidence() { # the project file's [project] evidence, relative to its folder
  local file=$1 value
  [ -f "$file" ] || return 0
  value=$(awk '
    /^[[:space:]]*\[/ { section = $0; sub(/#.*/, "", section); gsub(/[[:space:]]/, "", section) }
    section == "[project]" && /^[[:space:]]*evidence[[:space:]]*=/ {
      v = $0; sub(/^[^=]*=[[:space:]]*/, "", v)
      if (v ~ /^"/) { sub(/^"/, "", v); sub(/".*$/, "", v) } else if (v ~ /^\047/) { sub(/^\047/, "", v); sub(/\047.*$/, "", v) } else v = ""
      print v; exit
    }' "$file")
  [ -n "$value" ] || return 0
  case "$value" in /*) echo "$value" ;; *) echo "$(dirname "$file")/$value" ;; esac
}
if [ "$command" = check ] && [ -z "$evidence" ]; then
  evidence=$(project_evidence "${config:-$path/mlsec.toml}")
  evidence=${evidence:-$path/.mlsec/evidence}
  evidence=${evidence#./}
fi

# --- run --------------------------------------------------------------------
for file in "$sarif" "$report" "$junit"; do
  if [ -n "$file" ]; then mkdir -p -- "$(dirname -- "$file")"; fi
done

echo "== $version: $command $path"
if [ "$command" = check ]; then
  cmd=("$mlsec" check "$path" "${args[@]}" --evidence "$evidence")
  if [ -n "$sarif" ]; then cmd+=(--format sarif --output "$sarif"); fi
  if [ -n "$report" ] && [ "$check_report" = true ]; then cmd+=(--report "$report"); fi
else
  cmd=("$mlsec" scan "${args[@]}")
  case "$fail_on" in "" | never) ;; *) cmd+=(--fail-on "$fail_on") ;; esac
  if [ -n "$sarif" ]; then cmd+=(--format sarif --output "$sarif"); fi
  cmd+=("$path")
fi
echo "+ ${cmd[*]}"
"${cmd[@]}"
code=$?
case "$code" in 0 | 1 | 2) ;; *)
  echo "mlsec CI: mlsec exited $code (a crash?); treated as an error" >&2
  code=2
  ;;
esac

# Renders from the saved evidence, when this run's check got as far as
# writing it: it decided (exit 0 or 1), or it wrote the SARIF, removed above.
rendered=false
if [ "$command" = check ] && [ -f "$evidence/check.json" ]; then
  if [ "$code" != 2 ] || { [ -n "$sarif" ] && [ -f "$sarif" ]; }; then rendered=true; fi
fi
render() { # format output-file
  echo "+ $mlsec report $evidence --format $1 --output $2"
  if ! "$mlsec" report "$evidence" --format "$1" --output "$2"; then
    echo "mlsec CI: error: could not write $2" >&2
    code=2
  fi
}
if [ "$rendered" = true ]; then
  if [ -n "$junit" ]; then render junit "$junit"; fi
  if [ -n "$report" ] && [ "$check_report" != true ]; then render html "$report"; fi
fi

# SARIF results as tab-separated level, rule, location, message. mlsec writes
# SARIF pretty-printed with sorted keys, one key per line, which this reads.
sarif_results() {
  awk '
    function val(s) { sub(/^[^:]*:[[:space:]]*"/, "", s); sub(/",?[[:space:]]*$/, "", s)
      gsub(/\\"/, "\"", s); gsub(/\\n/, " ", s); gsub(/\\t/, " ", s); gsub(/\\\\/, "\\", s); gsub(/\t/, " ", s); return s }
    /^[[:space:]]*"results": \[/ { depth = index($0, "\""); inres = 1; next }
    inres && index($0, "\"") == depth && /^[[:space:]]*"[a-zA-Z]+":/ { inres = 0 }
    !inres { next }
    /^[[:space:]]*"level": "/ { level = val($0) }
    /^[[:space:]]*"message": \{/ { inmsg = 1 }
    inmsg && /^[[:space:]]*"text": "/ { msg = val($0); inmsg = 0 }
    /^[[:space:]]*"uri": "/ && uri == "" { uri = val($0) }
    /^[[:space:]]*"ruleId": "/ { print level "\t" val($0) "\t" uri "\t" msg; level = ""; uri = ""; msg = "" }
  ' "$1"
}
results=""
if [ -n "$sarif" ] && [ -f "$sarif" ]; then results=$(sarif_results "$sarif" | LC_ALL=C sort -s -t "$(printf '\t')" -k1,1); fi
count() { if [ -z "$results" ]; then echo 0; else printf '%s\n' "$results" | awk -F '\t' -v l="$1" '$1 == l' | wc -l | tr -d ' '; fi; }
errors=$(count error)
warnings=$(count warning)

# The human summary for the log.
list=false
if [ "$command" = scan ]; then list=true; fi
if [ "$rendered" = true ] && [ -n "$sarif" ]; then
  if [ "$has_report" = true ]; then
    "$mlsec" report "$evidence" --format human || true
  elif [ -n "$results" ]; then
    echo "(the full summary needs \`mlsec report\`, which $version does not have; the SARIF results:)"
    list=true
  fi
fi
if [ "$list" = true ] && [ -n "$results" ]; then
  printf '%s\n' "$results" | awk -F '\t' '{ printf "  %-7s %-8s %s: %s\n", toupper($1), $2, $3, $4 }'
fi

case "$command:$code" in
check:0) decision=pass ;; check:1) decision=deny ;; scan:0) decision=pass ;; scan:1) decision=fail ;; *) decision=error ;;
esac
status=$code
if [ "$code" = 1 ] && [ "$fail_on" = never ]; then status=0; fi
word=$(echo "$decision" | tr '[:lower:]' '[:upper:]')
line="mlsec $command: $word (exit $code): $errors error(s), $warnings warning(s)"
if [ -n "$sarif" ] && [ -f "$sarif" ]; then line="$line in $sarif"; fi
if [ -n "$evidence" ] && [ -d "$evidence" ]; then line="$line; evidence in $evidence"; fi
if [ "$status" != "$code" ]; then line="$line (not failing: fail-on is never)"; fi
echo "$line"
if [ "${GITHUB_ACTIONS:-}" = true ] && [ "$code" != 0 ]; then
  if [ "$status" = 0 ]; then echo "::warning title=mlsec $command::$line"; else echo "::error title=mlsec $command::$line"; fi
fi

# --- the Markdown summary ---------------------------------------------------
md() { # text: escape what would break a table cell
  printf '%s' "$1" | sed -e 's/|/\\|/g' -e 's/</\&lt;/g' | cut -c1-300
}
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    echo "### mlsec $command: $word"
    echo
    echo "\`$path\`, exit $code, $errors error(s), $warnings warning(s). $version."
    echo
    if [ -n "$results" ]; then
      echo "| level | rule | location | message |"
      echo "|---|---|---|---|"
      printf '%s\n' "$results" | head -n 50 | while IFS=$'\t' read -r level rule uri msg; do
        echo "| $level | $rule | $(md "$uri") | $(md "$msg") |"
      done
      n=$(printf '%s\n' "$results" | wc -l | tr -d ' ')
      if [ "$n" -gt 50 ]; then echo; echo "... and $((n - 50)) more in the SARIF file."; fi
      echo
    fi
    for name in sarif report junit evidence; do
      file=${!name}
      if [ -n "$file" ] && [ -e "$file" ]; then echo "- $name: \`$file\`"; fi
    done
  } >>"$GITHUB_STEP_SUMMARY"
fi

finish "$code" "$decision" "$status"
