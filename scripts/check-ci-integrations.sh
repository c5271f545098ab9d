#!/usr/bin/env bash
# Tests the CI integrations (docs/ci.md): the scripts the GitHub Action, the
# GitLab CI template and the pre-commit hooks run, and the definitions that
# call them.
#   1. ci/run-mlsec.sh on the example project: exit 1 (denied) with SARIF,
#      outputs and a step summary; exit 0 on a passing selection and with
#      fail-on never; exit 2 on errors and bad settings, leaving no SARIF;
#      scan mode; the evidence folder the project file names;
#   2. ci/install-mlsec.sh: a binary given or on PATH, a build from source
#      (a stub cargo) cached by a content key, a build at a tag, a branch or
#      a commit of a git repository;
#   3. scripts/check_ci_integrations.py: action.yml, the GitLab template and
#      .pre-commit-hooks.yaml parse and agree with the scripts; the action's
#      steps and the GitLab job's script are run as their hosts would; the
#      YAML examples in docs/ci.md parse and name only real inputs and hooks;
#   4. pre-commit itself (PyPI) runs the hooks: `pre-commit try-repo` passes a
#      clean model and fails a hostile one, and the same for mlsec-check.
# Needs python3 with PyYAML, and pre-commit; both are installed into a venv
# under the target dir when missing, and the check fails, never skips, when
# they cannot be. The only skip is for `mlsec report` (JUnit, HTML), which
# this mlsec may not have yet: it is announced loudly.
#
# MLSEC=/path/to/mlsec uses that binary; unset, mlsec is built with cargo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
if [ -z "${MLSEC:-}" ]; then
  cargo build --quiet --locked -p mlsec
  MLSEC=$target/debug/mlsec
fi
MLSEC=$(cd "$(dirname "$MLSEC")" && pwd)/$(basename "$MLSEC")
[ -x "$MLSEC" ] || { echo "FAIL: $MLSEC is not executable" >&2; exit 1; }
export MLSEC
mkdir -p "$target"
work=$(mktemp -d "${TMPDIR:-/tmp}/mlsec-ci-integrations.XXXXXX")
trap 'rm -rf "$work"' EXIT
run=$root/ci/run-mlsec.sh
install=$root/ci/install-mlsec.sh
started=$SECONDS

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() { echo "ok: $*"; }

# Python with PyYAML (and pre-commit, for part 4): a venv under the target dir.
venv=$target/ci-venv
if [ ! -x "$venv/bin/pre-commit" ] || ! "$venv/bin/python" -c 'import yaml' 2>/dev/null; then
  python3 -m venv "$venv" || fail "cannot create a Python venv in $venv (python3 -m venv)"
  PIP_ROOT_USER_ACTION=ignore "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "pre-commit==4.7.0" "pyyaml==6.0.3" >&2 || fail "cannot install pre-commit and PyYAML from PyPI into $venv"
fi
python=$venv/bin/python

# `mlsec report` renders JUnit and HTML from the evidence; until this mlsec
# has it, what needs it is checked as a clear error instead.
if "$MLSEC" report --help >/dev/null 2>&1; then
  has_report=true
else
  has_report=false
  echo "=================================================================="
  echo "SKIPPED: mlsec report not available: JUnit XML, the HTML report and"
  echo "the human summary after SARIF are not tested (only that asking for"
  echo "them is an error, exit 2)."
  echo "=================================================================="
fi
help=$("$MLSEC" check --help) || fail "mlsec check --help failed"
if [[ "$help" == *--report* ]]; then check_report=true; else
  check_report=false
  echo "SKIPPED: mlsec check --report not available: the HTML report from check is not tested."
fi

# Runs ci/run-mlsec.sh in $1 with the settings that follow (NAME=VALUE), with
# fresh GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files; sets $code, $log, $out, $summary.
run_ci() {
  local dir=$1
  shift
  out=$work/output-$RANDOM
  summary=$work/summary-$RANDOM
  : >"$out"
  : >"$summary"
  set +e
  log=$(cd "$dir" && env GITHUB_OUTPUT="$out" GITHUB_STEP_SUMMARY="$summary" "$@" bash "$run" 2>&1)
  code=$?
  set -e
}
output() { sed -n "s/^$1=//p" "$out" | tail -n 1; }
expect() { # code decision what
  [ "$code" = "$1" ] || fail "$3: exit $code, expected $1; log:
$log"
  [ "$(output exit-code)" = "$1" ] || fail "$3: output exit-code=$(output exit-code), expected $1"
  [ "$(output decision)" = "$2" ] || fail "$3: output decision=$(output decision), expected $2"
}
sarif_ok() { # file results(some|none) what
  "$python" - "$1" "$2" "$3" <<'PY' || exit 1
import json, sys
path, want, what = sys.argv[1:]
try:
    doc = json.load(open(path))
except Exception as e:
    sys.exit(f"FAIL: {what}: {path} is not JSON: {e}")
results = doc["runs"][0]["results"] if doc.get("runs") else None
if doc.get("version") != "2.1.0" or results is None:
    sys.exit(f"FAIL: {what}: {path} is not SARIF 2.1.0 with a run")
if (want == "some") != bool(results):
    sys.exit(f"FAIL: {what}: {len(results)} SARIF results, expected {want}")
PY
}
copy_examples() {
  rm -rf "${work:?}/${1:?}"
  mkdir -p "$work/$1"
  (cd examples && tar --exclude=./.mlsec -cf - .) | tar -xf - -C "$work/$1"
}

