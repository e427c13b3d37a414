#!/usr/bin/env bash
# The project's formatting: Swift with swift-format (.swift-format), C with clang-format
# (.clang-format). The public headers in include/ are laid out by hand as documents (aligned
# comments and constants: what a reader of the C ABI sees) and are left alone (include/.clang-format).
#
#   bash scripts/format.sh            formats every tracked Swift and C file in place
#   bash scripts/format.sh --check    changes nothing; lists what is not formatted and exits 1
#
# swift-format comes with the Swift toolchain (`swift format`); clang-format from Debian's
# clang-format package (scripts/test.sh installs it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: bash scripts/format.sh [--check]" >&2; exit 2 ;;
esac
command -v clang-format >/dev/null 2>&1 || { echo "format: clang-format not found (apt-get install clang-format)" >&2; exit 1; }
mapfile -t swift_files < <(git ls-files '*.swift')
mapfile -t c_files < <(git ls-files '*.c' '*.h' | grep -v '^include/')
bad=0
if [ $check = 1 ]; then
  # lint --strict: a line the pretty-printer would change is an error (no rules are enabled).
  if ! out=$(swift format lint --strict --parallel "${swift_files[@]}" 2>&1); then
    echo "$out" | grep -oE '^[^:]+\.swift' | sort -u | sed 's/^/not formatted: /'
    bad=1
  fi
  for f in "${c_files[@]}"; do
    clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || { echo "not formatted: $f"; bad=1; }
  done
  if [ $bad = 1 ]; then echo "format: run 'bash scripts/format.sh' and commit the result" >&2; exit 1; fi
  echo "format: ${#swift_files[@]} Swift and ${#c_files[@]} C files formatted"
else
  swift format format --in-place --parallel "${swift_files[@]}"
  clang-format --style=file -i "${c_files[@]}"
fi
