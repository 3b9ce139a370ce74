#!/usr/bin/env bash
# The C ABI: header freshness, C test + example (-Werror, valgrind), C++ wrapper test + example
# through the installed CMake package, the C example through pkg-config, exported symbols.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
target="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TARGET_DIR="$target"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "-- tools"
# Pinned: a cbindgen point release may reorder or reformat the header and fail the freshness check.
cbindgen_version=0.29.4
if [ "$(cbindgen --version 2>/dev/null)" != "cbindgen $cbindgen_version" ]; then
  cargo install cbindgen --version "$cbindgen_version" --locked --force
fi
missing=()
for tool in cmake pkg-config valgrind c++; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq cmake pkg-config valgrind g++ >/dev/null
fi

echo "-- the committed header is what cbindgen generates"
cbindgen --quiet --config cbindgen.toml --output "$work/misalign.h" src/ffi/mod.rs
if ! diff -u include/misalign.h "$work/misalign.h"; then
  echo "FAIL: include/misalign.h is stale; regenerate it with:"
  echo "  cbindgen --config cbindgen.toml --output include/misalign.h src/ffi/mod.rs"
  exit 1
fi

echo "-- the header alone is C99-clean and C++-includable"
printf '#include "misalign.h"\nint main(void) { return MISALIGN_STATUS_OK; }\n' > "$work/h.c"
cc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -fsyntax-only "$work/h.c"
cp "$work/h.c" "$work/h.cpp"
c++ -std=c++11 -Wall -Wextra -Werror -pedantic -Iinclude -fsyntax-only "$work/h.cpp"

echo "-- no panics or unwraps in the C ABI"
if git grep -n -E 'panic!\(|\.unwrap\(\)' src/ffi; then
  echo "FAIL: src/ffi must not panic or unwrap"; exit 1
fi

echo "-- release library (static + shared), the C ABI build: std without the simulator"
cargo build --release --lib --no-default-features --features std

echo "-- the simulator is not in the library C and C++ hosts link"
# Demangled (legacy and v0 manglings) and raw legacy names: any misalign::sim item means the
# feature leaked into the C ABI build.
lib="$target/release/libmisalign.a"
leaked=$({ nm -C "$lib"; nm "$lib"; } 2>/dev/null | grep -E 'misalign::sim::|8misalign3sim' || true)
if [ -n "$leaked" ]; then
  echo "FAIL: $lib contains misalign::sim symbols:"
  printf '%s\n' "$leaked" | sed -n 1,5p
  exit 1
fi

echo "-- every function in the header is exported, and nothing else named misalign_"
grep -oE '\bmisalign_[a-z0-9_]+\(' include/misalign.h | tr -d '(' | sort -u > "$work/header.txt"
nm -g --defined-only "$target/release/libmisalign.a" 2>/dev/null | awk '$2 == "T" && $3 ~ /^misalign_/ {print $3}' \
  | sort -u > "$work/static.txt"
nm -D --defined-only "$target/release/libmisalign.so" | awk '$3 ~ /^misalign_/ {print $3}' \
  | sort -u > "$work/shared.txt"
diff -u "$work/header.txt" "$work/static.txt"
diff -u "$work/header.txt" "$work/shared.txt"
echo "$(wc -l < "$work/header.txt") functions: $(tr '\n' ' ' < "$work/header.txt")"

echo "-- C test and example (static library)"
make -C ffi/c BUILD="$work/c" test example
echo "-- C test under valgrind"
make -C ffi/c BUILD="$work/c" valgrind

echo "-- install into a temporary prefix"
tools/install.sh "$work/prefix" --no-build

echo "-- C++ test and example through find_package(misalign)"
cmake -S ffi/cpp -B "$work/cpp" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cpp" -j 2
ctest --test-dir "$work/cpp" --output-on-failure
"$work/cpp/misalign_test" "$root/tests/fixtures/keras-golden"

echo "-- C example through pkg-config (shared library)"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
pkg-config --exists --print-errors misalign
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -pedantic $(pkg-config --cflags misalign) ffi/c/example.c \
  $(pkg-config --libs misalign) -o "$work/example-pc"
LD_LIBRARY_PATH="$work/prefix/lib" "$work/example-pc" tests/fixtures/keras-golden/model.mlw
pkg-config --static --libs misalign | grep -q -- '-ldl' || { echo "FAIL: Libs.private"; exit 1; }
echo "C ABI checks passed"
