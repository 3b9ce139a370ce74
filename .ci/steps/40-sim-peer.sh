#!/usr/bin/env bash
# Peer check of the simulator's output: MRC read back with mrcfile, beads dark at the truth.
set -euo pipefail
cd "$(dirname "$0")/../.."
source .ci/python-env.sh mrcfile numpy
cargo build --bin misalign
target="${CARGO_TARGET_DIR:-target}/debug"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PY" tools/sim_peer.py "$target/misalign" "$work"