echo "== 1. ci/run-mlsec.sh"
copy_examples project
p=$work/project

# (a) The example project is denied: exit 1, after every file is written.
run_ci "$p" MLSEC_PATH=. MLSEC_SARIF=out/mlsec.sarif
expect 1 deny "check on the example"
sarif_ok "$p/out/mlsec.sarif" some "check on the example"
[ "$(output sarif)" = out/mlsec.sarif ] || fail "output sarif=$(output sarif)"
[ "$(output evidence)" = .mlsec/evidence ] || fail "output evidence=$(output evidence)"
[ -f "$p/.mlsec/evidence/check.json" ] || fail "no evidence in $p/.mlsec/evidence"
grep -q '^### mlsec check: DENY' "$summary" || fail "no summary heading in $(cat "$summary")"
grep -Eq '^\| error \| MLP001 \| (\./)?downloads/tokenizer\.pkl \|' "$summary" || fail "no denial row in the summary: $(cat "$summary")"
want=$("$python" -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]["results"]; print(sum(x["level"]=="error" for x in r), sum(x["level"]=="warning" for x in r))' "$p/out/mlsec.sarif")
got=$(sed -n 's/.* \([0-9]*\) error(s), \([0-9]*\) warning(s)\..*/\1 \2/p' "$summary")
[ "$want" = "$got" ] || fail "the summary counts $got (errors, warnings), the SARIF holds $want"
[[ "$log" == *"MLP001"*"downloads/tokenizer.pkl"* ]] || fail "the log does not name the denial: $log"
ok "check on the example: exit 1, SARIF 2.1.0 with results, outputs, summary (errors and warnings: $got)"

# (b) A passing selection, quotes in args, and fail-on never.
run_ci "$p" MLSEC_ARGS="--only 'sign,data'"
expect 0 pass "check --only sign,data"
sarif_ok "$p/mlsec.sarif" none "check --only sign,data"
grep -q '^### mlsec check: PASS' "$summary" || fail "no PASS summary"
ok "check --only 'sign,data': exit 0, SARIF without results"
run_ci "$p" MLSEC_FAIL_ON=never
[ "$code" = 0 ] && [ "$(output exit-code)" = 1 ] && [ "$(output decision)" = deny ] ||
  fail "fail-on never: exit $code, exit-code=$(output exit-code); expected 0 and 1"
ok "fail-on never: the step passes, exit-code output 1"

# (c) Errors: exit 2, and no SARIF left behind, not even an older run's.
echo stale >"$p/mlsec.sarif"
before=$(cd "$p" && find . -mindepth 1 -maxdepth 1 ! -name mlsec.sarif | sort)
run_ci "$p" MLSEC_PATH=no-such-dir
expect 2 error "check on a missing folder"
[ ! -e "$p/mlsec.sarif" ] || fail "a SARIF file is left after an error"
[ -z "$(output sarif)" ] || fail "output sarif=$(output sarif) after an error"
[ "$(cd "$p" && find . -mindepth 1 -maxdepth 1 | sort)" = "$before" ] || fail "files left after an error: $(ls -A "$p")"
ok "check on a missing folder: exit 2, no SARIF (the stale one removed), no temporary files"
for setting in MLSEC_COMMAND=audit MLSEC_FAIL_ON=high "MLSEC_ARGS=--only 'sign" "MLSEC_ARGS=--format json" \
  "MLSEC_ARGS=--evidence x" MLSEC=/no/such/mlsec; do
  echo stale >"$p/mlsec.sarif"
  run_ci "$p" "$setting"
  expect 2 error "$setting"
  [ ! -e "$p/mlsec.sarif" ] || fail "$setting: a SARIF file is left"
  [[ "$log" == *"mlsec CI: error: "* ]] || fail "$setting: no error message: $log"
