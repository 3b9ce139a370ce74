#!/usr/bin/env bash
# Installs the misalign C/C++ library into a prefix:
#   <prefix>/lib/libmisalign.a, libmisalign.so
#   <prefix>/include/misalign.h (C), misalign.hpp (C++17 wrapper)
#   <prefix>/lib/cmake/misalign/misalignConfig.cmake, misalignConfigVersion.cmake
#   <prefix>/lib/pkgconfig/misalign.pc
#
# Usage: tools/install.sh <prefix> [--no-build]
#   Builds `cargo build --release --lib --no-default-features --features std` (the C ABI without
#   the simulator) first unless --no-build; the libraries are taken from
#   $CARGO_TARGET_DIR/release (default <repo>/target/release).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 1 ] || [ -z "$1" ]; then
  echo "usage: $0 <prefix> [--no-build]" >&2
  exit 2
fi
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
build=1
[ "${2:-}" = "--no-build" ] && build=0
target=${CARGO_TARGET_DIR:-$root/target}

if [ "$build" = 1 ]; then
  cargo build --release --lib --no-default-features --features std --manifest-path "$root/Cargo.toml"
fi
for f in libmisalign.a libmisalign.so; do
  [ -f "$target/release/$f" ] || { echo "missing $target/release/$f (build first)" >&2; exit 1; }
done

version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$root/Cargo.toml" | head -n 1)
sizeof_void_p=$(getconf LONG_BIT 2>/dev/null || echo 64)
sizeof_void_p=$((sizeof_void_p / 8))

install -d "$prefix/lib/cmake/misalign" "$prefix/lib/pkgconfig" "$prefix/include"
install -m 644 "$target/release/libmisalign.a" "$prefix/lib/"
install -m 755 "$target/release/libmisalign.so" "$prefix/lib/"
install -m 644 "$root/include/misalign.h" "$root/ffi/cpp/misalign.hpp" "$prefix/include/"
install -m 644 "$root/ffi/cmake/misalignConfig.cmake" "$prefix/lib/cmake/misalign/"
sed -e "s|@VERSION@|$version|g" -e "s|@SIZEOF_VOID_P@|$sizeof_void_p|g" \
  "$root/ffi/cmake/misalignConfigVersion.cmake.in" > "$prefix/lib/cmake/misalign/misalignConfigVersion.cmake"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" \
  "$root/ffi/misalign.pc.in" > "$prefix/lib/pkgconfig/misalign.pc"
echo "installed misalign $version into $prefix"
