#!/usr/bin/env bash
# build-lib.sh [PREFIX]: builds the C library (SwiftPM product OpenRTMS) as a self-contained
# librtms.so and installs it with its headers, CMake package and pkg-config file into PREFIX
# (default: <repo>/dist).
#
#   PREFIX/lib/librtms.so
#   PREFIX/include/{rtms_common.h,rtms_csdk.h,openrtms.h}
#   PREFIX/lib/cmake/OpenRTMS/{OpenRTMSConfig.cmake,OpenRTMSConfigVersion.cmake}
#   PREFIX/lib/pkgconfig/openrtms.pc
#
# Release build, Swift runtime linked statically (-static-stdlib), only rtms_* exported
# (exports.map), soname librtms.so. The script fails if the result exports anything else or
# needs a Swift runtime library at load time.
#
# Environment:
#   SWIFT        swift driver to use (default: swift from PATH)
#   SCRATCH      SwiftPM scratch path (default: <repo>/.build-release)
#   STRIP_LIB=1  install a stripped librtms.so (default: unstripped, keeps symbols for backtraces)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
prefix="${1:-$root/dist}"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
swift="${SWIFT:-swift}"
scratch="${SCRATCH:-$root/.build-release}"
map="$root/exports.map"

die() { echo "build-lib.sh: ERROR: $*" >&2; exit 1; }

command -v "$swift" >/dev/null 2>&1 || die "swift not found (put the toolchain on PATH or set SWIFT)"
for tool in nm readelf; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install binutils)"
done
[ -f "$map" ] || die "missing $map"

# The version comes from the public header, the single place it is written down.
version="$(sed -n 's/^#define OPENRTMS_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/openrtms.h")"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read OPENRTMS_VERSION_STRING from include/openrtms.h"

build_args=(
    -c release
    --package-path "$root"
    --scratch-path "$scratch"
    --product OpenRTMS
    -Xswiftc -static-stdlib
    -Xlinker "--version-script=$map"
    -Xlinker -soname -Xlinker librtms.so
)

echo "build-lib.sh: building OpenRTMS $version (release, static stdlib) in $scratch"
start=$(date +%s.%N)
"$swift" build "${build_args[@]}"
end=$(date +%s.%N)
echo "build-lib.sh: swift build took $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"

bindir="$("$swift" build "${build_args[@]}" --show-bin-path)"
built="$bindir/libOpenRTMS.so"
[ -f "$built" ] || die "expected $built after the build"

# ---- checks on the built library -------------------------------------------------------------
fail=0
check() { echo "build-lib.sh: check: $*"; }

soname="$(readelf -d "$built" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
if [ "$soname" != "librtms.so" ]; then
    echo "build-lib.sh: FAIL: SONAME is '$soname', expected librtms.so" >&2; fail=1
else
    check "SONAME librtms.so"
fi

exports="$(nm -D --defined-only "$built" | awk 'NF >= 3 { print $3 }' | sort -u)"
foreign="$(printf '%s\n' "$exports" | grep -v '^rtms_' | grep -v '^$' || true)"
if [ -n "$foreign" ]; then
    echo "build-lib.sh: FAIL: exported symbols not starting with rtms_ ($(printf '%s\n' "$foreign" | wc -l)):" >&2
    printf '%s\n' "$foreign" | head -n 40 >&2
    fail=1
fi
nexports="$(printf '%s\n' "$exports" | grep -c '^rtms_' || true)"

needed="$(readelf -d "$built" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
bad_needed="$(printf '%s\n' "$needed" | grep -E '^(libswift|libFoundation|libdispatch|libBlocksRuntime)' || true)"
if [ -n "$bad_needed" ]; then
    echo "build-lib.sh: FAIL: the library needs Swift runtime libraries at load time:" >&2
    printf '  %s\n' $bad_needed >&2
    fail=1
else
    check "NEEDED: $(echo $needed)"
fi

# Every function declared in the public headers must be exported, and nothing else.
declared="$(cat "$root"/include/rtms_csdk.h "$root"/include/openrtms.h \
    | grep -oE '\brtms_[a-z0-9_]+[[:space:]]*\(' | sed 's/[[:space:]]*($//' | sort -u)"
missing="$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$exports"))"
extra="$(comm -13 <(printf '%s\n' "$declared") <(printf '%s\n' "$exports" | grep '^rtms_'))"
if [ -n "$missing" ]; then
    echo "build-lib.sh: FAIL: declared in the headers but not exported: $(echo $missing)" >&2; fail=1
fi
if [ -n "$extra" ]; then
    echo "build-lib.sh: FAIL: exported but not declared in the headers: $(echo $extra)" >&2; fail=1
fi
[ "$fail" = 0 ] || die "librtms.so failed its checks (see above); nothing installed"
check "$nexports exported symbols, all rtms_*, matching the headers"

# ---- install ---------------------------------------------------------------------------------
install -d "$prefix/lib" "$prefix/include" "$prefix/lib/cmake/OpenRTMS" "$prefix/lib/pkgconfig"
install -m 0755 "$built" "$prefix/lib/librtms.so"
if [ "${STRIP_LIB:-0}" = 1 ]; then
    strip --strip-unneeded "$prefix/lib/librtms.so"
fi
for h in rtms_common.h rtms_csdk.h openrtms.h; do
    install -m 0644 "$root/include/$h" "$prefix/include/$h"
done
install -m 0644 "$root/cmake/OpenRTMSConfig.cmake" "$prefix/lib/cmake/OpenRTMS/OpenRTMSConfig.cmake"
sed -e "s|@OPENRTMS_VERSION@|$version|g" "$root/cmake/OpenRTMSConfigVersion.cmake.in" \
    > "$prefix/lib/cmake/OpenRTMS/OpenRTMSConfigVersion.cmake"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@OPENRTMS_VERSION@|$version|g" "$root/cmake/openrtms.pc.in" \
    > "$prefix/lib/pkgconfig/openrtms.pc"

size="$(stat -c %s "$prefix/lib/librtms.so")"
echo "build-lib.sh: installed OpenRTMS $version into $prefix (librtms.so: $size bytes, $nexports exports)"
