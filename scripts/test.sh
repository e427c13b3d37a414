#!/usr/bin/env bash
# The whole OpenRTMS test suite, on a fresh machine of this project's kind (Swift 6.3 on Linux).
#   1. Swift tests: codec, state machines, core against the simulator, C ABI contract, the fleet
#      on PostgreSQL (a rolling upgrade runs `rtms` of an earlier revision beside this one: built
#      from the repository's history by scripts/previous-rtms.sh, a few minutes the first time).
#   2. C: the shipping librtms.so (release, static stdlib, rtms_* exports only), header test,
#      pkg-config, a CMake find_package(OpenRTMS) program joining the simulator.
#   3. The Python binding: pip install into a fresh venv, its tests against the simulator, rtms.Fleet
#      against a throwaway PostgreSQL (two nodes in two processes, a takeover after SIGKILL).
#      Its types: mypy --strict on the package and a typed program, against the source and the
#      installed package (py.typed shipped), and on the examples' Python blocks.
#   4. The Node binding: the N-API addon built with cc, node --test against the simulator; then
#      cross-language parity (Tests/parity): the same session and webhooks through C, Python, Node;
#      every code block of examples/*.md run against the simulator (Tests/docs); the live view
#      (rtms record --live) in headless Chromium during a meeting with chaos (Tests/live); examples/swift
#      built and its bot run against the simulator (Tests/examples).
#   5. Zoom's official client (PyPI rtms==1.1.0) against the simulator.
#   5b. The packages (scripts/package.sh: the manylinux wheel and the npm tarball with the shipping
#      library inside), installed with no Swift on PATH (Python 3.9-3.13 venvs, an npm folder) and
#      joining the simulator (Tests/packaging/run.py); `pip install ./bindings/python` building
#      the library with Swift (quick: the release build of step 2 is reused).
#   6. A seconds-long smoke of the benchmarks (bench/run.py --smoke), official client included, and
#      the C client's allocations per message within their bounds (bench/allocs.py --smoke), and the
#      base64 decoders compared (bench/base64_bench.py --smoke: they agree, the instructions are counted).
# Installs what it needs: cmake, pkg-config, clang-format, valgrind, postgresql, libopus0 and chromium (apt-get), rtms==1.1.0 (a private venv),
# mypy (the binding's venv).
# RTMS_TEST_SKIP_OFFICIAL=1 skips steps 5 and 5b, the official client in step 6 and the pip installs of
# step 3 (they need PyPI; the type check then runs only if python3 has mypy).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export RTMS_LOG_LEVEL=${RTMS_LOG_LEVEL:-error}

step() { printf '\n==> %s\n' "$*"; }
need=()
for tool in cmake pkg-config clang-format valgrind; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
# The fleet tests (Tests/RTMSFleetTests) start their own PostgreSQL through scripts/pg-test.sh.
bash "$root/scripts/pg-test.sh" bindir >/dev/null 2>&1 || need+=(postgresql)
# The simulator encodes Opus audio with libopus, loaded at run time (silence without it).
python3 -c 'import ctypes; ctypes.CDLL("libopus.so.0")' >/dev/null 2>&1 || need+=(libopus0)
# The live view's test loads the page in a real browser (Tests/live/run.py).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]} (apt-get)"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

start=$(date +%s)
step "Formatting: swift-format and clang-format leave every tracked file as it is (scripts/format.sh --check)"
bash scripts/format.sh --check
step "swift build (debug, all products and tests)"
swift build --build-tests
step "rtms of an earlier revision (fleet schema 2), for the rolling-upgrade test (scripts/previous-rtms.sh)"
RTMS_PREVIOUS_RTMS=$(bash scripts/previous-rtms.sh)
export RTMS_PREVIOUS_RTMS
step "swift test"
swift test --skip-build
step "Fuzz smoke: each fuzz target for 10 s from its committed corpus, regressions included (docs/fuzzing.md)"
FUZZ_CONFIG=debug bash scripts/fuzz.sh all 10
bin=$(swift build --show-bin-path)

