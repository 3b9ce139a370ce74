#!/usr/bin/env bash
# Fuzzing smoke run: builds every libFuzzer target of fuzz/ and runs each for a bounded time
# (MISALIGN_FUZZ_SECONDS, default 30) from a temporary copy of its seeds, so nothing is written
# into the repository. Any crash, panic, sanitizer report, leak or hang fails the step and
# prints the input (base64) and the command that reproduces it. Needs a nightly toolchain
# (libFuzzer's instrumentation); without one it prints a notice and skips. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds="${MISALIGN_FUZZ_SECONDS:-30}"
# A fixed seed makes the smoke run reproducible (the same inputs on every CI run); exploration
# with random seeds is the long runs' job (fuzz/README.md). MISALIGN_FUZZ_SEED=0 picks one.
seed="${MISALIGN_FUZZ_SEED:-1}"
# Pinned: a cargo-fuzz release may change its flags or its output layout.
cargo_fuzz_version=0.13.2

echo "-- the fuzz crate is formatted (it is outside the workspace, so 'cargo fmt --all' skips it)"
cargo fmt --manifest-path fuzz/Cargo.toml --check

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "NOTICE: no nightly toolchain ('cargo +nightly' fails): the fuzz targets were NOT built or run."
  echo "NOTICE: 'rustup toolchain install nightly' enables this step."
  exit 0
fi
if [ "$(cargo +nightly fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
  cargo +nightly install cargo-fuzz --version "$cargo_fuzz_version" --locked --force
fi

work="$(mktemp -d)"
failed=()
cleanup() {
  # Keep the corpora and artifacts of a failed run for inspection.
  if [ ${#failed[@]} -eq 0 ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT
# The readers that take a path get their inputs here (see fuzz/src/lib.rs), not in /dev/shm.
export MISALIGN_FUZZ_TMP="$work/scratch"
mkdir -p "$MISALIGN_FUZZ_TMP"

echo "-- build (nightly, AddressSanitizer, debug assertions on)"
start=$(date +%s)
cargo +nightly fuzz build --fuzz-dir fuzz
echo "built in $(( $(date +%s) - start )) s"

targets=$(cargo +nightly fuzz list --fuzz-dir fuzz)
for t in $targets; do
  echo "-- $t: ${seconds} s"
  corpus="$work/corpus/$t"
  artifacts="$work/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  cp -R "fuzz/seeds/$t/." "$corpus/"
  if ! cargo +nightly fuzz run --fuzz-dir fuzz "$t" "$corpus" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=60 -seed="$seed" \
      -artifact_prefix="$artifacts" -print_final_stats=1 >"$work/$t.log" 2>&1; then
    failed+=("$t")
    tail -n 60 "$work/$t.log"
    for a in "$artifacts"*; do
      [ -f "$a" ] || continue
      echo "FAIL: $t: input $a (base64 below); reproduce with:"
      echo "  cargo +nightly fuzz run --fuzz-dir fuzz $t <file>"
      base64 -w 100 "$a" | head -c 20000
      echo
    done
  else
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+.*DONE' \
      "$work/$t.log" | tr '\n' ' '
    echo
  fi
done
echo "total $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAIL: fuzz targets with findings: ${failed[*]} (fuzz/README.md: how to turn one into a regression test)"
  exit 1
fi
