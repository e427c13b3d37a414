#!/usr/bin/env bash
# Tests/c/run.sh: the C-side tests of OpenRTMS in one command.
#
#   1. checks the tools (cmake, pkg-config, gcc, g++, binutils, coreutils) and names the apt
#      packages to install when some are missing (it installs nothing itself);
#   2. builds and installs librtms.so with scripts/build-lib.sh into a scratch prefix;
#   3. builds rtms-sim (release, same scratch path and compile flags as the library);
#   4. header tests: openrtms.h and rtms_csdk.h alone, as C11 and C++17, with gcc/g++ and clang
#      if present, -Wall -Wextra -pedantic -Werror;
#   5. pkg-config: compiles and links headertest/version_check.c with
#      `pkg-config --cflags --libs openrtms` (C and C++) and runs it: compile-time constants
#      against the loaded library; the same for errors.c: every function's error path against
#      the header's return-value rules;
#   6. the CMake package: version policy and a relocated copy of the prefix;
#   7. builds join_sim with CMake (find_package(OpenRTMS)) and runs it against a fresh rtms-sim
#      per case on 127.0.0.1, plain ws:// (--no-tls): one session, two sequential sessions, a
#      rejected signature.
#
# Prints one PASS/FAIL line per check and exits non-zero when any failed.
#
# Environment:
#   WORK      scratch directory (default: <repo>/.ci-work/c-tests; emptied at the start)
#   SWIFT     swift driver (default: swift from PATH)
#   RTMS_SIM  use this rtms-sim binary instead of building one
#   CC, CXX   C and C++ compilers (default: gcc, g++)
#   DURATION  length of the simulated meeting in seconds (default: 12; at least 10)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${WORK:-$root/.ci-work/c-tests}"
swift="${SWIFT:-swift}"
cc="${CC:-gcc}"
cxx="${CXX:-g++}"
duration="${DURATION:-12}"
scratch="$root/.build-release"
prefix="$work/prefix"
logs="$work/logs"
client_id="c-test-client"
client_secret="c-test-secret-0123456789"
warn=(-Wall -Wextra -pedantic -Werror)

passed=0
failed=0
sim_pid=""   # the rtms-sim currently running (started by this script), for cleanup

case "$duration" in ''|*[!0-9]*) echo "run.sh: DURATION must be a whole number of seconds" >&2; exit 2 ;; esac
[ "$duration" -ge 10 ] || { echo "run.sh: DURATION must be at least 10 (video starts at 20%, sharing runs 40-60%)" >&2; exit 2; }

