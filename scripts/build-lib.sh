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
# Release build, Swift runtime linked statically (-static-stdlib), runtime exclusivity checks off
# (below), only rtms_* exported
# (exports.map), soname librtms.so. Before installing anything the script checks the result and
# fails if it exports a symbol not starting with rtms_, if the exports differ from the functions
# declared in include/*.h, if the soname is not librtms.so, or if it needs a Swift runtime
# library (libswift*, libFoundation*, libdispatch, libBlocksRuntime) at load time.
#
#   build-lib.sh --check FILE.so   only runs those checks on an existing library
#
# Environment:
#   SWIFT        swift driver to use (default: swift from PATH)
#   SCRATCH      SwiftPM scratch path (default: <repo>/.build-release)
#   STRIP_LIB=1  install a stripped librtms.so (default: unstripped, keeps symbols for backtraces)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
swift="${SWIFT:-swift}"
scratch="${SCRATCH:-$root/.build-release}"
map="$root/exports.map"

die() { echo "build-lib.sh: ERROR: $*" >&2; exit 1; }
note() { echo "build-lib.sh: $*"; }

for tool in nm readelf; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install binutils)"
done

# check_library FILE: the release checks; prints what it verified, returns 1 on any failure.
check_library() {
    local so="$1" fail=0 soname dynsyms exports nlocal foreign foreign_re needed bad_needed declared missing extra

    soname="$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
    if [ "$soname" != "librtms.so" ]; then
        echo "build-lib.sh: FAIL: SONAME is '$soname', expected librtms.so" >&2; fail=1
    else
        note "check: SONAME librtms.so"
    fi

    # Exported = defined dynamic symbols with global binding: nm prints their type letter in upper
    # case (T, D, B, R, W, V, ...) or as 'u' (GNU unique). Lower-case letters are LOCAL entries:
    # symbols exports.map made local that GNU ld still lists in .dynsym because a dynamic
    # relocation names them (Swift's protected-visibility metadata). The dynamic loader never
    # binds other objects to local entries, so they are not exported; they are only counted.
    dynsyms="$(nm -D --defined-only "$so")"
    exports="$(printf '%s\n' "$dynsyms" | awk 'NF >= 3 && ($2 ~ /^[A-Z]$/ || $2 == "u") { print $3 }' | sort -u)"
    nlocal="$(printf '%s\n' "$dynsyms" | awk 'NF >= 3 && $2 ~ /^[a-z]$/ && $2 != "u"' | wc -l)"
    foreign="$(printf '%s\n' "$exports" | grep -v '^rtms_' | grep -v '^$' || true)"
    if [ -n "$foreign" ]; then
        echo "build-lib.sh: FAIL: exported symbols not starting with rtms_ ($(printf '%s\n' "$foreign" | wc -l)):" >&2
        printf '  %s\n' $foreign | head -n 40 >&2
        fail=1
    fi
    # The same with readelf's binding column, independent of nm's letters.
    foreign_re="$(readelf --dyn-syms -W "$so" \
        | awk '$5 != "LOCAL" && $7 != "UND" && $7 != "Ndx" && NF >= 8 { print $8 }' | sed 's/@.*//' | grep -v '^rtms_' || true)"
    if [ -n "$foreign_re" ]; then
        echo "build-lib.sh: FAIL: readelf lists global dynamic symbols not starting with rtms_:" >&2
        printf '  %s\n' $foreign_re | head -n 40 >&2
        fail=1
    fi

    needed="$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
    bad_needed="$(printf '%s\n' "$needed" | grep -E '^(libswift|libFoundation|libdispatch|libBlocksRuntime)' || true)"
    if [ -n "$bad_needed" ]; then
        echo "build-lib.sh: FAIL: the library needs Swift runtime libraries at load time (build with -static-stdlib):" >&2
        printf '  %s\n' $bad_needed >&2
        fail=1
    else
        note "check: NEEDED: $(echo $needed)"
    fi

    # Every function declared in the public headers must be exported, and nothing else. A
    # declaration starts in column 0 with its return type (comments, macros and the indented
    # callback members do not); its name is the identifier before the first parenthesis.
    declared="$(cat "$root"/include/rtms_common.h "$root"/include/rtms_csdk.h "$root"/include/openrtms.h \
        | grep -E '^[A-Za-z_][^(]*[^A-Za-z0-9_]rtms_[a-z0-9_]+[[:space:]]*\(' \
        | sed -E 's/^[^(]*[^A-Za-z0-9_](rtms_[a-z0-9_]+)[[:space:]]*\(.*/\1/' | sort -u)"
    if [ -z "$declared" ]; then
        echo "build-lib.sh: FAIL: found no function declarations in include/*.h" >&2; fail=1
    fi
    missing="$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$exports"))"
    extra="$(comm -13 <(printf '%s\n' "$declared") <(printf '%s\n' "$exports" | grep '^rtms_' || true))"
    if [ -n "$missing" ]; then
        echo "build-lib.sh: FAIL: declared in the headers but not exported: $(echo $missing)" >&2; fail=1
    fi
    if [ -n "$extra" ]; then
        echo "build-lib.sh: FAIL: exported but not declared in the headers: $(echo $extra)" >&2; fail=1
    fi

    [ "$fail" = 0 ] || return 1
    nexports="$(printf '%s\n' "$exports" | grep -c '^rtms_' || true)"
    note "check: $nexports exported symbols, all rtms_*, matching the headers ($nlocal local .dynsym entries, not exported)"
}

