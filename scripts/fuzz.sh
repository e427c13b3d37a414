#!/usr/bin/env bash
# Coverage-guided fuzzing of every decoder that takes bytes from the network (docs/fuzzing.md).
#
#   bash scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   bash scripts/fuzz.sh all SECONDS [libFuzzer options...]
#
# TARGET: json, base64, websocket, webhook (or all, each in turn for SECONDS). SECONDS = 0 only
# replays the seed corpus (every committed input once: the regression check).
#
# Builds Tests/fuzz (a separate package; `swift build` of the main package never sees it) with
# libFuzzer (`swiftc -sanitize=fuzzer`) into .build-fuzz, then runs the target from its committed
# seed corpus Tests/fuzz/corpus/<target>/ (read only). Inputs that find new coverage go to
# .build-fuzz/corpus/<target>/; crashes, broken invariants, timeouts and out-of-memory inputs go
# to $FUZZ_CRASH_DIR/<target>/ (default .build-fuzz/crashes). Exits non-zero when any target
# found one. FUZZ_SANITIZE=address adds AddressSanitizer (slower; catches out-of-bounds reads
# that -O does not check). FUZZ_CONFIG=debug builds without optimization (what CI's smoke uses: it
# builds faster and checks unsafe-buffer bounds). FUZZ_SCRATCH replaces .build-fuzz.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

all_targets=(json base64 websocket webhook)
usage() { echo "usage: bash scripts/fuzz.sh {$(IFS='|'; echo "${all_targets[*]}")|all} SECONDS [libFuzzer options...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
target=$1 seconds=$2
shift 2
[[ "$seconds" =~ ^[0-9]+$ ]] || usage
if [ "$target" = all ]; then targets=("${all_targets[@]}")
else
  case " ${all_targets[*]} " in *" $target "*) targets=("$target") ;; *) usage ;; esac
fi

pkg="$root/Tests/fuzz"
scratch=${FUZZ_SCRATCH:-$root/.build-fuzz}
config=${FUZZ_CONFIG:-release}
sanitizers="fuzzer${FUZZ_SANITIZE:+,$FUZZ_SANITIZE}"
crash_root=${FUZZ_CRASH_DIR:-$scratch/crashes}

# The main package's resolved versions, when it has them, so both build the same dependencies.
if [ -f "$root/Package.resolved" ] && [ ! -f "$pkg/Package.resolved" ]; then cp "$root/Package.resolved" "$pkg/Package.resolved"; fi

# A sanitizer changes every object file: its build gets its own scratch path inside .build-fuzz.
build_scratch=$scratch${FUZZ_SANITIZE:+/sanitize-$FUZZ_SANITIZE}
build_args=(--package-path "$pkg" --scratch-path "$build_scratch" -c "$config"
            -Xswiftc "-sanitize=$sanitizers" -Xswiftc -enable-testing)
if [ ${#targets[@]} -eq 1 ]; then build_args+=(--product "fuzz-${targets[0]}"); fi
t0=$(date +%s)
echo "==> fuzz: building ${targets[*]} ($config, -sanitize=$sanitizers) into ${build_scratch#$root/}"
mkdir -p "$scratch"
if ! swift build "${build_args[@]}" >"$scratch/build.log" 2>&1; then
  grep -vE '^\[[0-9]+/[0-9]+\] ' "$scratch/build.log" | tail -40 >&2
  echo "fuzz: build failed (log: $scratch/build.log)" >&2
  exit 1
fi
bin=$(swift build "${build_args[@]}" --show-bin-path)
echo "==> fuzz: built in $(( $(date +%s) - t0 ))s"

# Longest inputs worth trying per target (bytes).
max_len() {
  case $1 in
    json) echo 4096 ;; base64) echo 2048 ;; websocket) echo 4096 ;; webhook) echo 4096 ;;
  esac
}

failed=()
for t in "${targets[@]}"; do
  exe="$bin/fuzz-$t"
  seeds="$pkg/corpus/$t"
  work="$scratch/corpus/$t"
  crashes="$crash_root/$t"
  mkdir -p "$work" "$crashes"
  opts=(-max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$crashes/")
  [ -f "$pkg/dict/$t.dict" ] && opts+=(-dict="$pkg/dict/$t.dict")
  if [ "$seconds" = 0 ]; then opts+=(-runs=0); else opts+=(-max_total_time="$seconds"); fi
  log="$scratch/fuzz-$t.log"
  echo "==> fuzz-$t: ${seconds}s from $(ls "$seeds" | wc -l) seeds (+$(ls "$work" | wc -l) found before); log $log"
  before=$(ls "$crashes" | wc -l)
  rc=0
  # The Swift runtime's backtracer would take the fatal signal before libFuzzer's handler,
  # and the crashing input would not be saved: turn it off.
  SWIFT_BACKTRACE=enable=no "$exe" "${opts[@]}" "$@" "$work" "$seeds" >"$log" 2>&1 || rc=$?
  grep -E '^#[0-9]+ +DONE|^stat::number_of_executed_units|^stat::peak_rss_mb|INITED' "$log" | tail -4 | sed 's/^/    /'
  if [ $rc -ne 0 ]; then
    echo "fuzz-$t: FAILED (exit $rc); new in $crashes: $(( $(ls "$crashes" | wc -l) - before )) input(s)" >&2
    grep -E 'FUZZ INVARIANT|Fatal error|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -8 | sed 's/^/    /' >&2
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]} (reproduce: SWIFT_BACKTRACE=enable=no $bin/fuzz-TARGET CRASH_FILE)" >&2
  exit 1
fi
echo "==> fuzz: ${targets[*]}: no crashes"
