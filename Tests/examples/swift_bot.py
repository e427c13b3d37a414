#!/usr/bin/env python3
"""examples/swift (a package that depends on this repository by path) built and run against the
simulator:
- TranscriptBot joins a meeting from its rtms_started body and must print the join, every
  transcript line the simulator reports having sent (speaker and text, in order, the same lines
  the Python binding receives from the same seeded meeting), and the leave with MEETING_ENDED,
  exit 0. A wrong secret must end in a printed join failure and exit 1.
- LiveTranscript (Hummingbird) receives the simulator's signed webhooks at /webhook, joins, and
  its /transcript Server-Sent Events must carry every transcript line of the meeting (the same as
  the bot's), as JSON with the stream id; an unsigned webhook is refused (401) and joins nothing.

    python3 Tests/examples/swift_bot.py [BIN_DIR]   (the package's built products; default: builds them)

Environment: RTMS_SIM (rtms-sim), RTMS_LIBRARY (for the Python reference run)."""

import os
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python", "tests"))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
from simulator import CLIENT_ID, CLIENT_SECRET, Simulator  # noqa: E402


def binaries():
    if len(sys.argv) > 1:
        out = sys.argv[1]
    else:
        pkg = os.path.join(ROOT, "examples", "swift")
        subprocess.run(["swift", "build", "--package-path", pkg], check=True)
        out = subprocess.run(["swift", "build", "--package-path", pkg, "--show-bin-path"], check=True,
                             capture_output=True, text=True).stdout.strip()
    return os.path.join(out, "TranscriptBot"), os.path.join(out, "LiveTranscript")


def live_transcript(service, seed, expected, failures):
    """The Hummingbird service against a simulator that posts its webhooks to it."""
    import json
    import urllib.request
    env = dict(os.environ, ZM_RTMS_CLIENT=CLIENT_ID, ZM_RTMS_SECRET=CLIENT_SECRET, ZM_RTMS_WEBHOOK_SECRET="ex-whsec")
    proc = subprocess.Popen([service, "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sim = None
    try:
        line = ""
        for _ in range(20):   # Hummingbird logs its own start line first
            line = proc.stdout.readline()
            if not line or line.startswith("live-transcript: listening on port"):
                break
        if not line.startswith("live-transcript: listening on port"):
            failures.append("LiveTranscript did not start: %r" % line)
            return
        port = int(line.split()[-1])
        base = "http://127.0.0.1:%d" % port
        events = urllib.request.urlopen(base + "/transcript", timeout=30)
        if events.headers.get("Content-Type") != "text/event-stream":
            failures.append("/transcript content type %r" % events.headers.get("Content-Type"))
        # An unsigned webhook: refused by the core's intake.
        req = urllib.request.Request(base + "/webhook", data=b'{"event":"meeting.rtms_started","payload":{}}',
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            urllib.request.urlopen(req, timeout=10)
            failures.append("an unsigned webhook was accepted")
        except urllib.error.HTTPError as e:
            if e.code != 401:
                failures.append("an unsigned webhook got %d, not 401" % e.code)
        sim = Simulator("--webhook-url", base + "/webhook", "--webhook-secret", "ex-whsec")
        stream = sim.meeting(duration=3, seed=seed)["payload"]["rtms_stream_id"]
        got = []
        while len(got) < len(expected):
            raw = events.readline().decode()
            if not raw:
                break
            if raw.startswith("data: "):
                o = json.loads(raw[6:])
                if o.get("stream") == stream:
                    got.append("%s: %s" % (o["speaker"], o["text"]))
        if got != expected:
            failures.append("LiveTranscript's events differ from the bot's:\n  %s\n  %s" % (got[:3], expected[:3]))
        print("swift example: LiveTranscript streamed %d transcript lines over SSE" % len(got))
    finally:
        proc.kill()
        proc.wait()
        if sim:
            sim.close()


def python_reference(sim, seed):
    """The transcript lines the Python binding receives from a meeting of the same seed."""
    import rtms
    body = sim.meeting(duration=3, seed=seed)
    c = rtms.Client()
    lines, done = [], threading.Event()
    c.on_transcript_data(lambda data, size, ts, md: lines.append("%s: %s" % (md.userName, data.decode())))
    c.on_leave(lambda reason: done.set())
    c.join(body["payload"], client=CLIENT_ID, secret=CLIENT_SECRET)
    done.wait(30)
    c.leave()
    return lines


def main():
    bot, service = binaries()
    sim = Simulator()
    failures = []
    try:
        seed = 7
        body = sim.meeting(duration=3, seed=seed)
        stream = body["payload"]["rtms_stream_id"]
        env = dict(os.environ, ZM_RTMS_CLIENT=CLIENT_ID, ZM_RTMS_SECRET=CLIENT_SECRET)
        import json
        p = subprocess.run([bot, "--payload", json.dumps(body)], env=env, capture_output=True, text=True, timeout=60)
        lines = p.stdout.splitlines()
        sent = sim.report(stream).get("sent", {})
        transcript = [l for l in lines if not l.startswith(("joined ", "left: ", "reconnecting "))]
        if p.returncode != 0:
            failures.append("exit %d: %s" % (p.returncode, p.stderr.strip()[-300:]))
        if not lines or lines[0] != "joined %s" % stream:
            failures.append("first line %r, not the join" % (lines[:1],))
        if not lines or not lines[-1].startswith("left: ") or not lines[-1].endswith("(6)"):
            failures.append("last line %r, not the leave with MEETING_ENDED (6)" % (lines[-1:],))
        if len(transcript) != sent.get("transcript") or not transcript:
            failures.append("%d transcript lines printed, the simulator sent %s" % (len(transcript), sent.get("transcript")))
        reference = python_reference(sim, seed)
        if transcript != reference:
            failures.append("transcript differs from the Python binding's:\n  %s\n  %s" % (transcript[:3], reference[:3]))
        # A wrong secret: the join fails, is printed, and the exit status says so.
        env["ZM_RTMS_SECRET"] = "wrong"
        q = subprocess.run([bot, "--payload", json.dumps(sim.meeting(duration=2))], env=env, capture_output=True,
                           text=True, timeout=60)
        if q.returncode != 1 or not any(l.startswith("join failed: ") for l in q.stdout.splitlines()):
            failures.append("wrong secret: exit %d, output %r" % (q.returncode, q.stdout[-200:]))
        print("swift example: %d lines, %d transcript lines (%s)" % (len(lines), len(transcript), transcript[:1]))
    finally:
        sim.close()
    live_transcript(service, seed, transcript, failures)
    for f in failures:
        print("FAIL", f)
    print("swift example: %s" % ("ok" if not failures else "%d FAILED" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
