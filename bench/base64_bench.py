#!/usr/bin/env python3
"""Base64 decoding at the payload sizes RTMS streams carry (bench/base64-bench/): ExtrasBase64 (as the
core calls it), Foundation's Data(base64Encoded:), a plain scalar table decoder of our own, and the core's
SSSE3 decoder CBase64 (AVX2 where the CPU has it) as Base64Codec.decode calls it (text of 20 characters or more on a CPU with SSSE3;
shorter text, other CPUs and text it refuses go to ExtrasBase64). The package's Sources/CBase64 is a
symlink to the core's, not a copy.

    python3 bench/base64_bench.py                  # build, equality checks, timing table, callgrind table (~20 s)
    python3 bench/base64_bench.py --no-callgrind   # without the instruction counts
    python3 bench/base64_bench.py --smoke          # build, checks, a short timing, callgrind at 640 B (for CI)

Sizes: 640 B (audio frame), 1,500 B, 4,000 B (video P-frame), 40,000 B (keyframe). The timings move
with the machine's load; the instructions per decode (valgrind's callgrind: the difference between
N and 2N decodes in one process, over N, so that start-up cancels) do not.

Environment: VALGRIND (default: valgrind from PATH). Exits 1 if the build fails, if the decoders
disagree (the vector decoder also on invalid text, against ExtrasBase64), if a run fails or if an
instruction count is not positive.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from callgrind import total_instructions  # noqa: E402  (bench/callgrind.py)

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.join(HERE, "base64-bench")
SIZES = [640, 1500, 4000, 40000]
DECODERS = ["extras", "foundation", "scalar", "vector"]
LABELS = {"extras": "ExtrasBase64", "foundation": "Foundation Data(base64Encoded:)", "scalar": "scalar table (ours)",
          "vector": "CBase64 SSSE3/AVX2 (ours)"}
T0 = time.monotonic()


def step(msg):
    print("base64: [%5.1f s] %s" % (time.monotonic() - T0, msg), flush=True)


def die(msg):
    print("base64: ERROR " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def build(scratch):
    cmd = ["swift", "build", "-c", "release", "--package-path", PKG, "--scratch-path", scratch]
    step("building: " + " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        die("build failed (exit %d):\n%s" % (p.returncode, (p.stdout + p.stderr)[-3000:]))
    p = subprocess.run(cmd + ["--show-bin-path"], capture_output=True, text=True)
    binary = os.path.join(p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "", "base64-bench")
    if p.returncode != 0 or not os.access(binary, os.X_OK):
        die("no executable after the build (looked for %s)" % binary)
    return binary


def timing(binary, smoke, seconds):
    cmd = [binary] + (["--smoke"] if smoke else []) + (["--seconds", str(seconds)] if seconds else [])
    step("equality checks, then timing (%s)" % ("a few thousand decodes" if smoke else "~0.3 s a decoder and size"))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    # The table; its JSON line goes into the one printed at the end.
    sys.stdout.write("".join(line for line in p.stdout.splitlines(True) if not line.startswith("{")))
    sys.stdout.flush()
    if p.returncode != 0:
        die("base64-bench exited %d: %s" % (p.returncode, (p.stderr or p.stdout).strip()[-1000:] or "no output"))
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    die("base64-bench printed no JSON line")


def valgrind_path():
    v = os.environ.get("VALGRIND") or shutil.which("valgrind")
    return v if v and os.access(v, os.X_OK) else None


def callgrind_one(valgrind, binary, decoder, size, n, workdir):
    """Instructions of one process that does n decodes (valgrind's total, every object in the process)."""
    fd, prof = tempfile.mkstemp(prefix="callgrind-%s-%d-%d-" % (decoder, size, n), suffix=".out", dir=workdir)
    os.close(fd)
    cmd = [valgrind, "--tool=callgrind", "--callgrind-out-file=" + prof, binary, "--one", decoder, str(size), str(n)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    ir = total_instructions(prof)
    out = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if p.returncode != 0 or ir is None or not out:
        die("callgrind run %s failed (exit %d): %s" % (" ".join(cmd[3:]), p.returncode, p.stderr.strip()[-800:]))
    return ir, json.loads(out[-1])["sink"]


def callgrind(valgrind, binary, scratch, smoke):
    """Instructions per decode: (Ir(2N) - Ir(N)) / N, run on a copy of the binary stripped of its debug
    info (valgrind 3.19 cannot read the DWARF 5 that Swift may emit)."""
    workdir = os.path.join(scratch, "callgrind")
    os.makedirs(workdir, exist_ok=True)
    stripped = os.path.join(workdir, "base64-bench")
    subprocess.run(["strip", "--strip-debug", "-o", stripped, binary], check=True)
    sizes = [640] if smoke else SIZES
    # N: about 4 MB of decoded output a run (200 decodes in the smoke), so that the difference dwarfs the noise.
    ns = {s: 200 if smoke else max(100, 4_000_000 // s) for s in sizes}
    jobs = [(d, s, k * ns[s]) for s in sizes for d in DECODERS for k in (1, 2)]
    step("callgrind: %d runs (%s), 2 at a time" % (len(jobs), ", ".join("N=%d at %d B" % (ns[s], s) for s in sizes)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {j: pool.submit(callgrind_one, valgrind, stripped, j[0], j[1], j[2], workdir) for j in jobs}
        res = {j: f.result() for j, f in futures.items()}
    rows = []
    for s in sizes:
        n = ns[s]
        sinks = {res[(d, s, 2 * n)][1] for d in DECODERS}
        if len(sinks) != 1:
            die("callgrind runs at %d B: the decoders' results differ (sinks %s)" % (s, sorted(sinks)))
        for d in DECODERS:
            lo, hi = res[(d, s, n)][0], res[(d, s, 2 * n)][0]
            per = (hi - lo) / n
            if not per > 0:
                die("instructions per decode not positive: %s %d B: Ir %d (N=%d) and %d (2N)" % (d, s, lo, n, hi))
            rows.append({"size": s, "decoder": d, "n": n, "ir_n": lo, "ir_2n": hi, "ir_per_decode": round(per, 1)})
    print("")
    print("| payload (B) | decoder | instructions/decode | per decoded byte | vs ExtrasBase64 |")
    print("|---:|---|---:|---:|---:|")
    for r in rows:
        base = next(x["ir_per_decode"] for x in rows if x["size"] == r["size"] and x["decoder"] == "extras")
        print("| %d | %s | %.0f | %.2f | %.2f× |" % (r["size"], LABELS[r["decoder"]], r["ir_per_decode"],
                                                    r["ir_per_decode"] / r["size"], r["ir_per_decode"] / base))
    print("")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="build, checks, a short timing, callgrind at 640 B only")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    ap.add_argument("--seconds", type=float, help="seconds of timing per decoder and size (default 0.3)")
    ap.add_argument("--scratch-path", default=os.path.join(PKG, ".build"),
                    help="SwiftPM scratch path (default: bench/base64-bench/.build)")
    a = ap.parse_args()

    binary = build(os.path.abspath(a.scratch_path))
    result = {"bench": "base64", "mode": "smoke" if a.smoke else "full", "timing": timing(binary, a.smoke, a.seconds)}
    if a.no_callgrind:
        step("callgrind skipped (--no-callgrind)")
    else:
        valgrind = valgrind_path()
        if not valgrind:
            step("callgrind skipped: valgrind not found (apt-get install valgrind, or set VALGRIND)")
        else:
            result["instructions"] = callgrind(valgrind, binary, os.path.abspath(a.scratch_path), a.smoke)
    print(json.dumps(result, separators=(",", ":")))
    step("done")


if __name__ == "__main__":
    main()
