#!/usr/bin/env python3
"""Allocations per message, per media kind, in the C client (issue 13: no per-message allocation
on the hot path in steady state; swift-nio proves the same with allocation-counting tests).

c_runner.c built with -DRTMS_BENCH_COUNT_ALLOCS counts every malloc, calloc, realloc and aligned
allocation of the whole process (librtms and its threads included) and says how many happened in
its measurement window; divided by the messages delivered in that window, per kind:

  audio       a blast of 640-byte audio messages on one stream
  video       a blast of H.264 access units (the bench's sizes, keyframes of 40 KB) on one stream
  deskshare   four streams of screen share at 1,000 frames a second (nothing else)
  transcript  four streams of transcript lines at 1,000 a second (nothing else)

The window must hold messages of the measured kind only (the runner's window_by_kind: that
kind's count in the window equals the window's total, and is not zero); otherwise the run fails.
A count, not a timing: the figure does not move with the machine's load. Each kind has a bound
(BOUNDS, a little above what it measures today); a run above one fails, so an allocation added to
the hot path is seen. The figures go to bench/RESULTS.md by hand.

    python3 bench/allocs.py            # about 40 s
    python3 bench/allocs.py --smoke    # a few seconds each (CI)
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (the simulator and the runner's build)

# Allocations per delivered message, measured 2026-11-30 with the shipping library: audio 2.00,
# video 1.99, deskshare 2.19, transcript 2.02 (bench/RESULTS.md says which two they are).
BOUNDS = {"audio": 2.5, "video": 2.5, "deskshare": 3.0, "transcript": 3.0}

ONLY = {"deskshare": '"audio_rate":0,"video_fps":0,"deskshare_fps":1000,"transcript_ms":0',
        "transcript": '"audio_rate":0,"video_fps":0,"deskshare_fps":0,"transcript_ms":1'}


def measure(runner, kind, smoke):
    """The runner's JSON line for one kind."""
    if kind == "audio":
        return bench.run_impl("c", {"c": runner}, clients=1, count=5000 if smoke else 50000, seconds=30)
    if kind == "video":
        return bench.run_impl("c", {"c": runner}, clients=1, count=1000 if smoke else 5000, seconds=30, mode="video")
    os.environ["RTMS_BENCH_MIX"] = ONLY[kind]
    try:
        return bench.run_impl("c", {"c": runner}, clients=4, seconds=1 if smoke else 3, mode="mix", drain=5)
    finally:
        del os.environ["RTMS_BENCH_MIX"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="fewer messages (CI)")
    a = ap.parse_args()
    runner = bench.build_c_runner(out=os.path.join(bench.WORK, "c_runner_allocs"), defines=["RTMS_BENCH_COUNT_ALLOCS"])
    failed = []
    print("| kind | messages in the window | allocations | per message | bound |")
    print("|---|---|---|---|---|")
    for kind, bound in BOUNDS.items():
        r = measure(runner, kind, a.smoke)
        allocs = r.get("allocs")
        total = r.get("window_msgs")
        by_kind = r.get("window_by_kind")
        if "error" in r or allocs is None or total is None or not isinstance(by_kind, dict):
            failed.append("%s: no measurement (%s)" % (kind, r.get("error") or json.dumps(r)[:300]))
            continue
        # The window's messages, all of the measured kind: its count in the window is the window's
        # total (no other kind slipped in), and not zero.
        msgs = by_kind.get(kind, 0)
        if msgs <= 0 or msgs != total:
            failed.append("%s: the window's messages are not all of that kind: %d of %s, %d in all (by kind: %s)"
                          % (kind, msgs, kind, total, json.dumps(by_kind)))
            continue
        per = allocs / msgs
        print("| %s | %d | %d | %.2f | %.1f |" % (kind, msgs, allocs, per, bound))
        if per > bound:
            failed.append("%s: %.2f allocations per message, above the bound %.1f" % (kind, per, bound))
    for f in failed:
        print("allocs: FAIL " + f, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
