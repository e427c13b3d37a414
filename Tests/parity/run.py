#!/usr/bin/env python3
"""Cross-language parity: one seeded simulator session (every media type, events, states, a media
connection killed and reconnected, the end) through the C ABI, the Python binding and the Node
binding. Each runner prints its callbacks as JSON lines; this driver reduces them to a canonical
transcript (the order of control callbacks, event bodies without timestamps, the typed events
(participants, active speaker, sharing) with each timestamp checked against its raw event's, what
arrived per media kind) and requires the three to be identical. Then the same for the webhook intake: signed,
forged, replayed, malformed, duplicate deliveries, the validation challenge and an rtms_stopped
routed to a client of the runner that has joined a live simulator stream; through the core's
listener (C, Python and Node) and through the web-server integrations of the bindings, whose
requests the core's intake decides too (Python's raw form, Node's createWebhookHandler and raw
form): the answers, the events, the client's end and the intake's counters must be identical.

Environment: RTMS_LIBRARY (librtms.so), RTMS_SIM (rtms-sim); the Node addon must be built
(bindings/node/build.sh) and the rtms package importable (installed, or bindings/python on
PYTHONPATH).
"""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python", "tests"))
from simulator import CLIENT_ID, CLIENT_SECRET, Simulator  # noqa: E402

LIB = os.environ.get("RTMS_LIBRARY", os.path.join(ROOT, ".build", "debug", "libOpenRTMS.so"))
WORK = os.environ.get("PARITY_WORK", os.path.join(ROOT, ".ci-work", "parity"))
SEED = 11
PLAN = [{"at_ms": 2000, "connection": "audio", "action": "abort"}]


def build_c_runner() -> str:
    os.makedirs(WORK, exist_ok=True)
    out = os.path.join(WORK, "runner")
    subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I" + os.path.join(ROOT, "include"),
                    os.path.join(HERE, "runner.c"), LIB, "-Wl,-rpath," + os.path.dirname(os.path.abspath(LIB)),
                    "-o", out], check=True)
    return out


def runners(c_runner: str) -> dict:
    return {
        "c": [c_runner],
        "python": [sys.executable, os.path.join(HERE, "runner.py")],
        "node": ["node", os.path.join(HERE, "runner.js")],
    }


def webhook_runners(c_runner: str) -> dict:
    """name -> (command, mode): the core's listener in each language, then the web-server
    integrations of the bindings."""
    py, js = runners(c_runner)["python"], runners(c_runner)["node"]
    return {
        "c": ([c_runner], "webhook"),
        "python": (py, "webhook"),
        "node": (js, "webhook"),
        "python-webserver": (py, "webserver"),
        "node-handler": (js, "handler"),
        "node-raw": (js, "raw"),
    }


def child_env() -> dict:
    env = dict(os.environ, ZM_RTMS_CLIENT=CLIENT_ID, ZM_RTMS_SECRET=CLIENT_SECRET, RTMS_LIBRARY=LIB)
    return env


def strip_timestamps(v):
    if isinstance(v, dict):
        return {k: strip_timestamps(x) for k, x in v.items() if k != "timestamp"}
    if isinstance(v, list):
        return [strip_timestamps(x) for x in v]
    return v


TYPED = ("participant_event", "active_speaker", "sharing", "media_interrupted")


def typed_timestamps(lines: list) -> list:
    """A typed event's timestamp is its raw event's (the last on_event_ex before it) and
    differs between runs: each becomes "= event" when equal to it, and stays the number (and
    so differs from the other runners) when not. Participant lists are compared as they are."""
    out = []
    for i, rec in enumerate(lines):
        if rec.get("cb") in TYPED:
            raw = next((json.loads(r["json"]) for r in reversed(lines[:i]) if r.get("cb") == "event"), {})
            if rec.get("timestamp") == raw.get("timestamp"):
                rec = dict(rec, timestamp="= event")
        out.append(rec)
    return out