say() { printf '%s\n' "$*"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# record PASS|FAIL NAME [DETAIL]
record() {
    if [ "$1" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    say "$1 $2${3:+ ($3)}"
}

# logfile NAME [SUFFIX]: logs/<NAME with unsafe characters replaced><SUFFIX>.log
logfile() { printf '%s/%s%s.log' "$logs" "$(printf '%s' "$1" | tr -c 'A-Za-z0-9._+-' '_')" "${2:-}"; }

# count_lines FILE: number of non-empty lines (0 when the file is missing).
count_lines() { local n; n="$(grep -c . "$1" 2>/dev/null)"; printf '%s' "${n:-0}"; }

# step NAME COMMAND...: runs the command with its output in logs/NAME.log.
step() {
    local name="$1"; shift
    local log; log="$(logfile "$name")"
    local t0; t0=$(date +%s.%N)
    if "$@" >"$log" 2>&1; then
        record PASS "$name" "$(elapsed "$t0") s"
        return 0
    fi
    record FAIL "$name" "$(elapsed "$t0") s, log $log"
    tail -n 25 "$log" | sed 's/^/    | /'
    return 1
}

# step_refused NAME PATTERN COMMAND...: the command is expected to fail, with PATTERN (grep -E)
# in its output so that a failure for another reason does not count.
step_refused() {
    local name="$1" pattern="$2"; shift 2
    local log; log="$(logfile "$name")"
    if "$@" >"$log" 2>&1; then
        record FAIL "$name" "succeeded but should have been refused, log $log"
        return 1
    fi
    if ! grep -Eq "$pattern" "$log"; then
        record FAIL "$name" "failed, but not with /$pattern/, log $log"
        tail -n 15 "$log" | sed 's/^/    | /'
        return 1
    fi
    record PASS "$name"
}

stop_sim() {
    if [ -n "$sim_pid" ]; then
        kill "$sim_pid" 2>/dev/null
        wait "$sim_pid" 2>/dev/null
        sim_pid=""
    fi
}
cleanup() { stop_sim; }
trap cleanup EXIT
trap 'exit 130' INT TERM

finish() {
    say "----"
    if [ "$failed" -eq 0 ]; then
        say "PASS Tests/c: $passed checks passed"
        exit 0
    fi
    say "FAIL Tests/c: $failed of $((passed + failed)) checks failed (logs in $logs)"
    exit 1
}

# ---- 1. tools ----------------------------------------------------------------------------------
missing_pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || missing_pkgs+=("$2"); }
need cmake cmake
need pkg-config pkg-config
need "$cc" gcc
need "$cxx" g++
need nm binutils
need readelf binutils
need timeout coreutils
if [ "${#missing_pkgs[@]}" -gt 0 ]; then
    pkgs="$(printf '%s\n' "${missing_pkgs[@]}" | sort -u | tr '\n' ' ')"
    record FAIL "tools" "missing; install with: apt-get install -y ${pkgs% }"
    finish
fi
if ! command -v "$swift" >/dev/null 2>&1; then
    record FAIL "tools" "swift not found: put the Swift toolchain on PATH or set SWIFT"
    finish
fi
record PASS "tools" "cmake $(cmake --version | awk 'NR==1 { print $3 }'), pkg-config $(pkg-config --version), $("$cc" -dumpfullversion 2>/dev/null || "$cc" -dumpversion)"

rm -rf "$work"
mkdir -p "$work" "$logs"

# ---- 2. the library ----------------------------------------------------------------------------
if ! step "build-lib.sh (release, static stdlib) into prefix" env SWIFT="$swift" SCRATCH="$scratch" "$root/scripts/build-lib.sh" "$prefix"; then
    finish
fi
grep '^build-lib.sh: \(check\|installed\|swift build took\)' "$logs"/build-lib.sh*.log | sed 's/^/    /'
for f in lib/librtms.so include/rtms_common.h include/rtms_csdk.h include/openrtms.h \
         lib/cmake/OpenRTMS/OpenRTMSConfig.cmake lib/cmake/OpenRTMS/OpenRTMSConfigVersion.cmake lib/pkgconfig/openrtms.pc; do
    [ -f "$prefix/$f" ] || { record FAIL "installed files" "missing $f"; finish; }
done
record PASS "installed files" "lib, include, cmake, pkgconfig"
version="$(sed -n 's/^#define OPENRTMS_VERSION_STRING "\(.*\)"$/\1/p' "$prefix/include/openrtms.h")"

# ---- 3. the simulator --------------------------------------------------------------------------
if [ -n "${RTMS_SIM:-}" ]; then
    sim="$RTMS_SIM"
    [ -x "$sim" ] && record PASS "rtms-sim" "given: $sim" || { record FAIL "rtms-sim" "RTMS_SIM=$sim is not executable"; finish; }
else
    sim_args=(-c release --package-path "$root" --scratch-path "$scratch" --product rtms-sim -Xswiftc -static-stdlib)
    step "build rtms-sim (release)" "$swift" build "${sim_args[@]}" || finish
    sim="$("$swift" build "${sim_args[@]}" --show-bin-path)/rtms-sim"
fi

# ---- 4. headers --------------------------------------------------------------------------------
compilers=("$cc:c:-std=c11" "$cxx:c++:-std=c++17")
command -v clang >/dev/null 2>&1 && compilers+=("clang:c:-std=c11")
command -v clang++ >/dev/null 2>&1 && compilers+=("clang++:c++:-std=c++17")
for entry in "${compilers[@]}"; do
    IFS=: read -r comp lang std <<<"$entry"
    for src in all_headers.c csdk_only.c; do
        step "header $src ($comp $std)" "$comp" -x "$lang" "$std" "${warn[@]}" -I"$prefix/include" \
            -c "$here/headertest/$src" -o "$work/$src.$comp.o"
    done
done

# ---- 5. pkg-config -----------------------------------------------------------------------------
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pc_version="$(pkg-config --modversion openrtms 2>/dev/null)"
if [ "$pc_version" = "$version" ]; then record PASS "pkg-config --modversion openrtms" "$pc_version"
else record FAIL "pkg-config --modversion openrtms" "got '$pc_version', header says '$version'"; fi
pc_flags=($(pkg-config --cflags --libs openrtms))
libdir="$(pkg-config --variable=libdir openrtms)"
say "    pkg-config --cflags --libs openrtms: ${pc_flags[*]}"
step "version_check.c via pkg-config ($cc -std=c11): build" \
    "$cc" -std=c11 "${warn[@]}" "$here/headertest/version_check.c" "${pc_flags[@]}" -Wl,-rpath,"$libdir" -o "$work/version_check_c" &&
    step "version_check (C): constants match the library" "$work/version_check_c"
step "version_check.c via pkg-config ($cxx -std=c++17): build" \
    "$cxx" -x c++ -std=c++17 "${warn[@]}" "$here/headertest/version_check.c" -x none "${pc_flags[@]}" -Wl,-rpath,"$libdir" -o "$work/version_check_cxx" &&
    step "version_check (C++): constants match the library" "$work/version_check_cxx"
step "errors.c via pkg-config ($cc -std=c11): build" \
    "$cc" -std=c11 "${warn[@]}" "$here/errors.c" "${pc_flags[@]}" -Wl,-rpath,"$libdir" -o "$work/errors_c" &&
    step "errors (C): every function's error path follows the header's return-value rules" "$work/errors_c"
step "errors.c via pkg-config ($cxx -std=c++17): build" \
    "$cxx" -x c++ -std=c++17 "${warn[@]}" "$here/errors.c" -x none "${pc_flags[@]}" -Wl,-rpath,"$libdir" -o "$work/errors_cxx" &&
    step "errors (C++): every function's error path follows the header's return-value rules" "$work/errors_cxx"

# ---- 6. the CMake package ----------------------------------------------------------------------
cmcheck() { # BUILD-DIR ARGS...
    local b="$1"; shift
    rm -rf "$b" && cmake -S "$here/cmakecheck" -B "$b" "$@"
}
step "cmake find_package(OpenRTMS)" cmcheck "$work/cm0" -DCMAKE_PREFIX_PATH="$prefix"
step "cmake find_package(OpenRTMS 0.1)" cmcheck "$work/cm1" -DCMAKE_PREFIX_PATH="$prefix" -DREQUEST=0.1
step "cmake find_package(OpenRTMS $version)" cmcheck "$work/cm2" -DCMAKE_PREFIX_PATH="$prefix" -DREQUEST="$version"
refusal="compatible with requested version"
step_refused "cmake find_package(OpenRTMS 1.0) refused (SameMajorVersion)" "$refusal" cmcheck "$work/cm3" -DCMAKE_PREFIX_PATH="$prefix" -DREQUEST=1.0
step_refused "cmake find_package(OpenRTMS 0.99) refused (newer than installed)" "$refusal" cmcheck "$work/cm4" -DCMAKE_PREFIX_PATH="$prefix" -DREQUEST=0.99
cp -a "$prefix" "$work/relocated"
step "cmake package relocatable (prefix copied elsewhere)" cmcheck "$work/cm5" \
    -DOpenRTMS_DIR="$work/relocated/lib/cmake/OpenRTMS" -DEXPECT_PREFIX="$work/relocated"

# ---- 7. join_sim -------------------------------------------------------------------------------
build="$work/build-c"
step "cmake configure Tests/c (find_package(OpenRTMS))" cmake -S "$here" -B "$build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release &&
    step "cmake build join_sim" cmake --build "$build" || finish
join_sim="$build/join_sim"

# sim_case NAME MEETINGS DURATION SIM-SECRET JOIN_SIM-ARGS... : a fresh rtms-sim, then join_sim.
# JOIN_SIM-ARGS may contain @LINE@ (replaced by the first rtms_started line); otherwise the lines
# go to join_sim's stdin.
sim_case() {
    local name="$1" meetings="$2" dur="$3" secret="$4"; shift 4
    local started simlog log
    started="$(logfile "$name" .started)"; started="${started%.log}.jsonl"
    simlog="$(logfile "$name" .rtms-sim)"
    log="$(logfile "$name" .join_sim)"
    local limit=$(( (dur + 25) * meetings + 30 ))
    local t0 i line args=() status

    t0=$(date +%s.%N)
    timeout "$limit" "$sim" --host 127.0.0.1 --port 0 --no-tls --print-started --exit-when-done \
        --meetings "$meetings" --duration "$dur" --seed 7 \
        --client-id "$client_id" --client-secret "$secret" >"$started" 2>"$simlog" &
    sim_pid=$!
    for i in $(seq 1 200); do
        [ "$(count_lines "$started")" -ge "$meetings" ] && break
        kill -0 "$sim_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ "$(count_lines "$started")" -lt "$meetings" ]; then
        record FAIL "$name" "rtms-sim printed no rtms_started line within 20 s, log $simlog"
        tail -n 10 "$simlog" | sed 's/^/    | /'
        stop_sim
        return 1
    fi
    line="$(head -n 1 "$started")"
    for a in "$@"; do args+=("${a//@LINE@/$line}"); done
    timeout "$limit" "$join_sim" "${args[@]}" <"$started" >"$log" 2>&1
    status=$?
    stop_sim
    grep -E '^join_sim: session [0-9]+: (PASS|FAIL)' "$log" | sed 's/^/    /'
    if [ "$status" -eq 0 ]; then
        record PASS "$name" "$(elapsed "$t0") s"
    else
        [ "$status" -eq 124 ] && say "    join_sim did not finish within $limit s (killed by timeout)"
        record FAIL "$name" "exit $status, log $log"
        grep -E 'FAILED|anomaly|no on_leave|rtms_' "$log" | head -n 20 | sed 's/^/    | /'
    fi
}

sim_case "join_sim: one session, NULL media parameters" 1 "$duration" "$client_secret" \
    --client-id "$client_id" --client-secret "$client_secret" --timeout $((duration + 30)) "@LINE@"
sim_case "join_sim: two sequential sessions (handle per session)" 2 10 "$client_secret" \
    --client-id "$client_id" --client-secret "$client_secret" --timeout 40 --sessions 2
sim_case "join_sim: wrong client secret is rejected (on_join_confirm 3)" 1 10 "$client_secret" \
    --client-id "$client_id" --client-secret "not-the-secret" --timeout 20 --expect-reject 3 "@LINE@"

finish
