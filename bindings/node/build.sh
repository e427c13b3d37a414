#!/usr/bin/env bash
# Builds the N-API addon (build/rtms.node) against librtms with plain cc: no node-gyp, no npm.
#   RTMS_LIB   the librtms to link and ship next to the addon (default: the release library
#              scripts/build-lib.sh installed into <repo>/.ci-work/c-tests/prefix, else the
#              debug build .build/debug/libOpenRTMS.so)
#   CC         C compiler (default cc)
#   NODE_INCLUDE  directory of node_api.h (default: <node prefix>/include/node)
#   RTMS_NODE_BUILD_DIR  where to put rtms.node and the library (default: bindings/node/build;
#              emptied first): scripts/package.sh builds into a staged copy of the package
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
lib="${RTMS_LIB:-}"
if [ -z "$lib" ]; then
  for c in "$root/.ci-work/c-tests/prefix/lib/librtms.so" "$root/.build/debug/libOpenRTMS.so"; do
    [ -f "$c" ] && { lib="$c"; break; }
  done
fi
[ -n "$lib" ] && [ -f "$lib" ] || { echo "build.sh: no librtms (set RTMS_LIB)" >&2; exit 1; }
inc="${NODE_INCLUDE:-$(dirname "$(dirname "$(command -v node)")")/include/node}"
[ -f "$inc/node_api.h" ] || inc=/usr/include/node
[ -f "$inc/node_api.h" ] || { echo "build.sh: node_api.h not found (set NODE_INCLUDE)" >&2; exit 1; }
out="${RTMS_NODE_BUILD_DIR:-$here/build}"
rm -rf "$out"
mkdir -p "$out"
# The addon loads the library by its soname from its own directory.
soname=$(objdump -p "$lib" 2>/dev/null | awk '/SONAME/ { print $2 }')
soname=${soname:-$(basename "$lib")}
cp -f "$lib" "$out/$soname"
"${CC:-cc}" -shared -fPIC -O2 -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -I"$inc" -I"$root/include" \
  "$here/src/addon.c" "$out/$soname" -Wl,-rpath,'$ORIGIN' -o "$out/rtms.node"
echo "build.sh: $out/rtms.node (library $soname)"
