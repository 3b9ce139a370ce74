#!/usr/bin/env bash
# Peer checks of the MRC reader/writer (mrcfile) and RELION STAR coordinates (starfile).
set -euo pipefail
cd "$(dirname "$0")/../.."
source .ci/python-env.sh mrcfile starfile numpy pandas
cargo build --bin misalign --example mrc_copy --example coords_convert
target="${CARGO_TARGET_DIR:-target}/debug"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PY" tools/mrc_peer.py "$target/misalign" "$target/examples/mrc_copy" "$work/mrc"
"$PY" tools/star_peer.py "$target/examples/coords_convert" "$work/star"
