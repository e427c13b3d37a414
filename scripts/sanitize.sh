#!/usr/bin/env bash
# sanitize.sh [tsan|asan|all] [--quick]: the tests under sanitizers (issue 10, section 3).
#
#   tsan  The Swift tests under ThreadSanitizer:
#           swift build --build-tests --sanitize=thread --scratch-path .build-tsan
#           swift test --skip-build --sanitize=thread --scratch-path .build-tsan
#         --quick runs a filtered subset (client against the simulator, session state machines,
#         C ABI, webhook intake and routing, reconnection); the full run adds the codec, TLS,
#         proxy, scale, strictness, recording, backpressure and fleet tests and a shortened chaos
#         soak (RTMS_CHAOS_SECONDS, default 30 here instead of 90).
#   asan  The C ABI library (product OpenRTMS, debug) built with AddressSanitizer, and the C code
#         of the package (NIO's C shims, llhttp, BoringSSL, XKCP) also with UndefinedBehavior-
#         Sanitizer, into .build-asan, with rtms-sim from the same build. Against it: Tests/c's
#         errors.c and join_sim (compiled with the toolchain's clang, -fsanitize=address,undefined),
#         the Python binding's tests and the Node binding's tests (addon compiled the same way),
#         with the toolchain's ASan runtime LD_PRELOADed into python3 and node.
#         swiftc has no -sanitize=undefined on Linux ("unsupported option '-sanitize=undefined'
#         for target 'x86_64-unknown-linux-gnu'"), so Swift code gets ASan only; Swift's own
#         overflow, bounds and unwrap checks trap in debug builds anyway.
#         --quick runs one join_sim session instead of three.
#   all   both (the default).
#
# Every sanitizer writes its reports to files (log_path) under .build-{tsan,asan}/sanitizer-logs,
# so reports from child processes (rtms-sim, node's test workers, the fleet's rtms serve) are
# caught too. The script prints them; exit status 1 when any report was written, 3 when a build or
# test failed without one, 0 otherwise. The last lines say which part failed and how long each took.
#
# Environment:
#   SWIFT               swift driver (default: swift from PATH)
#   CLANG               C compiler for the C tests and the Node addon (default: the toolchain's
#                       clang next to swift, which matches the ASan runtime swiftc links)
#   RTMS_CHAOS_SECONDS  chaos soak length in the full tsan run (default 30)
#   DURATION            simulated meeting length for join_sim (default 12)
#   TSAN_SCRATCH, ASAN_SCRATCH   scratch paths (defaults .build-tsan, .build-asan)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

mode=all
quick=0
for arg in "$@"; do
    case "$arg" in
        tsan|asan|all) mode="$arg" ;;
        --quick) quick=1 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "sanitize.sh: unknown argument '$arg' (usage: sanitize.sh [tsan|asan|all] [--quick])" >&2; exit 2 ;;
    esac
done

swift="${SWIFT:-swift}"
swift_bin="$(dirname "$(readlink -f "$(command -v "$swift")")")"
clang="${CLANG:-$swift_bin/clang}"
rtdir="$swift_bin/../lib/swift/clang/lib/linux"
asan_rt="$(readlink -f "$rtdir/libclang_rt.asan-x86_64.so" 2>/dev/null || true)"
tsan_scratch="${TSAN_SCRATCH:-$root/.build-tsan}"
asan_scratch="${ASAN_SCRATCH:-$root/.build-asan}"
supp_dir="$root/Tests/sanitizers"
export RTMS_LOG_LEVEL="${RTMS_LOG_LEVEL:-error}"

summary=()
failures=0
reported=0   # parts with sanitizer reports
note() { printf '\n==> %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }'; }
result() { # PASS|FAIL TEXT
    summary+=("$1 $2")
    [ "$1" = PASS ] || failures=$((failures + 1))
}

# reports DIR: prints every sanitizer report written under DIR; returns 1 when there was one.
reports() {
    local dir="$1" files f n=0
    files=$(find "$dir" -maxdepth 1 -type f -size +0 2>/dev/null | sort)
    for f in $files; do
        if grep -Eq 'ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:|SUMMARY: (Address|Thread|UndefinedBehavior)Sanitizer' "$f"; then
            n=$((n + 1))
            printf '\n---- %s ----\n' "$f"
            head -n 200 "$f"
        else
            # Notes that are not reports (e.g. ASan's swapcontext warning): shown, not counted.
            printf '    (sanitizer note in %s: %s)\n' "$f" "$(head -c 300 "$f" | tr '\n' ' ')"
        fi
    done
    [ "$n" -eq 0 ] && return 0
    printf '\n%d file(s) with sanitizer reports in %s\n' "$n" "$dir"
    return 1
}

