#!/usr/bin/env bash
# Finds or installs the mlsec binary for the CI integrations (the GitHub
# Action, the GitLab CI template, the pre-commit hooks). See docs/ci.md.
#
#   install-mlsec.sh plan      decide where mlsec comes from; print it
#   install-mlsec.sh install   the same, then build it when needed; the last
#                              line on standard output is the binary's path
#
# Where mlsec comes from, first match wins:
#   1. $MLSEC, when set (a path or a command name): used as it is;
#   2. `mlsec` on PATH (you installed it in an earlier step);
#   3. a build from source, `cargo install --locked --path SRC/crates/mlsec`,
#      into $MLSEC_INSTALL_CACHE/KEY, where KEY is a digest of the sources
#      (Cargo.toml, Cargo.lock, crates/): a second run with the same sources
#      finds the binary there and builds nothing. SRC is
#        - a clone of $MLSEC_REPOSITORY at $MLSEC_VERSION (a tag, a branch or
#          a full 40-hex commit) when MLSEC_VERSION is set,
#        - else $MLSEC_SOURCE_DIR, by default the checkout this script is in.
#
# Environment (all optional):
#   MLSEC                  the binary to use; nothing is installed
#   MLSEC_VERSION          tag, branch or full commit to build from
#   MLSEC_REPOSITORY       git URL (or path) to clone (default https://github.com/mlsec/mlsec)
#   MLSEC_SOURCE_DIR       source tree to build from when MLSEC_VERSION is unset
#   MLSEC_INSTALL_CACHE    where builds go (default ${XDG_CACHE_HOME:-~/.cache}/mlsec/ci-bin)
#   MLSEC_INSTALL_DRY_RUN  1: print the cargo command instead of running it
#   GITHUB_OUTPUT, GITHUB_PATH  when set (GitHub Actions), outputs `found`,
#                          `bin`, `key`, `root` are appended, and the
#                          install's bin folder is added to PATH.
# Exit: 0, or 2 when mlsec cannot be found or built (the message says why).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=${1:-}
case "$mode" in
plan | install) ;;
*)
  echo "usage: $0 plan|install" >&2
  exit 2
  ;;
esac

die() {
  echo "mlsec install: error: $*" >&2
  exit 2
}
note() { echo "mlsec install: $*" >&2; }
output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"; fi
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256
  else
    die "neither sha256sum nor shasum is installed"
  fi
}

# Digest of everything `cargo install --path` builds from, by relative path
# and content, so the same sources give the same key wherever they lie.
source_key() {
  local src=$1 digest
  [ -f "$src/Cargo.lock" ] && [ -d "$src/crates/mlsec" ] ||
    die "$src is not an mlsec source tree (no Cargo.lock or crates/mlsec)"
  digest=$(cd "$src" && find Cargo.toml Cargo.lock crates -type f ! -path '*/target/*' -print0 |
    LC_ALL=C sort -z | xargs -0 cat -- | sha256 | cut -c1-16)
  # The file list too, so a rename changes the key.
  digest="$digest$(cd "$src" && find Cargo.toml Cargo.lock crates -type f ! -path '*/target/*' |
    LC_ALL=C sort | sha256 | cut -c1-8)"
  printf 'mlsec-%s-%s-%s\n' "$(uname -s | tr '[:upper:]' '[:lower:]')" "$(uname -m)" "$digest"
}

# Clone $MLSEC_REPOSITORY at $MLSEC_VERSION into $1 (shallow).
clone_version() {
  local dest=$1 version=$MLSEC_VERSION repo=${MLSEC_REPOSITORY:-https://github.com/mlsec/mlsec}
  command -v git >/dev/null 2>&1 || die "git is needed to fetch mlsec $version"
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  note "fetching $repo at $version"
  if [[ "$version" =~ ^[0-9a-fA-F]{40}$ ]]; then
    git init --quiet "$dest"
    git -C "$dest" fetch --quiet --depth 1 "$repo" "$version" ||
      die "cannot fetch commit $version from $repo"
    git -C "$dest" checkout --quiet --detach FETCH_HEAD
  else
    git -c advice.detachedHead=false clone --quiet --depth 1 --branch "$version" "$repo" "$dest" ||
      die "cannot clone $repo at $version (a tag, a branch, or a full 40-hex commit)"
  fi
}

cache=${MLSEC_INSTALL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlsec/ci-bin}

# 1 and 2: a binary we were given or that is on PATH.
given=""
if [ -n "${MLSEC:-}" ]; then
  given=$(command -v "$MLSEC" 2>/dev/null) || die "MLSEC=$MLSEC is not an executable"
elif given=$(command -v mlsec 2>/dev/null); then
  :
else
  given=""
fi
if [ -n "$given" ]; then
  note "using $given ($("$given" --version 2>/dev/null || echo 'version unknown'))"
  output found true
  output bin "$given"
  output key ""
  output root ""
  echo "$given"
  exit 0
fi

# 3: build from source.
if [ -n "${MLSEC_VERSION:-}" ]; then
  src="$cache/src-$(printf '%s' "${MLSEC_REPOSITORY:-}@$MLSEC_VERSION" | sha256 | cut -c1-12)"
  clone_version "$src"
else
  src=${MLSEC_SOURCE_DIR:-$(cd "$here/.." && pwd)}
fi
[ -d "$src" ] || die "no source tree at $src"
src=$(cd "$src" && pwd)
key=$(source_key "$src")
root="$cache/$key"
bin="$root/bin/mlsec"
output found false
output key "$key"
output root "$root"
output bin "$bin"

if [ "$mode" = plan ]; then
  note "will build from $src into $root"
  echo "$bin"
  exit 0
fi

if [ -x "$bin" ]; then
  note "using the cached build $bin"
else
  command -v cargo >/dev/null 2>&1 ||
    die "mlsec is not on PATH and cargo is not installed to build it (install Rust 1.93 or newer, or put mlsec on PATH)"
  cmd=(cargo install --locked --path "$src/crates/mlsec" --root "$root")
  if [ "${MLSEC_INSTALL_DRY_RUN:-}" = 1 ]; then
    echo "dry run: ${cmd[*]}"
  else
    note "building mlsec from $src (the first time takes minutes)"
    "${cmd[@]}" >&2 || die "cargo install failed"
    [ -x "$bin" ] || die "cargo install wrote no $bin"
  fi
fi
if [ -n "${GITHUB_PATH:-}" ]; then echo "$root/bin" >>"$GITHUB_PATH"; fi
echo "$bin"