def canonical(lines: list) -> dict:
    control, reconnect = [], []
    media = {}
    for rec in typed_timestamps(lines):
        cb = rec.get("cb")
        if cb == "media":
            m = media.setdefault(rec["kind"], {"messages": 0, "sizes": set(), "texts": [], "speakers": set()})
            m["messages"] += 1
            if rec["kind"] == "audio":
                m["sizes"].add(rec["size"])
            if rec["kind"] in ("transcript", "chat"):
                m["texts"].append(rec["text"])
                m["speakers"].add((rec["user_id"], rec["user_name"]))
        elif cb in ("reconnecting", "reconnected"):
            reconnect.append(rec)
        elif cb == "event":
            control.append({"cb": "event", "event": strip_timestamps(json.loads(rec["json"]))})
        else:
            control.append(rec)
    summary = {}
    for kind, m in sorted(media.items()):
        summary[kind] = {"received": m["messages"] > 0, "audio_sizes": sorted(m["sizes"]), "texts": m["texts"],
                         "speakers": sorted(m["speakers"])}
    return {"control": control, "reconnect": reconnect, "media": summary}


def run_session(name: str, cmd: list, sim: Simulator) -> dict:
    body = sim.meeting(duration=6, seed=SEED, participants=3, chaos=PLAN)
    p = subprocess.run(cmd + ["join", json.dumps(body)], env=child_env(), capture_output=True, text=True, timeout=90)
    if p.returncode != 0:
        raise SystemExit("parity: %s runner failed (%d): %s" % (name, p.returncode, p.stderr[-2000:]))
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    return canonical(lines)


def sign(secret: str, body: bytes, ts=None) -> dict:
    ts = str(int(time.time()) if ts is None else ts)
    mac = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"x-zm-request-timestamp": ts, "x-zm-signature": "v0=" + mac, "Content-Type": "application/json"}


def post(url: str, body: bytes, headers: dict):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode("utf-8", "replace")