step "README's first command: rtms demo (short meeting recorded, plain and TLS)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$bin/rtms" demo --duration 5 --quiet --out "$tmp/rec" | tail -3
"$bin/rtms" demo --duration 5 --quiet --tls --unified --out "$tmp/rec-tls" | tail -2
for d in "$tmp"/rec/* "$tmp"/rec-tls/*; do
  for f in audio/mixed.wav transcript.vtt chat.jsonl events.jsonl summary.json; do
    [ -s "$d/$f" ] || { echo "rtms demo: $d/$f missing or empty"; exit 1; }
  done
done
python3 - "$tmp"/rec/*/audio/mixed.wav <<'PY'
import sys, wave
w = wave.open(sys.argv[1])
assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getnframes() > 16000 * 3, (w.getframerate(), w.getnframes())
print("rtms demo: mixed.wav %.1f s at %d Hz" % (w.getnframes() / w.getframerate(), w.getframerate()))
PY
step "rtms demo in a terminal (a pty) and in pipes: transcript lines above the status line, never on it"
python3 Tests/cli/status_line.py "$bin/rtms"

step "rtms-sim --print-started piped into rtms join (payload with its signature; the three ids)"
for cmd in join record; do
  # Every long option is a plain kebab-case spelling (ArgumentParser turns "serverURLs" into --server-ur-ls).
  opts=$("$bin/rtms" "$cmd" --help | grep -oE -- '--[a-z0-9-]+' | sort -u)
  echo "$opts" | grep -qx -- '--server-urls' || { echo "rtms $cmd: no --server-urls option"; exit 1; }
  bad=$(echo "$opts" | grep -E -- '-[a-z]{1,2}-[a-z]{1,2}$' | grep -vE -- '--(client|stream|node)-id$' || true)
  [ -z "$bad" ] || { echo "rtms $cmd: misspelled options: $bad"; exit 1; }
