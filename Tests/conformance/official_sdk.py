#!/usr/bin/env python3
"""Conformance test: Zoom's official RTMS client (PyPI `rtms==1.1.0`, closed C SDK + Python
wrapper) against our simulator (`rtms-sim`), unmodified on both sides.

For each case a fresh rtms-sim process serves one scripted meeting on 127.0.0.1; Zoom's client
joins it from the rtms_started webhook body in a subprocess (official_client.py, run with the
conformance venv's python) and records every callback; this script then checks the recording.

Cases:
  ws      ws://, the Python API's default split mode (one media socket per media type)
  wss     wss:// with the simulator's generated CA (ZM_RTMS_CA) and --url-host localhost
  c_all   the SDK's C API via ctypes, media_types=32 (ALL: one unified media socket)

Environment:
  CONFORMANCE_VENV        venv to create/reuse (default <repo>/.venv-conformance)
  CONFORMANCE_PYTHON      interpreter that creates the venv (default: the one running this)
  RTMS_SIM                rtms-sim binary (default: newest <repo>/.build*/**/rtms-sim)
  CONFORMANCE_ALLOW_SKIP  1: exit 0 when rtms==1.1.0 cannot be installed (PyPI unreachable)
  CONFORMANCE_OUT         directory for run artifacts (default: a new temporary directory)

Exit status: 0 all cases passed (or SKIP allowed), 1 a case failed, 2 setup error,
3 SKIP without CONFORMANCE_ALLOW_SKIP=1.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DRIVER = os.path.join(HERE, "official_client.py")
RTMS_REQ = "rtms==1.1.0"
CLIENT_ID, CLIENT_SECRET = "cid", "csec"
CASES = ("ws", "wss", "c_all")


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# Setup: venv with Zoom's package, the simulator binary
# ---------------------------------------------------------------------------------------------

def skip(reason, detail=""):
    allowed = os.environ.get("CONFORMANCE_ALLOW_SKIP") == "1"
    log(f"SKIP: {reason}")
    if detail:
        log(detail)
    if allowed:
        log("SKIP accepted (CONFORMANCE_ALLOW_SKIP=1): exiting 0")
        sys.exit(0)
    log("SKIP is a failure unless CONFORMANCE_ALLOW_SKIP=1: exiting 3")
    sys.exit(3)


def ensure_venv():
    venv = os.path.abspath(os.environ.get("CONFORMANCE_VENV") or os.path.join(REPO, ".venv-conformance"))
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        base = os.environ.get("CONFORMANCE_PYTHON") or sys.executable
        log(f"creating venv {venv} with {base}")
        r = subprocess.run([base, "-m", "venv", venv], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            log(r.stdout + r.stderr)
            log(f"ERROR: could not create the venv {venv}")
            sys.exit(2)
    probe = [py, "-c", "import importlib.metadata as m; print(m.version('rtms'))"]
    have = subprocess.run(probe, capture_output=True, text=True, timeout=60).stdout.strip()
    if have != RTMS_REQ.split("==")[1]:
        log(f"installing {RTMS_REQ} into {venv} (found: {have or 'none'})")
        try:
            r = subprocess.run([py, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                                "--timeout", "30", "--retries", "2", RTMS_REQ],
                               capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            skip(f"{RTMS_REQ} could not be installed: pip timed out (PyPI unreachable?)")
        if r.returncode != 0:
            tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-8:])
            skip(f"{RTMS_REQ} could not be installed from PyPI (unreachable, or no wheel for this platform)", tail)
    r = subprocess.run([py, "-c", "import rtms, rtms._rtms; print(rtms.__file__)"],
                       capture_output=True, text=True, timeout=60, cwd=tempfile.gettempdir())
    if r.returncode != 0:
        log(r.stdout + r.stderr)
        log(f"ERROR: {RTMS_REQ} is installed in {venv} but does not import")
        sys.exit(2)
    return py


def find_sim():
    p = os.environ.get("RTMS_SIM")
    if p:
        if not (os.path.isfile(p) and os.access(p, os.X_OK)):
            log(f"ERROR: RTMS_SIM={p} is not an executable file")
            sys.exit(2)
        return os.path.abspath(p)
    found = []
    for top in glob.glob(os.path.join(REPO, ".build*")):
        for root, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d not in ("checkouts", "repositories", "artifacts", "index-build")
                       and not d.endswith((".build", ".dSYM", ".product"))]
            if "rtms-sim" in files:
                f = os.path.join(root, "rtms-sim")
                if os.path.isfile(f) and os.access(f, os.X_OK):
                    found.append(os.path.realpath(f))
    if not found:
        log("ERROR: rtms-sim not found. Build it with\n"
            "  swift build --product rtms-sim --scratch-path .build-conformance\n"
            "or point RTMS_SIM at the binary.")
        sys.exit(2)
    return max(set(found), key=os.path.getmtime)


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

def stop_process(p, grace=5.0):
    """Ends a process this script started, by its pid: SIGTERM, then SIGKILL."""
    if p is None or p.poll() is not None:
        return
    try:
        p.send_signal(signal.SIGTERM)
        p.wait(grace)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)
    except ProcessLookupError:
        pass


class Sim:
    """One rtms-sim process serving one scripted meeting."""

    def __init__(self, binary, rundir, duration, tls):
        self.rundir = rundir
        self.tls = tls
        self.ca = os.path.join(rundir, "ca.pem") if tls else None
        cmd = [binary, "--host", "127.0.0.1", "--port", "0", "--print-started", "--duration", str(duration),
               "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--keepalive-ms", "1000"]
        if tls:
            cmd += ["--tls", "--ca-out", self.ca, "--url-host", "localhost"]
        else:
            cmd += ["--no-tls"]  # rtms-sim's default is wss://
        self.cmd = cmd
        self.err = open(os.path.join(rundir, "sim.err"), "w")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZM_RTMS_")}
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, stdin=subprocess.DEVNULL,
                                  text=True, cwd=rundir, env=env)
        self.lines = []
        self.started = threading.Event()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        with open(os.path.join(self.rundir, "sim.out"), "w") as f:
            for line in self.p.stdout:
                f.write(line)
                f.flush()
                self.lines.append(line)
                self.started.set()

    def started_body(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            for line in self.lines:
                try:
                    o = json.loads(line)
                except ValueError:
                    continue
                if o.get("event") == "meeting.rtms_started":
                    return o
            if self.p.poll() is not None:
                break
            self.started.wait(0.1)
        return None

    def control_url(self):
        try:
            txt = open(os.path.join(self.rundir, "sim.err")).read()
        except OSError:
            return None
        m = re.search(r"control (https?://\S+?)/meetings", txt)
        return m.group(1) if m else None

    def report(self, stream_id):
        base = self.control_url()
        if not base:
            return None
        ctx = ssl.create_default_context(cafile=self.ca) if self.tls else None
        try:
            with urllib.request.urlopen(f"{base}/streams/{stream_id}", timeout=5, context=ctx) as r:
                return json.loads(r.read())
        except Exception as e:  # noqa: BLE001
            return {"error": repr(e)}

    def stop(self):
        stop_process(self.p)
        self.err.close()


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------

class Checks:
    def __init__(self):
        self.items = []
        self.notes = []

    def check(self, ok, what, detail=""):
        self.items.append((bool(ok), what, detail))
        return ok

    @property
    def passed(self):
        return all(ok for ok, _, _ in self.items)

    def failures(self):
        return [(w, d) for ok, w, d in self.items if not ok]


def load_events(path):
    recs = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        recs.append(json.loads(line))
                    except ValueError:
                        recs.append({"cb": "UNPARSEABLE", "line": line[:200]})
    except OSError:
        pass
    return recs


def is_video_frame(head_hex):
    """H.264 Annex B access unit or JPEG."""
    return head_hex.startswith(("00000001", "000001", "ffd8"))


def bad(recs, pred):
    """Records failing pred, as a short detail string."""
    b = [r for r in recs if not pred(r)]
    return len(b), (json.dumps(b[0])[:300] if b else "")


def opus_20ms(r):
    """One Opus frame of 20 ms (RFC 6716 TOC: a 20 ms configuration, frame count code 0)."""
    head = r.get("head", "")
    if r["size"] < 1 or len(head) < 2:
        return False
    toc = int(head[:2], 16)
    cfg = toc >> 3
    if cfg < 12:
        frame = (480, 960, 1920, 2880)[cfg % 4]
    elif cfg < 16:
        frame = (480, 960)[cfg % 2]
    else:
        frame = (120, 240, 480, 960)[cfg % 4]
    return frame == 960 and toc & 3 == 0


def check_media(ck, by, kind, require_user=True, opus=False):
    recs = by.get(kind, [])
    if not ck.check(recs, f"{kind}: at least one callback", "none received"):
        return
    n, ex = bad(recs, lambda r: r["size"] > 0 and r["len"] == r["size"] and r["ts"] > 0)
    ck.check(n == 0, f"{kind}: size > 0, len(data) == size, timestamp > 0", f"{n} bad, e.g. {ex}")
    if require_user:
        n, ex = bad(recs, lambda r: r.get("userName") and r.get("userId") not in (None, 0, -1))
        ck.check(n == 0, f"{kind}: metadata userId and userName set", f"{n} bad, e.g. {ex}")
    if kind in ("video", "deskshare"):
        n, ex = bad(recs, lambda r: is_video_frame(r.get("head", "")))
        ck.check(n == 0, f"{kind}: payload is an H.264 access unit or a JPEG", f"{n} bad, e.g. {ex}")
    if kind == "audio":
        # The SDK asks for Opus by default (zoom/rtms#92); the simulator confirms it and sends one
        # 20 ms Opus packet a tick: the script's tones encoded with libopus, or Opus's silence frame
        # where libopus is missing (the report's "opus" counts which). With L16, whole 16-bit samples.
        if opus or all(r.get("head", "").startswith(("f8fffe", "fcfffe")) for r in recs[:5]):
            n, ex = bad(recs, opus_20ms)
            ck.check(n == 0, "audio: 20 ms Opus packets (Opus confirmed, the SDK's default request)", f"{n} bad, e.g. {ex}")
        else:
            n, ex = bad(recs, lambda r: r["size"] % 2 == 0)
            ck.check(n == 0, "audio: whole 16-bit samples (L16 confirmed)", f"{n} bad, e.g. {ex}")


def check_transcript(ck, by):
    recs = by.get("transcript", [])
    if not ck.check(recs, "transcript: at least one callback", "none received"):
        return
    n, ex = bad(recs, lambda r: r["size"] > 0 and r["text"].strip() and r.get("utf8"))
    ck.check(n == 0, "transcript: non-empty UTF-8 text", f"{n} bad, e.g. {ex}")
    n, ex = bad(recs, lambda r: r.get("userName") and r.get("userId") not in (None, 0, -1))
    ck.check(n == 0, "transcript: metadata userName and userId set", f"{n} bad, e.g. {ex}")
    n, ex = bad(recs, lambda r: (r.get("startTs") or 0) > 0 and (r.get("endTs") or 0) >= r["startTs"])
    ck.check(n == 0, "transcript: metadata startTs > 0 and endTs >= startTs", f"{n} bad, e.g. {ex}")


def evaluate(case, recs, report):
    ck = Checks()
    by = {}
    for r in recs:
        by.setdefault(r.get("cb"), []).append(r)
    errors = by.get("error", []) + by.get("UNPARSEABLE", [])
    ck.check(not errors, "driver ran without errors", json.dumps(errors[:2])[:300])
    jc = by.get("join_confirm", [])
    ck.check([r["reason"] for r in jc] == [0], "join_confirm(0), exactly once", f"got {[r['reason'] for r in jc]}")
    sent_opus = (report or {}).get("opus", {})
    # Mixed audio (the ALL socket gets the protocol default data_opt 1) carries no speaker of its
    # own: the SDK reports userId -1 until an active-speaker event names one.
    check_media(ck, by, "audio", require_user=case != "c_all",
                opus=sent_opus.get("encoded", 0) + sent_opus.get("silence", 0) > 0)
    check_media(ck, by, "video")
    check_media(ck, by, "deskshare")
    check_transcript(ck, by)
    leaves = [r["reason"] for r in by.get("leave", [])]
    joins = [r for r in by.get("user_update", []) if r.get("op") == 0 and r.get("name")]
    ck.check(joins, "on_user_update: a join (op 0) with a name", f"user_update: {by.get('user_update', [])[:3]}")
    evs = by.get("event_ex", [])
    parsed = []
    for r in evs:
        try:
            parsed.append(json.loads(r["raw"]))
        except (ValueError, TypeError):
            pass
    ck.check(evs and len(parsed) == len(evs) and all("event_type" in o for o in parsed),
             "on_event_ex: seen, each a JSON object with event_type", f"{len(evs)} seen, {len(parsed)} parsed")
    ck.check(any(r.get("op") == 1 for r in by.get("session_update", [])), "on_session_update: ADD (op 1)",
             f"session_update ops: {[r.get('op') for r in by.get('session_update', [])]}")
    ck.check(leaves == [6], "on_leave(6) (TERMINATED, meeting ended), exactly once", f"got {leaves}")
    # on_leave closes the session: no SDK callback may follow it.
    sdk_cbs = {"join_confirm", "session_update", "user_update", "audio", "video", "deskshare", "transcript",
               "event_ex", "participant_event", "active_speaker", "sharing_event", "participant_video", "leave"}
    seq = [r["cb"] for r in recs if r.get("cb") in sdk_cbs]
    ck.check(seq and seq[-1] == "leave", "on_leave is the last callback", f"last: {seq[-3:]}")
    # Everything the simulator sent arrived (the SDK drops malformed messages silently). The last
    # frames may race the TERMINATED on the signaling socket, hence the 90 % floor.
    # The simulator's view: split mode is one media socket per type, ALL one unified socket; the
    # stream ended with reason 6 and every socket closed; keep-alive requests were answered.
    conns = sorted(c.get("connection", "") for c in (report or {}).get("connections", []))
    want = sorted(["signaling", "media(32)"] if case == "c_all" else
                  ["signaling", "media(1)", "media(2)", "media(4)", "media(8)"])
    ck.check(conns == want, f"simulator saw connections {want}", f"saw {conns}")
    open_conns = [c for c in (report or {}).get("connections", []) if c.get("closed_ms") is None]
    ck.check(report and report.get("state") == "ended" and report.get("stop_reason") == 6 and not open_conns,
             "simulator: stream ended (stop reason 6), all sockets closed",
             f"state {(report or {}).get('state')}, stop_reason {(report or {}).get('stop_reason')}, open {open_conns}")
    ka_sent, ka_ok = (report or {}).get("keepalives_sent", 0), (report or {}).get("keepalives_answered", 0)
    ck.check(ka_sent == 0 or ka_ok >= 1, "keep-alive requests answered",
             f"{ka_ok} of {ka_sent} answered")
    sent = (report or {}).get("sent") or {}
    for kind in ("audio", "video", "deskshare", "transcript"):
        got, s = len(by.get(kind, [])), sent.get(kind)
        if s is None:
            ck.check(False, f"{kind}: delivered vs sent", f"no simulator report: {report}")
        else:
            ck.check(s > 0 and 0.9 * s <= got <= s, f"{kind}: delivered {got} of {s} sent (>= 90 %)",
                     f"delivered {got}, simulator sent {s}")
    # Not a check: the simulator sends FIRST_PACKET_TIMESTAMP right after the signaling handshake,
    # before the client is ready, and Zoom's SDK drops events it receives before join confirm.
    first = sum(1 for o in parsed if o.get("event_type") == 1)
    ck.notes = [f"FIRST_PACKET_TIMESTAMP (event_type 1) surfaced through on_event_ex: {first}"]
    counts = {k: len(v) for k, v in sorted(by.items())}
    return ck, counts, leaves


# SDK log lines that are Zoom's client's own behaviour, not a reaction to something wrong on the
# wire (seen in its logs while it joined this simulator and Zoom's own test servers).
KNOWN_SDK_LINES = [
    (r"handle_event_update, unsupport event type: [56]\b",
     "sharing start/stop: logged as unsupported, still surfaced through on_event_ex"),
    (r"handle_participant_leave, get participants failed, ret: 3",
     "the SDK's participant-leave parser fails for every shape; on_event_ex still fires"),
    (r"load ca location failed|create_ssl_ctx load ca failed|export_ssl_error.*No such file",
     "rtms_init with an empty CA path (plain ws://)"),
    (r"DNS resolve failed, ip version: 2|dns_provider_t::(sync_resolve failed|sync_resolve duplicate item|"
     r"async_resolve_i, ctx->m_host = localhost)|poll_t::rm_fd the fd has been not registered",
     "no IPv6 address for localhost: the SDK drops that attempt and connects over IPv4"),
    (r"async_socket_mt::close application layer should be not use the reason scope .* reason = 6\b",
     "the SDK hands the stop reason (6) to its own socket close after TERMINATED"),
    (r"SSL alert write.*close notify", "TLS close_notify on the orderly close"),
]


def sdk_log_summary(rundir):
    """Distinct warning/error lines of the SDK's own log (./logs/*.log of the run dir), split into
    known official-SDK behaviour and unexplained lines."""
    pat = re.compile(r"\t(WARN|WARNING|ERROR|FATAL)\t|failed|unsupport", re.I)
    seen, known, unexplained = set(), {}, []
    for f in sorted(glob.glob(os.path.join(rundir, "logs", "*.log"))):
        for line in open(f, errors="replace"):
            if not pat.search(line):
                continue
            key = re.sub(r"0x[0-9a-f]+|\d+", "N", line.split("\t", 3)[-1].strip())[:200]
            if key in seen:
                continue
            seen.add(key)
            note = next((n for rx, n in KNOWN_SDK_LINES if re.search(rx, line)), None)
            if note:
                known.setdefault(note, line.strip()[:300])
            else:
                unexplained.append(line.strip()[:400])
    return known, unexplained


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------

def run_case(case, py, sim_bin, outdir, duration):
    rundir = os.path.join(outdir, case)
    shutil.rmtree(rundir, ignore_errors=True)
    os.makedirs(os.path.join(rundir, "logs"))
    t0 = time.time()
    tls = case == "wss"
    sim = Sim(sim_bin, rundir, duration, tls)
    drv = None
    report = None
    setup = Checks()
    try:
        body = sim.started_body(timeout=30)
        if not setup.check(body is not None, "simulator printed the rtms_started webhook body",
                           open(os.path.join(rundir, "sim.err")).read()[-500:]):
            return setup, {}, [], time.time() - t0, rundir, None
        payload = body["payload"]
        url, mid, sid = payload["server_urls"], payload["meeting_uuid"], payload["rtms_stream_id"]
        prefix = "wss://localhost:" if tls else "ws://127.0.0.1:"
        setup.check(url.startswith(prefix), f"server_urls starts with {prefix}", url)
        if tls:
            setup.check(os.path.isfile(sim.ca), "simulator wrote its CA certificate (--ca-out)", sim.ca)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZM_RTMS_")}
        if tls:
            env["ZM_RTMS_CA"] = sim.ca
        cmd = [py, DRIVER, "--api", "c" if case == "c_all" else "python", "--url", url, "--meeting", mid,
               "--stream", sid, "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET,
               "--events-out", os.path.join(rundir, "client.jsonl"), "--deadline", str(duration + 25)]
        if case == "c_all":
            # Not 8/9 (participant video on/off): the SDK's C shim leaves those two ops slots unset
            # (rtms_connector::set_ops copies 9 of 11) and calls a NULL pointer on the event.
            cmd += ["--media-types", "32", "--subscribe", "2,3,4,5,6,7"]
        with open(os.path.join(rundir, "client.out"), "w") as out:
            drv = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=rundir, env=env)
            try:
                drv.wait(duration + 45)
            except subprocess.TimeoutExpired:
                with open(os.path.join(rundir, "client.jsonl"), "a") as f:
                    f.write(json.dumps({"cb": "error", "error": "driver killed by the runner's timeout"}) + "\n")
                stop_process(drv, grace=2)
        report = sim.report(sid)
        with open(os.path.join(rundir, "sim-report.json"), "w") as f:
            json.dump(report, f, indent=1)
    finally:
        stop_process(drv, grace=2)
        sim.stop()
    ck, counts, leaves = evaluate(case, load_events(os.path.join(rundir, "client.jsonl")), report)
    ck.items[:0] = setup.items
    if drv is not None and drv.returncode not in (0, None):
        ck.check(False, "driver exit status 0", f"exit status {drv.returncode}")
    return ck, counts, leaves, time.time() - t0, rundir, report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma list of {', '.join(CASES)}")
    ap.add_argument("--duration", type=float, default=12, help="scripted meeting length, seconds (>= 10: deskshare runs 40-60 %% of it)")
    ap.add_argument("--out", default=os.environ.get("CONFORMANCE_OUT"),
                    help="directory for run artifacts (default: a new temporary directory) [CONFORMANCE_OUT]")
    a = ap.parse_args()
    cases = [c for c in a.cases.split(",") if c]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {unknown}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))  # run the finally blocks: kill children

    if not (sys.platform.startswith("linux") and os.uname().machine == "x86_64"):
        skip(f"{RTMS_REQ} ships its Linux wheel for x86_64 only (this is {sys.platform}/{os.uname().machine})")
    py = ensure_venv()
    sim_bin = find_sim()
    outdir = os.path.abspath(a.out) if a.out else tempfile.mkdtemp(prefix="rtms-conformance-")
    os.makedirs(outdir, exist_ok=True)
    log(f"official client: {RTMS_REQ} ({py})\nsimulator: {sim_bin}\nartifacts: {outdir}")

    summary, all_ok = {}, True
    for case in cases:
        log(f"\n=== case {case} ===")
        ck, counts, leaves, secs, rundir, report = run_case(case, py, sim_bin, outdir, a.duration)
        all_ok &= ck.passed
        for ok, what, detail in ck.items:
            log(f"  {'ok  ' if ok else 'FAIL'} {what}" + ("" if ok else f"\n         {detail}"))
        log(f"  callbacks: {json.dumps(counts)}")
        for note in ck.notes:
            log(f"  note: {note}")
        if report and "sent" in report:
            log(f"  simulator sent: {json.dumps(report['sent'])}; events {report.get('events_sent')}; "
                f"keep-alives {report.get('keepalives_answered')}/{report.get('keepalives_sent')} answered; "
                f"subscribed {report.get('subscribed')}; stop_reason {report.get('stop_reason')}")
        known, unexplained = sdk_log_summary(rundir)
        for note, line in known.items():
            log(f"  SDK log (known official-SDK behaviour: {note}):\n    {line}")
        for line in unexplained[:15]:
            log(f"  SDK log UNEXPLAINED: {line}")
        log(f"  {'PASS' if ck.passed else 'FAIL'} {case} in {secs:.1f} s ({rundir})")
        summary[case] = {"pass": ck.passed, "seconds": round(secs, 1), "counts": counts, "leave": leaves,
                         "failures": ck.failures(), "sdk_log_unexplained": unexplained,
                         "sim_report": report}
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    log("\n" + " ".join(f"{c}:{'PASS' if s['pass'] else 'FAIL'}({s['seconds']}s)" for c, s in summary.items()))
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
