#!/usr/bin/env bash
# The HTML report of `mlsec check examples/`, opened from disk in a real
# browser (Debian's headless Chromium, installed here when missing): no
# console error, no network request, readable with JavaScript off. The
# screenshot is kept as a CI artefact in $CARGO_TARGET_DIR/ci-artifacts/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    echo "installing Debian's chromium for the report check"
    if ! { apt-get install -y -qq chromium >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null; }; }; then
        echo "FAIL: chromium is missing and could not be installed (apt-get install chromium)" >&2
        exit 1
    fi
fi
command -v node >/dev/null || { echo "FAIL: node is missing (needed to drive Chromium)" >&2; exit 1; }

# playwright-core, pinned by the lockfile, drives the system Chromium; it
# downloads no browser of its own.
work="$target/report-browser"
mkdir -p "$work" "$target/ci-artifacts"
cp scripts/report-browser/package.json scripts/report-browser/package-lock.json \
    scripts/report-browser/open-report.mjs "$work/"
if [ ! -d "$work/node_modules/playwright-core" ] ||
    ! cmp -s scripts/report-browser/package-lock.json "$work/node_modules/.package-lock.json.src" 2>/dev/null; then
    (cd "$work" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
    cp scripts/report-browser/package-lock.json "$work/node_modules/.package-lock.json.src"
fi

cargo build --quiet -p mlsec
evidence=$(mktemp -d)
trap 'rm -rf "$evidence"' EXIT
report="$target/ci-artifacts/report.html"
set +e
"$target/debug/mlsec" check examples/ --evidence "$evidence" --report "$report" >/dev/null
code=$?
set -e
if [ "$code" != 1 ]; then
    echo "FAIL: mlsec check examples/ exited $code (expected 1: the downloads are denied)" >&2
    exit 1
fi
node "$work/open-report.mjs" "$report" "$target/ci-artifacts/report.png" "$chromium"
