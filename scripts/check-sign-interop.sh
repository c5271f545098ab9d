#!/usr/bin/env bash
# Interoperability of `mlsec sign`/`mlsec verify` with the reference, OpenSSF
# model-signing (PyPI), both ways, on a folder with nested subdirectories, a
# non-ASCII file name, a multi-megabyte file and an empty file:
#   1. mlsec signs (P-256/384/521, PKCS#8 and SEC1 keys, certificate method)
#      -> `model_signing verify key|certificate` accepts;
#   2. model_signing signs (CLI; shards and blake2b/blake3 via its Python API)
#      -> `mlsec verify` accepts; mlsec's shards/blake2b signatures verify
#      through the Python API too;
#   3. after one changed byte, an added, a deleted or a renamed file both tools
#      reject, and mlsec names the file.
# The reference is installed into a venv under the target dir; if it cannot be
# installed the check fails, it never skips.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --quiet --locked -p mlsec
venv="$target/sign-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# model-signing 1.1.1 imports OpenSSL (pyOpenSSL) without declaring it.
PIP_ROOT_USER_ACTION=ignore "$venv/bin/pip" install --quiet --disable-pip-version-check \
  "model-signing==1.1.1" "pyopenssl==25.3.0" >&2
"$venv/bin/python" scripts/sign_interop.py "$target/debug/mlsec" "$venv/bin/model_signing"