# ---------------------------------------------------------------------------------------------
# ThreadSanitizer: the Swift tests
# ---------------------------------------------------------------------------------------------
run_tsan() {
    local logs="$tsan_scratch/sanitizer-logs" t0 t1 status filters=()
    note "tsan: swift build --build-tests --sanitize=thread --scratch-path $tsan_scratch"
    t0=$(now)
    if ! "$swift" build --build-tests --sanitize=thread --scratch-path "$tsan_scratch"; then
        result FAIL "tsan build ($(since "$t0") s)"
        return
    fi
    result PASS "tsan build ($(since "$t0") s)"

    rm -rf "$logs"; mkdir -p "$logs"
    # halt_on_error=0: collect every race of the run (exit code 66 at exit when any was found);
    # the report files are the verdict. Suppressions only for third-party false positives; see
    # the file for why each one is there.
    local opts="halt_on_error=0:history_size=4:second_deadlock_stack=1:log_path=$logs/tsan"
    [ -s "$supp_dir/tsan.supp" ] && opts="$opts:suppressions=$supp_dir/tsan.supp"

    if [ "$quick" = 1 ]; then
        # The client, session, C ABI and webhook code: everything that runs on more than one thread
        # of the core, minus the long-running and resource-hungry suites.
        filters=(--filter 'RTMSSessionTests|RTMSCABITests|ClientSimulatorTests|FailureTests|ReconnectIntegrationTests|ReleaseClosesEverythingTests|WebhookIntakeDecisionTests|WebhookServerTests|WebhookRoutingTests|WebhookTests|LogLimiterTests|PhaseOrderTests')
    fi
    note "tsan: swift test --skip-build --sanitize=thread ${filters[*]:-}"
    t1=$(now)
    TSAN_OPTIONS="$opts${TSAN_OPTIONS:+:$TSAN_OPTIONS}" RTMS_CHAOS_SECONDS="${RTMS_CHAOS_SECONDS:-30}" \
        "$swift" test --skip-build --sanitize=thread --scratch-path "$tsan_scratch" ${filters[@]+"${filters[@]}"} \
        2>&1 | tee "$tsan_scratch/swift-test.log" | grep -E '^(✘|✔ Test run|Test Suite .* (passed|failed)|Executed|error|.*ThreadSanitizer)' 
    status=${PIPESTATUS[0]}
    local secs; secs=$(since "$t1")
    if ! reports "$logs"; then
        reported=1
        result FAIL "tsan swift test: ThreadSanitizer reports (${secs} s, logs $logs)"
    elif [ "$status" -ne 0 ]; then
        grep -E '✘|error:' "$tsan_scratch/swift-test.log" | head -n 40
        result FAIL "tsan swift test: exit $status, no sanitizer report (${secs} s, log $tsan_scratch/swift-test.log)"
    else
        result PASS "tsan swift test$( [ "$quick" = 1 ] && echo ' (quick)') (${secs} s)"
    fi
}