done
"$bin/rtms-sim" --no-tls --print-started --meetings 2 --duration 4 --exit-when-done --client-id cli-id --client-secret cli-secret > "$tmp/sim.out" 2>/dev/null &
simpid=$!
for _ in $(seq 100); do [ "$(wc -l < "$tmp/sim.out")" -ge 2 ] && break; sleep 0.1; done
# A payload that carries its signature joins with no credentials at all.
signed=$(head -1 "$tmp/sim.out" | python3 -c '
import hashlib, hmac, json, sys
p = json.load(sys.stdin)["payload"]
msg = "cli-id," + p["meeting_uuid"] + "," + p["rtms_stream_id"]
p["signature"] = hmac.new(b"cli-secret", msg.encode(), hashlib.sha256).hexdigest()
print(json.dumps(p))')
env -u ZM_RTMS_CLIENT -u ZM_RTMS_SECRET timeout 30 "$bin/rtms" join --payload "$signed" --media audio,transcript > "$tmp/join.out" &
joinpid=$!
ids=$(sed -n 2p "$tmp/sim.out" | python3 -c '
import json, sys
p = json.load(sys.stdin)["payload"]
print(p["meeting_uuid"], p["rtms_stream_id"], p["server_urls"])')
read -r m s u <<< "$ids"
ZM_RTMS_CLIENT=cli-id ZM_RTMS_SECRET=cli-secret timeout 30 "$bin/rtms" join --meeting-uuid "$m" --stream-id "$s" --server-urls "$u" \
  --media audio > "$tmp/join2.out"
wait "$joinpid"
wait "$simpid"
for out in "$tmp/join.out" "$tmp/join2.out"; do
  audio=$(grep -c '"cb":"audio"' "$out" || true)
  grep -q '"cb":"leave","reason":6' "$out" && [ "$audio" -gt 50 ] || { echo "rtms join ($out): $audio audio callbacks, no leave(6)"; exit 1; }
  echo "rtms join: $audio audio callbacks, left with reason 6"
done

step "rtms record --payload, stopped with SIGINT in the middle: every file finalized"
"$bin/rtms-sim" --no-tls --print-started --duration 60 --client-id cli-id --client-secret cli-secret > "$tmp/sim2.out" 2>/dev/null &
simpid=$!
for _ in $(seq 100); do [ -s "$tmp/sim2.out" ] && break; sleep 0.1; done
ZM_RTMS_CLIENT=cli-id ZM_RTMS_SECRET=cli-secret "$bin/rtms" record --payload "$(head -1 "$tmp/sim2.out")" --out "$tmp/rec-int" --quiet > "$tmp/rec.log" &
recpid=$!
sleep 3
kill -INT "$recpid"
wait "$recpid" || { cat "$tmp/rec.log"; echo "rtms record: non-zero exit after SIGINT"; exit 1; }
kill "$simpid" 2>/dev/null || true
python3 - "$tmp"/rec-int/*/audio/mixed.wav "$tmp"/rec-int/*/summary.json <<'PY'
import json, sys, wave
w = wave.open(sys.argv[1])
assert w.getnframes() > 16000, w.getnframes()
s = json.load(open(sys.argv[2]))
assert s["media"]["audio"]["messages"] > 50 and "end" not in s, s
print("rtms record: stopped after %.1f s of audio, summary.json and WAV headers final" % (w.getnframes() / 16000.0))
PY

step "C ABI: shipping library, headers, CMake and pkg-config"
RTMS_SIM="$bin/rtms-sim" bash Tests/c/run.sh

step "Python binding (bindings/python) against the simulator; rtms.Fleet against a throwaway PostgreSQL"
lib="$root/.ci-work/c-tests/prefix/lib/librtms.so"
if [ "${RTMS_TEST_SKIP_OFFICIAL:-0}" = "1" ]; then
  # Offline: the package from source, the shipping library by path.
  RTMS_LIBRARY="$lib" RTMS_SIM="$bin/rtms-sim" PYTHONPATH="$root/bindings/python" \
    python3 -m unittest discover -s "$root/bindings/python/tests"
else
  # Packaging too: a fresh venv, pip install with the library inside, tests against the install.
  venv="$root/.ci-work/py-venv"
  rm -rf "$venv" && python3 -m venv "$venv"
  OPENRTMS_LIB="$lib" "$venv/bin/pip" install -q "$root/bindings/python"
  (cd "$tmp" && RTMS_SIM="$bin/rtms-sim" "$venv/bin/python" -m unittest discover -s "$root/bindings/python/tests")
fi

step "Python types: mypy --strict on the package, a typed program (source and installed: py.typed), examples/python.md"
# bindings/python/tests/typecheck.py says which flags each check uses. mypy comes from PyPI (pinned).
if [ "${RTMS_TEST_SKIP_OFFICIAL:-0}" = "1" ]; then
  if python3 -c 'import mypy' >/dev/null 2>&1; then
    python3 "$root/bindings/python/tests/typecheck.py"
  else
    echo "typecheck: skipped (RTMS_TEST_SKIP_OFFICIAL=1 and no mypy here: it comes from PyPI)"
  fi
else
  "$venv/bin/pip" install -q mypy==2.4.1
  "$venv/bin/python" "$root/bindings/python/tests/typecheck.py" --installed
fi

step "Node binding (bindings/node): addon built with cc, node --test against the simulator (rtms.Fleet too)"
RTMS_LIB="$lib" bash "$root/bindings/node/build.sh"
RTMS_SIM="$bin/rtms-sim" node --test "$root/bindings/node/test/"

if [ "${RTMS_TEST_SANITIZERS:-0}" = "1" ]; then
  step "Sanitizers, quick: TSan on the client/session/C ABI/webhook tests; ASan (+UBSan for C) under C, Python and Node"
  bash "$root/scripts/sanitize.sh" all --quick
else
  # Two sanitized builds take 10-12 minutes from cold on this machine: a nightly (docs/sanitizers.md).
  step "Sanitizers: nightly (RTMS_TEST_SANITIZERS=1 runs them here); checking scripts/sanitize.sh parses"
  bash -n "$root/scripts/sanitize.sh"
fi

step "Cross-language parity: one seeded session and the webhook path through C, Python and Node"
RTMS_LIBRARY="$lib" RTMS_SIM="$bin/rtms-sim" PYTHONPATH="$root/bindings/python" python3 "$root/Tests/parity/run.py"

step "Every code block of examples/python.md and examples/node.md against the simulator"
RTMS_LIBRARY="$lib" RTMS_SIM="$bin/rtms-sim" PYTHONPATH="$root/bindings/python" python3 "$root/Tests/docs/run_examples.py"

step "The live view in headless Chromium: rtms record --live during a meeting with chaos, the page's DOM and a screenshot (Tests/live)"
python3 "$root/Tests/live/run.py" "$bin/rtms" "$bin/rtms-sim"

step "examples/swift: a package using OpenRTMSKit by path, built, its bot run against the simulator"
RTMS_LIBRARY="$lib" RTMS_SIM="$bin/rtms-sim" python3 "$root/Tests/examples/swift_bot.py"

if [ "${RTMS_TEST_SKIP_OFFICIAL:-0}" = "1" ]; then
  step "Zoom's official client: skipped (RTMS_TEST_SKIP_OFFICIAL=1)"
else
  step "Zoom's official client against the simulator"
  RTMS_SIM="$bin/rtms-sim" python3 Tests/conformance/official_sdk.py
fi
if [ "${RTMS_TEST_SKIP_OFFICIAL:-0}" = "1" ]; then
  step "Packages: skipped (RTMS_TEST_SKIP_OFFICIAL=1: auditwheel and the wheel's build requirements come from PyPI)"
else
  step "Packages: the wheel and the npm tarball (scripts/package.sh), installed without Swift and joining the simulator"
  # The shipping library of the C tests goes into both; the source install's Swift build finds
  # .build-release built by them with the same flags (seconds, not minutes).
  RTMS_LIB="$lib" bash scripts/package.sh "$root/.ci-work/packages"
  RTMS_TEST_PACKAGE_SOURCE_BUILD=1 RTMS_SIM="$bin/rtms-sim" python3 Tests/packaging/run.py "$root/.ci-work/packages"
fi
step "Benchmarks, smoke: every workload for seconds through every client (bench/run.py --smoke)"
bench_sim="$root/.build-release/release/rtms-sim"
[ -x "$bench_sim" ] || bench_sim="$bin/rtms-sim"
if [ "${RTMS_TEST_SKIP_OFFICIAL:-0}" = "1" ]; then
  bench_env=(BENCH_SKIP_OFFICIAL=1)
else
  bench_env=(RTMS_OFFICIAL_PYTHON="${CONFORMANCE_VENV:-$root/.venv-conformance}/bin/python")
fi
env "${bench_env[@]}" RTMS_LIBRARY="$lib" RTMS_SIM="$bench_sim" python3 "$root/bench/run.py" --smoke

step "Allocations per message, per kind, in the C client: each within its bound (bench/allocs.py --smoke)"
RTMS_LIBRARY="$lib" RTMS_SIM="$bench_sim" python3 "$root/bench/allocs.py" --smoke

step "Base64 decoders, smoke: the library, Foundation's, a scalar one and the core's vector decoder (CBase64) agree; timing and instructions (bench/base64_bench.py --smoke)"
python3 "$root/bench/base64_bench.py" --smoke --scratch-path "$root/.build-base64"

step "Fleet benchmark, smoke: three rtms serve nodes, latency, two takeovers, 30 streams (bench/fleet.py --smoke)"
RTMS_BIN="$bin/rtms" RTMS_SIM="$bench_sim" python3 "$root/bench/fleet.py" --smoke

step "Soak, smoke: 6 streams under seeded chaos and bad webhook requests for ~20 s, every check (bench/soak.py --smoke)"
RTMS_LIBRARY="$lib" RTMS_SIM="$bench_sim" python3 "$root/bench/soak.py" --smoke

printf '\nall tests passed in %ss\n' "$(( $(date +%s) - start ))"