done
ok "bad settings (command, fail-on, unbalanced quotes, --format, --evidence, no binary): exit 2 with a message"

# scan mode.
run_ci "$p" MLSEC_COMMAND=scan MLSEC_PATH=downloads
expect 1 fail "scan downloads"
sarif_ok "$p/mlsec.sarif" some "scan downloads"
[[ "$log" == *"PKL001"*"downloads/tokenizer.pkl"* ]] || fail "scan: the log does not list the findings: $log"
run_ci "$p" MLSEC_COMMAND=scan MLSEC_PATH=models MLSEC_FAIL_ON=low
expect 0 pass "scan models --fail-on low"
run_ci "$p" MLSEC_COMMAND=scan MLSEC_JUNIT=x.xml
expect 2 error "scan with junit"
ok "scan: exit 1 on hostile downloads with SARIF, 0 on the models at fail-on low, 2 for check-only settings"

# The evidence folder the project file names is the one used and reported.
copy_examples project-evidence
pe=$work/project-evidence
sed -i.bak -e 's/^\[project\]$/[project]  # a comment/' \
  -e 's/^name = "[^"]*"/&\nevidence = "build\/ev"  # a comment/' "$pe/mlsec.toml"
if ! grep -q '^evidence = "build/ev"' "$pe/mlsec.toml" || ! grep -q '^\[project\]  #' "$pe/mlsec.toml"; then
  fail "could not edit the test project's mlsec.toml"
fi
run_ci "$work" MLSEC_PATH=project-evidence
expect 1 deny "check with [project] evidence"
[ "$(output evidence)" = project-evidence/build/ev ] && [ -f "$pe/build/ev/check.json" ] ||
  fail "evidence: output $(output evidence), expected project-evidence/build/ev with check.json"
ok "the project file's evidence folder is used and reported"

# JUnit and HTML, with `mlsec report` (and `check --report`).
if [ "$has_report" = true ]; then
  run_ci "$p" MLSEC_JUNIT=out/junit.xml MLSEC_REPORT=out/report.html
  expect 1 deny "check with junit and report"
  [ "$(output junit)" = out/junit.xml ] && [ "$(output report)" = out/report.html ] ||
    fail "outputs junit=$(output junit) report=$(output report)"
  "$python" - "$p/out/junit.xml" <<'PY' || exit 1
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
if root.tag not in ("testsuites", "testsuite") or not suites:
    sys.exit(f"FAIL: junit: root <{root.tag}>, expected testsuites/testsuite")
cases = [c for s in suites for c in s.iter("testcase")]
failed = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
if not cases or not failed:
    sys.exit(f"FAIL: junit: {len(cases)} test cases, {len(failed)} failed; expected failures for the denied example")
PY
  grep -qi '<html' "$p/out/report.html" || fail "out/report.html is not HTML"
  [[ "$log" == *"mlsec check: penguin-service"* ]] || fail "the log has no human summary from mlsec report: $log"
  ok "junit and report: JUnit XML with failing test cases, HTML, the human summary in the log"
else
  run_ci "$p" MLSEC_JUNIT=out/junit.xml
  expect 2 error "junit without mlsec report"
  [[ "$log" == *"needs \`mlsec report\`"* ]] || fail "junit without mlsec report: no message: $log"
  [ ! -e "$p/mlsec.sarif" ] || fail "junit without mlsec report: SARIF written although nothing ran"
  ok "junit without mlsec report: exit 2 before anything runs (SKIPPED the JUnit checks themselves)"
fi
if [ "$check_report" = true ]; then
  run_ci "$p" MLSEC_REPORT=out/only-report.html
  expect 1 deny "check --report"
  grep -qi '<html' "$p/out/only-report.html" || fail "check --report wrote no HTML"
  ok "check --report: HTML written"
elif [ "$has_report" != true ]; then
  run_ci "$p" MLSEC_REPORT=out/report.html
  expect 2 error "report without check --report"
  ok "report without check --report or mlsec report: exit 2"
fi

