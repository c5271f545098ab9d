#!/usr/bin/env bash
# The entry of the pre-commit hooks in .pre-commit-hooks.yaml: runs
# `mlsec "$@"` with the mlsec from $MLSEC or PATH, or else one built once
# (cargo, minutes) from the checkout of this repository that pre-commit made
# at the hook's `rev`, kept in ~/.cache/mlsec/ci-bin. See docs/ci.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Not GitHub's step files, when pre-commit itself runs in GitHub Actions.
bin=$(env -u GITHUB_OUTPUT -u GITHUB_PATH MLSEC_VERSION= MLSEC_SOURCE_DIR="$here/.." \
  bash "$here/install-mlsec.sh" install | tail -n 1) || exit 2
exec "$bin" "$@"