# ---------------------------------------------------------------------------------------------
# AddressSanitizer (+ UBSan for C): the C ABI from C, Python and Node
# ---------------------------------------------------------------------------------------------
run_asan() {
    local logs="$asan_scratch/sanitizer-logs" work="$asan_scratch/work" t0 bin lib status
    [ -n "$asan_rt" ] && [ -f "$asan_rt" ] || { result FAIL "asan: no libclang_rt.asan-x86_64.so in $rtdir"; return; }
    [ -x "$clang" ] || { result FAIL "asan: no clang at $clang (set CLANG)"; return; }

    local build_args=(--sanitize=address -Xcc -fsanitize=undefined --scratch-path "$asan_scratch")
    note "asan: swift build --product OpenRTMS and rtms-sim ${build_args[*]}"
    t0=$(now)
    # Same exports and soname as the shipping library (scripts/build-lib.sh), but a debug build
    # with the toolchain's shared runtime: -static-stdlib does not combine with the sanitizer.
    if ! "$swift" build --product OpenRTMS "${build_args[@]}" \
            -Xlinker "--version-script=$root/exports.map" -Xlinker -soname -Xlinker librtms.so ||
       ! "$swift" build --product rtms-sim "${build_args[@]}"; then
        result FAIL "asan build ($(since "$t0") s)"
        return
    fi
    bin="$("$swift" build "${build_args[@]}" --show-bin-path)"
    result PASS "asan build ($(since "$t0") s)"

    rm -rf "$logs" "$work"; mkdir -p "$logs" "$work/lib"
    cp -f "$bin/libOpenRTMS.so" "$work/lib/librtms.so"
    lib="$work/lib/librtms.so"
    # rtms-sim is a sanitized executable with its own (static) runtime: it must not get the
    # preloaded shared one (ASan refuses two runtimes in a process).
    cat > "$work/rtms-sim" <<EOF
#!/bin/sh
exec env -u LD_PRELOAD "$bin/rtms-sim" "\$@"
EOF
    chmod +x "$work/rtms-sim"
    local sim="$work/rtms-sim"

    # detect_leaks=0 for python3 and node: the interpreters' own allocations at exit are not ours
    # (and LSan cannot tell them apart). The C programs run with leak detection on.
    local common="log_path=$logs/asan:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=0:check_initialization_order=1"
    # One log_path for both: in the combined ASan+UBSan runtime the flags share one log_path.
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:log_path=$logs/asan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    local sanflags=(-fsanitize=address,undefined -shared-libasan -fno-omit-frame-pointer -g -O1)
    local cflags=(-std=c11 -Wall -Wextra -pedantic -Werror -I"$root/include")

    # ---- C: errors.c and join_sim ------------------------------------------------------------
    note "asan: Tests/c errors.c and join_sim (clang ${sanflags[*]})"
    t0=$(now)
    local cok=1
    "$clang" "${cflags[@]}" "${sanflags[@]}" "$root/Tests/c/errors.c" -L"$work/lib" -lrtms \
        -Wl,-rpath,"$work/lib" -Wl,-rpath,"$rtdir" -o "$work/errors" &&
    "$clang" "${cflags[@]}" "${sanflags[@]}" "$root/Tests/c/join_sim.c" -L"$work/lib" -lrtms \
        -Wl,-rpath,"$work/lib" -Wl,-rpath,"$rtdir" -o "$work/join_sim" || cok=0
    if [ "$cok" = 1 ]; then
        ASAN_OPTIONS="$common:detect_leaks=1" "$work/errors" > "$work/errors.log" 2>&1 ||
            { cok=0; tail -n 20 "$work/errors.log"; echo "errors: exit status non-zero (log $work/errors.log)"; }
        local cases=("one" "two" "reject") dur="${DURATION:-12}"
        [ "$quick" = 1 ] && cases=("one")
        local c meetings args
        for c in "${cases[@]}"; do
            case "$c" in
                one) meetings=1; args=(--client-id cid --client-secret csecret --timeout $((dur + 60))) ;;
                two) meetings=2; args=(--client-id cid --client-secret csecret --timeout $((2 * dur + 90)) --sessions 2) ;;
                reject) meetings=1; args=(--client-id cid --client-secret not-the-secret --timeout 40 --expect-reject 3) ;;
            esac
            "$sim" --host 127.0.0.1 --port 0 --no-tls --print-started --exit-when-done --meetings "$meetings" \
                --duration "$dur" --seed 7 --client-id cid --client-secret csecret \
                > "$work/started-$c.jsonl" 2> "$work/sim-$c.log" &
            local simpid=$! i
            for i in $(seq 1 300); do
                [ "$(cat "$work/started-$c.jsonl" 2>/dev/null | grep -c .)" -ge "$meetings" ] && break
                kill -0 "$simpid" 2>/dev/null || break
                sleep 0.1
            done
            if [ "$c" = two ]; then
                ASAN_OPTIONS="$common:detect_leaks=1" timeout 300 "$work/join_sim" "${args[@]}" \
                    < "$work/started-$c.jsonl" > "$work/join_sim-$c.log" 2>&1
            else
                ASAN_OPTIONS="$common:detect_leaks=1" timeout 300 "$work/join_sim" "${args[@]}" \
                    "$(head -n 1 "$work/started-$c.jsonl")" > "$work/join_sim-$c.log" 2>&1
            fi
            status=$?
            kill "$simpid" 2>/dev/null; wait "$simpid" 2>/dev/null
            if [ "$status" -ne 0 ]; then
                cok=0; tail -n 20 "$work/join_sim-$c.log"
                echo "join_sim ($c): exit $status (log $work/join_sim-$c.log)"
            fi
        done
    fi
    if [ "$cok" = 1 ]; then result PASS "asan C: errors, join_sim x${#cases[@]} ($(since "$t0") s)"
    else result FAIL "asan C: errors/join_sim failed ($(since "$t0") s, logs $work)"; fi

    # ---- Python ------------------------------------------------------------------------------
    note "asan: Python binding tests (LD_PRELOAD=$asan_rt)"
    t0=$(now)
    if LD_PRELOAD="$asan_rt" ASAN_OPTIONS="$common:detect_leaks=0" PYTHONDONTWRITEBYTECODE=1 \
        RTMS_LIBRARY="$lib" RTMS_SIM="$sim" PYTHONPATH="$root/bindings/python" \
        python3 -m unittest discover -s "$root/bindings/python/tests" > "$work/python.log" 2>&1; then
        result PASS "asan Python: $(grep -E '^Ran ' "$work/python.log") ($(since "$t0") s)"
    else
        tail -n 30 "$work/python.log"
        result FAIL "asan Python tests ($(since "$t0") s, log $work/python.log)"
    fi

    # ---- Node --------------------------------------------------------------------------------
    # A copy of bindings/node with its own build/ (the tests load ../build/rtms.node), so the
    # shared bindings/node/build is left alone; include/ is linked where the tests look for it.
    note "asan: Node binding tests (addon: clang ${sanflags[*]})"
    t0=$(now)
    local ntree="$work/tree" nok=1
    mkdir -p "$ntree/bindings"
    ln -sfn "$root/include" "$ntree/include"
    rm -rf "$ntree/bindings/node"
    cp -r "$root/bindings/node" "$ntree/bindings/node"
    rm -rf "$ntree/bindings/node/build" "$ntree/bindings/node/node_modules"
    mkdir -p "$ntree/bindings/node/build"
    cp -f "$lib" "$ntree/bindings/node/build/librtms.so"
    local inc; inc="$(dirname "$(dirname "$(command -v node)")")/include/node"
    [ -f "$inc/node_api.h" ] || inc=/usr/include/node
    "$clang" -shared -fPIC -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L "${sanflags[@]}" \
        -I"$inc" -I"$root/include" "$ntree/bindings/node/src/addon.c" "$ntree/bindings/node/build/librtms.so" \
        -Wl,-rpath,'$ORIGIN' -o "$ntree/bindings/node/build/rtms.node" || nok=0
    if [ "$nok" = 1 ] && LD_PRELOAD="$asan_rt" ASAN_OPTIONS="$common:detect_leaks=0" RTMS_SIM="$sim" \
        node --test "$ntree/bindings/node/test/" > "$work/node.log" 2>&1; then
        result PASS "asan Node: $(grep -E '^# (pass|fail) ' "$work/node.log" | tr '\n' ' ')($(since "$t0") s)"
    else
        grep -E '^not ok|^# (pass|fail)|Error|error' "$work/node.log" | head -n 30
        result FAIL "asan Node tests ($(since "$t0") s, log $work/node.log)"
    fi
    unset UBSAN_OPTIONS

    if ! reports "$logs"; then
        reported=1
        result FAIL "asan/ubsan: sanitizer reports (logs $logs)"
    else
        result PASS "asan/ubsan: no sanitizer report"
    fi
}

start=$(now)
case "$mode" in
    tsan) run_tsan ;;
    asan) run_asan ;;
    all) run_tsan; run_asan ;;
esac
printf '\n==> sanitize.sh %s%s: %s s\n' "$mode" "$( [ "$quick" = 1 ] && echo ' --quick')" "$(since "$start")"
printf '  %s\n' "${summary[@]}"
[ "$reported" -eq 0 ] || { echo "sanitize.sh: sanitizer reports (see above)"; exit 1; }
[ "$failures" -eq 0 ] || { echo "sanitize.sh: $failures part(s) failed without a sanitizer report (builds or tests)"; exit 3; }
echo "sanitize.sh: no sanitizer report, every test passed"