echo "== 2. ci/install-mlsec.sh"
stub=$work/stub
mkdir -p "$stub"
cat >"$stub/cargo" <<EOF
#!/bin/bash
echo "\$@" >>"$work/cargo.log"
root=""; while [ \$# -gt 0 ]; do [ "\$1" = --root ] && root=\$2; shift; done
mkdir -p "\$root/bin" && ln -s "$MLSEC" "\$root/bin/mlsec"
EOF
chmod +x "$stub/cargo"
inst() { # PATH, then settings; sets $code, $log (stdout), $out
  local path=$1
  shift
  out=$work/install-out-$RANDOM
  : >"$out"
  set +e
  log=$(env -u MLSEC PATH="$path" HOME="$work/home" GITHUB_OUTPUT="$out" "$@" bash "$install" install 2>"$work/install.err")
  code=$?
  set -e
}
inst /usr/bin:/bin MLSEC="$MLSEC"
[ "$code" = 0 ] && [ "$(tail -n 1 <<<"$log")" = "$MLSEC" ] && [ "$(output found)" = true ] ||
  fail "install with MLSEC set: exit $code, printed $log, found=$(output found)"
mkdir -p "$work/onpath" && ln -sf "$MLSEC" "$work/onpath/mlsec"
inst "$work/onpath:/usr/bin:/bin"
[ "$code" = 0 ] && [ "$(tail -n 1 <<<"$log")" = "$work/onpath/mlsec" ] || fail "install with mlsec on PATH: exit $code, printed $log"
ok "a given binary, or mlsec on PATH, is used as it is"

cache=$work/cache
: >"$work/cargo.log"
inst "$stub:/usr/bin:/bin" MLSEC_INSTALL_CACHE="$cache" GITHUB_PATH="$work/github-path"
key=$(output key)
[ "$code" = 0 ] && [[ "$key" =~ ^mlsec-[a-z]+-[a-z0-9_]+-[0-9a-f]{24}$ ]] && [ "$(output found)" = false ] ||
  fail "install from source: exit $code, key $key; $(cat "$work/install.err")"
[ "$(cat "$work/cargo.log")" = "install --locked --path $root/crates/mlsec --root $cache/$key" ] ||
  fail "install from source ran: $(cat "$work/cargo.log")"
[ "$(tail -n 1 <<<"$log")" = "$cache/$key/bin/mlsec" ] && [ "$(cat "$work/github-path")" = "$cache/$key/bin" ] ||
  fail "install from source printed $log, GITHUB_PATH $(cat "$work/github-path")"
inst "$stub:/usr/bin:/bin" MLSEC_INSTALL_CACHE="$cache"
[ "$code" = 0 ] && [ "$(wc -l <"$work/cargo.log")" = 1 ] && [ "$(output key)" = "$key" ] ||
  fail "a second install built again or changed the key: $(cat "$work/cargo.log")"
inst /usr/bin:/bin MLSEC_INSTALL_CACHE="$work/cache-empty"
if [ "$code" != 2 ] || ! grep -q 'cargo is not installed' "$work/install.err"; then
  fail "install without cargo: exit $code, $(cat "$work/install.err")"
fi
inst "$stub:/usr/bin:/bin" MLSEC_INSTALL_CACHE="$work/cache-dry" MLSEC_INSTALL_DRY_RUN=1
if [ "$code" != 0 ] || ! grep -q '^dry run: cargo install --locked --path ' <<<"$log"; then
  fail "dry run: exit $code, $log"
fi
fake=$work/fake-src
mkdir -p "$fake/crates/mlsec/src"
echo '[workspace]' >"$fake/Cargo.toml"
echo '# lock' >"$fake/Cargo.lock"
echo 'fn main() {}' >"$fake/crates/mlsec/src/main.rs"
plan_key() {
  env -u MLSEC PATH=/usr/bin:/bin MLSEC_SOURCE_DIR="$fake" MLSEC_INSTALL_CACHE="$work/cache-fake" \
    GITHUB_OUTPUT="$work/fake-out" bash "$install" plan >/dev/null 2>&1
  sed -n 's/^key=//p' "$work/fake-out" | tail -n 1
}
k1=$(plan_key)
echo 'fn main() { }' >"$fake/crates/mlsec/src/main.rs"
k2=$(plan_key)
mv "$fake/crates/mlsec/src/main.rs" "$fake/crates/mlsec/src/lib.rs"
k3=$(plan_key)
[ -n "$k1" ] && [ "$k1" != "$k2" ] && [ "$k2" != "$k3" ] || fail "the content key does not follow the sources: $k1 $k2 $k3"
ok "a build from source: cargo install --locked --path, cached by content key $key (it changes with a file's content or name), built once; no cargo is exit 2"

# A git repository holding this working tree (committed or not), tagged, to
# build a version from; the GitLab job clones it too. Automatic gc is off: with
# thousands of loose objects the commit starts `gc --auto` in the background,
# and a local clone racing its temporary pack dies with "hardlink different
# from source". The fuzz corpora (tens of thousands of files) are left out:
# nothing here builds or reads them.
snap=$work/snapshot
git init --quiet "$snap"
git -C "$snap" config gc.auto 0
git -C "$snap" config maintenance.auto false
GIT_DIR=$snap/.git GIT_WORK_TREE=$root git add -A -- . ':!fuzz/corpora'
GIT_DIR=$snap/.git GIT_WORK_TREE=$root git -c user.name=test -c user.email=test@example.invalid \
  commit --quiet --no-verify -m snapshot
git -C "$snap" reset --quiet --hard
git -C "$snap" tag v0.0.0-ci-test
git -C "$snap" branch -M ci-test-branch
sha=$(git -C "$snap" rev-parse HEAD)
keys=""
for version in v0.0.0-ci-test ci-test-branch "$sha"; do
  inst "$stub:/usr/bin:/bin" MLSEC_INSTALL_CACHE="$work/cache-git" MLSEC_INSTALL_DRY_RUN=1 \
    MLSEC_REPOSITORY="$snap" MLSEC_VERSION="$version"
  [ "$code" = 0 ] || fail "install at $version: exit $code: $(cat "$work/install.err")"
  keys="$keys $(output key)"
done
read -r k1 k2 k3 <<<"$keys"
[ "$k1" = "$k2" ] && [ "$k2" = "$k3" ] && [ "$k1" = "$key" ] ||
  fail "the same sources at a tag, a branch and a commit gave keys $keys, the working tree $key"
inst "$stub:/usr/bin:/bin" MLSEC_INSTALL_CACHE="$work/cache-git" MLSEC_REPOSITORY="$snap" MLSEC_VERSION=no-such-tag
if [ "$code" != 2 ] || ! grep -q 'cannot clone' "$work/install.err"; then
  fail "install at a missing version: exit $code"
fi
ok "a build at a tag, a branch or a commit of a repository (same key as the same sources); a missing version is exit 2"

echo "== 3. action.yml, the GitLab template, .pre-commit-hooks.yaml"
"$python" scripts/check_ci_integrations.py "$root" "$work" "$MLSEC" "$snap" v0.0.0-ci-test "$has_report"

echo "== 4. pre-commit try-repo"
pc=$venv/bin/pre-commit
repo=$work/precommit-repo
try() { # hook files...; sets $code, $log
  set +e
  log=$(cd "$repo" && PATH="$work/onpath:$venv/bin:/usr/bin:/bin" HOME="$work/home" \
    PRE_COMMIT_HOME="$work/pre-commit-home" "$pc" try-repo "$snap" "$@" 2>&1)
  code=$?
  set -e
}
git init --quiet "$repo"
mkdir -p "$repo/models"
cp fixtures/pytorch/state_dict.pt fixtures/pickle_benign/plain_data_p4.pkl "$repo/models/"
cp fixtures/pytorch/malicious_os_system.pt "$repo/models/evil.pt"
cp fixtures/pickle/inst_os_system.pkl "$repo/models/evil.pkl"
git -C "$repo" add -A
try mlsec-scan --files models/state_dict.pt models/plain_data_p4.pkl
[ "$code" = 0 ] || fail "pre-commit mlsec-scan on clean models: exit $code: $log"
try mlsec-scan --files models/state_dict.pt models/evil.pt models/evil.pkl
[ "$code" = 1 ] && [[ "$log" == *PKL001* ]] || fail "pre-commit mlsec-scan on hostile models: exit $code, expected 1 naming PKL001: $log"
ok "pre-commit try-repo mlsec-scan: clean models pass, hostile ones fail"

rm -rf "$repo/models/evil.pt" "$repo/models/evil.pkl"
printf '[project]\nname = "clean"\n\n[[model]]\npath = "models"\n' >"$repo/mlsec.toml"
printf '.mlsec/\n' >"$repo/.gitignore"
git -C "$repo" add -A
try mlsec-check --files mlsec.toml
[ "$code" = 0 ] || fail "pre-commit mlsec-check on a clean project: exit $code: $log"
cp fixtures/pickle/inst_os_system.pkl "$repo/models/evil.pkl"
git -C "$repo" add -A
try mlsec-check --files models/evil.pkl
[ "$code" = 1 ] && [[ "$log" == *MLP001* ]] || fail "pre-commit mlsec-check on a hostile model: exit $code: $log"
try mlsec-check --files README.md
[ "$code" = 0 ] && [[ "$log" == *"(no files to check)Skipped"* ]] || fail "pre-commit mlsec-check ran for README.md: $log"
ok "pre-commit try-repo mlsec-check: a clean project passes, a hostile model is denied, other files skip it"

echo "all CI integration checks passed in $((SECONDS - started)) s"
if [ "$has_report" != true ]; then echo "(SKIPPED: mlsec report not available; see above)"; fi
