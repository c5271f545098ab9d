#!/usr/bin/env bash
# Builds the documentation book (docs/, an mdBook) and checks every link in the
# HTML it writes: each local page, asset and #anchor must exist, and each link
# to this repository's files on GitHub must name a file that exists here.
# Other external links are not fetched (CI runs offline).
set -euo pipefail
cd "$(dirname "$0")/.."
MDBOOK_VERSION=0.5.4
tools="${MLSEC_TOOLS:-$HOME/.cache/mlsec/tools}"
mdbook="$tools/bin/mdbook"
if ! "$mdbook" --version 2>/dev/null | grep -q "v$MDBOOK_VERSION"; then
  echo "installing mdbook $MDBOOK_VERSION into $tools (once; about 3 minutes on 2 cores)" >&2
  cargo install mdbook --version "$MDBOOK_VERSION" --locked --no-default-features \
    --features search --root "$tools" --quiet
fi
rm -rf target/book
"$mdbook" build docs 2>&1 | grep -v '^ INFO' || true
test -f target/book/index.html || { echo "error: mdbook wrote no target/book/index.html" >&2; exit 1; }
python3 scripts/check_book_links.py target/book https://github.com/mlsec/mlsec/blob/main/ .
