#!/usr/bin/env python3
"""Extracts every text/binary frame Zoom's official client exchanged with the scripted server
(a folder of captures given as the argument: <run>/server.jsonl each, bench runs excluded) into
one fixture file for the codec tests: Tests/RTMSProtocolTests/Fixtures/wire-frames.jsonl, one {"run","dir","path","data"} per line."""
import glob, json, os, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if len(sys.argv) < 2:
    sys.exit("usage: extract-wire-vectors.py CAPTURES_DIR (a folder of <run>/server.jsonl captures)")
src = sys.argv[1]
out = os.path.join(root, "Tests", "RTMSProtocolTests", "Fixtures", "wire-frames.jsonl")
n = 0
with open(out, "w") as f:
    for path in sorted(glob.glob(os.path.join(src, "*", "server.jsonl"))):
        run = os.path.basename(os.path.dirname(path))
        if run.startswith("b"):
            continue
        for line in open(path):
            o = json.loads(line)
            if o.get("ev") not in ("c2s", "s2c") or o.get("kind") not in ("text", "binary") or "data" not in o:
                continue
            f.write(json.dumps({"run": run, "dir": o["ev"], "path": o.get("path"), "data": o["data"]}) + "\n")
            n += 1
print(f"wrote {n} frames to {out}")