if [ "${1:-}" = "--check" ]; then
    [ -f "${2:-}" ] || die "usage: build-lib.sh --check FILE.so"
    check_library "$2" || die "$2 failed its checks (see above)"
    exit 0
fi

prefix="${1:-$root/dist}"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"

command -v "$swift" >/dev/null 2>&1 || die "swift not found (put the toolchain on PATH or set SWIFT)"
[ -f "$map" ] || die "missing $map"

# The version comes from the public header, the single place it is written down.
version="$(sed -n 's/^#define OPENRTMS_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/openrtms.h")"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read OPENRTMS_VERSION_STRING from include/openrtms.h"

# -enforce-exclusivity=unchecked: the runtime's exclusive-access checks (swift_beginAccess on
# class properties and globals) are left out of the shipped library, ours and the dependencies'
# (-Xswiftc reaches every Swift module it builds); the compile-time checks stay. The Swift test
# suite runs debug builds, which keep the runtime checks: an overlapping access on a tested path
# traps there; on an untested one the shipped library would not trap. Measured with callgrind on
# the one-stream blast (bench/run.py's instructions workload): about 2,600 fewer instructions a
# message, 13 %.
build_args=(
    -c release
    --package-path "$root"
    --scratch-path "$scratch"
    --product OpenRTMS
    -Xswiftc -static-stdlib
    -Xswiftc -enforce-exclusivity=unchecked
    -Xlinker "--version-script=$map"
    -Xlinker -soname -Xlinker librtms.so
)

note "building OpenRTMS $version (release, static stdlib) in $scratch"
start=$(date +%s.%N)
"$swift" build "${build_args[@]}"
note "swift build took $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

bindir="$("$swift" build "${build_args[@]}" --show-bin-path)"
built="$bindir/libOpenRTMS.so"
[ -f "$built" ] || die "expected $built after the build"

check_library "$built" || die "the built library failed its checks (see above); nothing installed"

# ---- install ---------------------------------------------------------------------------------
install -d "$prefix/lib" "$prefix/include" "$prefix/lib/cmake/OpenRTMS" "$prefix/lib/pkgconfig"
install -m 0755 "$built" "$prefix/lib/librtms.so"
if [ "${STRIP_LIB:-0}" = 1 ]; then
    strip --strip-unneeded "$prefix/lib/librtms.so"
    check_library "$prefix/lib/librtms.so" >/dev/null || die "the stripped library failed its checks"
fi
for h in rtms_common.h rtms_csdk.h openrtms.h; do
    install -m 0644 "$root/include/$h" "$prefix/include/$h"
done
install -m 0644 "$root/cmake/OpenRTMSConfig.cmake" "$prefix/lib/cmake/OpenRTMS/OpenRTMSConfig.cmake"
sed -e "s|@OPENRTMS_VERSION@|$version|g" "$root/cmake/OpenRTMSConfigVersion.cmake.in" \
    > "$prefix/lib/cmake/OpenRTMS/OpenRTMSConfigVersion.cmake"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@OPENRTMS_VERSION@|$version|g" "$root/cmake/openrtms.pc.in" \
    > "$prefix/lib/pkgconfig/openrtms.pc"

note "installed OpenRTMS $version into $prefix (librtms.so: $(stat -c %s "$prefix/lib/librtms.so") bytes, $nexports exports)"