def run_webhook(name: str, cmd: list, mode: str, sim: Simulator) -> dict:
    secret = "parity-secret"
    live = sim.meeting(duration=60, seed=SEED)
    stream = live["payload"]["rtms_stream_id"]
    p = subprocess.Popen(cmd + [mode, secret, json.dumps(live)], env=child_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line:
        p.kill()
        raise SystemExit("parity: %s webhook runner did not start: %s" % (name, p.stderr.read()[-2000:]))
    first = json.loads(line)
    base = "http://127.0.0.1:%d" % first["port"]
    url = base + "/parity"
    started = json.dumps({"event": "meeting.rtms_started", "event_ts": 1, "payload": {
        "meeting_uuid": "parity==", "rtms_stream_id": "parity-stream", "server_urls": "ws://127.0.0.1:9/signaling"}}).encode()
    stopped = json.dumps({"event": "meeting.rtms_stopped", "event_ts": 2, "payload": {
        "meeting_uuid": live["payload"]["meeting_uuid"], "rtms_stream_id": stream, "stop_reason": 2}}).encode()
    validation = b'{"event":"endpoint.url_validation","payload":{"plainToken":"parity-token"}}'
    answers = [
        ("validation", post(url, validation, sign(secret, validation))),
        ("forged", post(url, started, sign("not-the-secret", started))),
        ("replayed", post(url, started, sign(secret, started, ts=int(time.time()) - 3600))),
        ("unsigned", post(url, started, {"Content-Type": "application/json"})),
        ("started", post(url, started, sign(secret, started))),
        ("duplicate", post(url, started, sign(secret, started))),
        ("malformed", post(url, b"{nope", sign(secret, b"{nope"))),
        ("no_event", post(url, b'{"payload":{}}', sign(secret, b'{"payload":{}}'))),
        ("wrong_path", post(base + "/elsewhere", started, sign(secret, started))),
        ("query_string", post(url + "?from=parity", b'{"event":"parity.query"}', sign(secret, b'{"event":"parity.query"}'))),
        ("stopped_live", post(url, stopped, sign(secret, stopped))),
        ("stopped_again", post(url, stopped, sign(secret, stopped))),
    ]
    done = b'{"event":"parity.done"}'
    answers.append(("done", post(url, done, sign(secret, done))))
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        raise SystemExit("parity: %s webhook runner did not finish" % name)
    if p.returncode != 0:
        raise SystemExit("parity: %s webhook runner failed (%d): %s %s" % (name, p.returncode, out[-1000:], err[-2000:]))
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    live_ids = {stream: "<live stream>", live["payload"]["meeting_uuid"]: "<live meeting>"}
    events = [(e["event"], json.loads(e["body"], object_hook=lambda o: {k: live_ids.get(v, v) if isinstance(v, str) else v
                                                                        for k, v in o.items()}))
              for e in lines if e.get("cb") == "webhook"]
    leaves = [e["reason"] for e in lines if e.get("cb") == "leave"]
    stats = [e["stats"] for e in lines if "stats" in e]
    # 401 texts say why; the status is what must agree.
    normalized = [(label, status, body if status == 200 else None) for label, (status, body) in answers]
    return {"answers": normalized, "events": events, "leave": leaves, "stats": stats[0] if stats else None}


def diff(a, b) -> str:
    ja = json.dumps(a, indent=1, sort_keys=True, default=sorted).splitlines()
    jb = json.dumps(b, indent=1, sort_keys=True, default=sorted).splitlines()
    import difflib
    return "\n".join(list(difflib.unified_diff(ja, jb, lineterm=""))[:80])


def compare(what: str, transcripts: dict) -> int:
    """Python's and Node's transcripts against C's; returns the number of mismatches."""
    bad = 0
    for name in ("python", "node"):
        same = transcripts[name] == transcripts["c"]
        print("%s %s transcript: %s == c" % ("ok  " if same else "FAIL", what, name))
        if not same:
            bad += 1
            print(diff(transcripts["c"], transcripts[name]))
    return bad


def main() -> int:
    c_runner = build_c_runner()
    sim = Simulator()
    failures = 0
    try:
        sessions = {}
        for name, cmd in runners(c_runner).items():
            sessions[name] = run_session(name, cmd, sim)
            t = sessions[name]
            print("parity: %-6s %d control callbacks, reconnect %s, media %s" % (
                name, len(t["control"]), [(r["cb"], r["connection"]) for r in t["reconnect"]],
                {k: (v["received"], len(v["texts"])) for k, v in t["media"].items()}))
        ref = sessions["c"]
        checks = [
            ("every media kind arrived", all(ref["media"].get(k, {}).get("received") for k in
                                             ("audio", "video", "deskshare", "transcript", "chat"))),
            ("the audio connection was reconnected", [(r["cb"], r["connection"]) for r in ref["reconnect"]]
             == [("reconnecting", 1), ("reconnected", 1)]),
            ("the session ended with leave(6)", ref["control"][-1] == {"cb": "leave", "reason": 6}),
            ("typed events arrived with their event's timestamp: %s" % sorted({r["cb"] for r in ref["control"] if r["cb"] in TYPED}),
             {"participant_event", "active_speaker", "sharing"} <= {r["cb"] for r in ref["control"] if r["cb"] in TYPED}
             and all(r["timestamp"] == "= event" for r in ref["control"] if r["cb"] in TYPED)),
            ("participant events name every participant (join and leave)",
             {(r["op"], len(r["participants"]) > 0) for r in ref["control"] if r["cb"] == "participant_event"}
             == {("join", True), ("leave", True)}),
        ]
        for what, ok in checks:
            print("%s %s" % ("ok  " if ok else "FAIL", what))
            failures += 0 if ok else 1
        failures += compare("session", sessions)
        hooks = {name: run_webhook(name, cmd, mode, sim) for name, (cmd, mode) in webhook_runners(c_runner).items()}
        ref = hooks["c"]
        statuses = [s for _, s, _ in ref["answers"]]
        want = [200, 401, 401, 401, 200, 200, 400, 400, 404, 200, 200, 200, 200]
        wanted_events = ["meeting.rtms_started", "parity.query", "meeting.rtms_stopped", "parity.done"]
        names = [e for e, _ in ref["events"]]
        st = ref["stats"] or {}
        checks = [
            ("webhook answers (c): %s" % statuses, statuses == want),
            ("webhook events (c): %s" % names, names == wanted_events),
            ("the live client ended by the routed rtms_stopped (c): leave %s" % ref["leave"], ref["leave"] == [2]),
            ("intake counters (c): routed %s, duplicates %s" % (st.get("routed"), st.get("duplicates")),
             (st.get("routed"), st.get("duplicates")) == (1, 2)),
        ]
        for what, ok in checks:
            print("%s %s" % ("ok  " if ok else "FAIL", what))
            failures += 0 if ok else 1
        for name, t in hooks.items():
            if name == "c":
                continue
            a, b = dict(ref), dict(t)
            if t["stats"] is None:   # createWebhookHandler returns a function: no counters to read
                a.pop("stats"), b.pop("stats")
            same = a == b
            print("%s webhook transcript: %s == c%s" % ("ok  " if same else "FAIL", name,
                                                         "" if t["stats"] is not None else " (no counters in this form)"))
            if not same:
                failures += 1
                print(diff(a, b))
    finally:
        sim.close()
    print("parity: %s" % ("all checks passed" if failures == 0 else "%d checks FAILED" % failures))
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
