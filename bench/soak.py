#!/usr/bin/env python3
"""Soak: many streams under the simulator's seeded chaos for a long time, through the Python binding.

    python3 bench/soak.py                          # 100 streams, 30 minutes, one fault a second
    python3 bench/soak.py --minutes 10 --streams 50 --seed 3 --out soak.json --md soak.md
    python3 bench/soak.py --smoke                  # seconds (CI): 6 streams, every check asserted

One client process (this one) joins, with OpenRTMS's `rtms` package over the core's C ABI,
every stream the simulator announces by webhook to the core's own intake (rtms.WebhookServer:
signature, replay window, dedupe, routing of failovers and interruptions to the live clients).
The simulator injects a random fault about every second (its seeded chaos: sockets aborted,
closed or frozen, keep-alives muted, failovers and interruptions announced by webhook, refused
reconnections, redelivered webhooks). Streams end after a random lifetime (--stream-minutes) and
are replaced, so the client keeps --streams streams joined while it joins and leaves hundreds.
A second process posts a steady trickle of bad requests to the intake (bad, missing and stale
signatures, garbage and event-less bodies, wrong paths and methods, oversized bodies, stalled
heads and bodies, idle connections) with signed pings among them, and checks every answer.

Checks (the run exits 1 with the failing ones listed):
  - every stream recovers or ends with a reason: at the end each is live with audio flowing or
    has left with a reason; none stays silent longer than --stall-seconds without ending;
  - no audio sequence is delivered twice; every sequence the simulator sent (its stream report)
    was received, except inside a gap the client measured (from its first sign of trouble:
    on_reconnecting, stream state INTERRUPTED, to the first audio after on_reconnected);
  - no descriptor, memory or thread growth: /proc/self (descriptors less the intake's open
    connections, RSS, threads) sampled each minute, the first samples after warm-up against the
    last ones, with a stated tolerance; after teardown no socket to the simulator is left;
  - the webhook intake: every bad request gets its refusal (401, 400, 404, 413, or its
    connection closed at the header/body timeout), its counters agree with what was sent, every
    signed ping and every simulator webhook (each stream's announcement, each failover, each
    interruption) reaches the application once, nothing forged or repeated does;
  - the client never fell behind (no media dropped for a full queue): drops the machine caused
    would not be the product's.

Environment: RTMS_LIBRARY (librtms.so; default as bench/run.py), RTMS_SIM (rtms-sim; default as
bench/run.py). The core's RTMS_* knobs apply; --smoke shortens the liveness and backoff ones.
"""

import argparse
import bisect
import ctypes
import gc
import hashlib
import hmac
import json
import os
import random
import re
import select
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import weakref

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(ROOT, ".ci-work", "bench")

CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET = "soak-client", "soak-client-secret", "soak-webhook-secret"
WEBHOOK_PATH = "/soak/webhook"
RATE_MS = 20            # one audio message per 20 ms per stream (L16, 16 kHz, mono: 640 bytes)
BASE_MARGIN = 1024      # bitmap slots kept before a stream's first audio timestamp
STATS_KEPT = ("dropped_queue_full", "dropped_unexpected", "rejoins", "media_reconnects")
STATE_NAMES = {0: "IDLE", 1: "CONNECTING", 2: "MEDIA", 3: "JOINED", 4: "ENDED", 5: "RECONNECTING"}


def default_path(env, candidates, what):
    if os.environ.get(env):
        return os.environ[env]
    for p in candidates:
        if os.path.exists(p):
            return p
    raise SystemExit("soak: no %s; set %s" % (what, env))


# ------------------------------------------------------------------------------------------------
# /proc helpers
# ------------------------------------------------------------------------------------------------

def proc_status(pid="self"):
    out = {}
    try:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "Threads"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def fd_count(pid="self"):
    try:
        return len(os.listdir("/proc/%s/fd" % pid))
    except OSError:
        return -1


def cpu_seconds(pid):
    """user + system CPU of a process, in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_cpu():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def own_sockets_to(port):
    """This process's TCP sockets to `port` it has not closed (ESTABLISHED or CLOSE_WAIT)."""
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            t = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue
        if t.startswith("socket:["):
            mine.add(t[8:-1])
    out = []
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[9] in mine and int(f[2].rsplit(":", 1)[1], 16) == port and f[3] in ("01", "08"):
                out.append("%d %s" % (int(f[1].rsplit(":", 1)[1], 16), "ESTABLISHED" if f[3] == "01" else "CLOSE_WAIT"))
    return out


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                                               "uordblks", "fordblks", "keepcost")]


def malloc_kb():
    """(in use, held) KiB of glibc's malloc in this process (mallinfo2; None elsewhere): what the core
    and Python's larger objects hold, apart from RSS's high-water marks and fragmentation."""
    try:
        f = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None, None
    f.restype = _Mallinfo2
    m = f()
    return (m.uordblks + m.hblkhd) // 1024, (m.arena + m.hblkhd) // 1024


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))]


def median(values):
    return statistics.median(values) if values else None


# ------------------------------------------------------------------------------------------------
# The trickle of bad requests (a child process: its sockets are not the client's)
# ------------------------------------------------------------------------------------------------

def sign(ts, body):
    return "v0=" + hmac.new(WEBHOOK_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()


def read_response(sock, deadline):
    """(status, body) of one HTTP response, or (None, why) when the connection ends first."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return None, "no response"
        except OSError as e:
            return None, "reset (%s)" % e.__class__.__name__
        if not chunk:
            return None, "closed without a response"
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None, "bad status line %r" % lines[0][:60]
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip() or 0)
    while len(rest) < length:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        rest += chunk
    return status, rest[:length].decode("utf-8", "replace")


class Trickle:
    """Bad requests at `rate` a second, kinds in shuffled rounds; slow ones held concurrently."""

    FAST = {   # kind: expected status
        "bad-signature": 401, "no-signature": 401, "stale-timestamp": 401, "garbage-unsigned": 401,
        "garbage-signed": 400, "no-event": 400, "wrong-path": 404, "get": 404,
        "too-large-declared": 413, "too-large-streamed": 413, "ping": 200, "ping-repeated": 200,
    }
    SLOW = {"stalled-head": "header", "idle-connection": "header", "stalled-body": "body"}
    MAX_SLOW = 3   # of each slow kind open at once

    def __init__(self, port, rate, seed, header_timeout_s, body_timeout_s):
        self.port, self.rate = port, rate
        self.rng = random.Random(seed)
        self.timeouts = {"header": header_timeout_s, "body": body_timeout_s}
        self.kinds = {k: {"sent": 0, "right": 0, "wrong": [], "statuses": {}} for k in list(self.FAST) + list(self.SLOW)}
        self.slow = []            # [kind, sock, t0, deadline]
        self.slow_close_s = {k: [] for k in self.SLOW}
        self.pings = []           # nonces answered 200
        self.repeated = []        # nonces sent a second time, byte for byte
        self.last_ping = None     # (nonce, raw request) for a repeat
        self.ping_ms = []
        self.nonce = 0
        self.stop = False

    def raw(self, method, path, body=b"", headers=(), close=True):
        h = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1:%d" % self.port, "User-Agent: soak-trickle"]
        h += ["%s: %s" % kv for kv in headers]
        if body is not None:
            h.append("Content-Length: %d" % len(body))
        if close:
            h.append("Connection: close")
        return ("\r\n".join(h) + "\r\n\r\n").encode() + (body or b"")

    def signed(self, body, ts=None):
        ts = ts or str(int(time.time()))
        return [("Content-Type", "application/json"), ("x-zm-request-timestamp", ts), ("x-zm-signature", sign(ts, body))]

    def forged_started(self):
        n = self.rng.randrange(1 << 30)
        return json.dumps({"event": "meeting.rtms_started", "event_ts": int(time.time() * 1000), "payload": {
            "meeting_uuid": "forged-%d" % n, "rtms_stream_id": "forged%08x" % n,
            "server_urls": "ws://127.0.0.1:9/signaling"}}).encode()

    def note(self, kind, ok, what):
        k = self.kinds[kind]
        k["statuses"][str(what)] = k["statuses"].get(str(what), 0) + 1
        if ok:
            k["right"] += 1
        elif len(k["wrong"]) < 5:
            k["wrong"].append(str(what))

    def fast(self, kind):
        self.kinds[kind]["sent"] += 1
        expected = self.FAST[kind]
        if kind == "too-large-streamed":
            return self.streamed_too_large()
        body, headers, method, path = b"", [], "POST", WEBHOOK_PATH
        if kind == "bad-signature":
            body = self.forged_started()
            ts = str(int(time.time()))
            headers = [("x-zm-request-timestamp", ts), ("x-zm-signature", "v0=" + hashlib.sha256(body).hexdigest())]
        elif kind == "no-signature":
            body = self.forged_started()
        elif kind == "stale-timestamp":
            body = self.forged_started()
            headers = self.signed(body, str(int(time.time()) - 3600))
        elif kind == "garbage-unsigned":
            body = bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 2048)))
        elif kind == "garbage-signed":
            body = b"{not json " + bytes(self.rng.randrange(32, 127) for _ in range(200))
            headers = self.signed(body)
        elif kind == "no-event":
            body = json.dumps({"payload": {"rtms_stream_id": "x"}, "event_ts": int(time.time() * 1000)}).encode()
            headers = self.signed(body)
        elif kind == "wrong-path":
            body = self.forged_started()
            headers = self.signed(body)
            path = WEBHOOK_PATH + "-other"
        elif kind == "get":
            method, body = "GET", None
        elif kind == "too-large-declared":
            # The head declares 2 MiB (the limit is 1 MiB): refused before any body is read.
            req = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                   % (WEBHOOK_PATH, 2 << 20)).encode()
            return self.exchange(kind, req, expected)
        elif kind in ("ping", "ping-repeated"):
            if kind == "ping-repeated" and self.last_ping:
                nonce, req = self.last_ping
                self.last_ping = None
                status = self.exchange(kind, req, expected)
                if status == 200:
                    self.repeated.append(nonce)
                return status
            self.nonce += 1
            nonce = "%d-%d" % (os.getpid(), self.nonce)
            body = json.dumps({"event": "soak.ping", "event_ts": int(time.time() * 1000), "payload": {"nonce": nonce}}).encode()
            req = self.raw("POST", WEBHOOK_PATH, body, self.signed(body))
            t0 = time.monotonic()
            status = self.exchange(kind, req, expected)
            if status == 200:
                self.ping_ms.append((time.monotonic() - t0) * 1000)
                self.pings.append(nonce)
                self.last_ping = (nonce, req)
            return status
        return self.exchange(kind, self.raw(method, path, body, headers), expected)

    def exchange(self, kind, req, expected):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        except OSError as e:
            self.note(kind, False, "connect failed: %s" % e)
            return None
        try:
            s.sendall(req)
            status, body = read_response(s, time.monotonic() + 5)
        except OSError as e:
            status, body = None, "send failed: %s" % e
        finally:
            s.close()
        self.note(kind, status == expected, status if status is not None else body)
        return status

    def streamed_too_large(self):
        """A chunked body that grows past the limit: 413 once it crosses it. The server closes
        with bytes still unread, so the answer may be lost to the reset that follows: then the
        refusal is the reset after more than the limit was sent (the intake's counter tells)."""
        kind = "too-large-streamed"
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        except OSError as e:
            self.note(kind, False, "connect failed: %s" % e)
            return None
        sent, status, why = 0, None, ""
        chunk = b"x" * 65536
        try:
            s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                       "Connection: close\r\n\r\n" % WEBHOOK_PATH).encode())
            while sent < (3 << 20):
                r, _, _ = select.select([s], [], [], 0)
                if r:
                    break
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
            status, why = read_response(s, time.monotonic() + 5)
        except OSError as e:
            why = "reset (%s)" % e.__class__.__name__
        finally:
            s.close()
        if status is None and why.startswith("reset") and sent > (1 << 20):
            self.note(kind, True, "reset after the limit")
            return 413
        self.note(kind, status == 413, status if status is not None else "%s after %d bytes" % (why, sent))
        return status

    def open_slow(self, kind):
        self.kinds[kind]["sent"] += 1
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            if kind == "stalled-head":
                s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: appl" % WEBHOOK_PATH).encode())
            elif kind == "stalled-body":
                s.sendall(self.raw("POST", WEBHOOK_PATH, None, [("Content-Type", "application/json"), ("Content-Length", "400")])
                          + b'{"event":"meeting.rtms_started","payload":{')
        except OSError as e:
            self.note(kind, False, "connect failed: %s" % e)
            return
        s.setblocking(False)
        limit = self.timeouts[self.SLOW[kind]]
        self.slow.append([kind, s, time.monotonic(), time.monotonic() + 2 * limit + 15])

    def check_slow(self, wait=0.0):
        if not self.slow:
            return
        r, _, _ = select.select([e[1] for e in self.slow], [], [], wait)
        now = time.monotonic()
        keep = []
        for e in self.slow:
            kind, s, t0, deadline = e
            limit = self.timeouts[self.SLOW[kind]]
            if s in r:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                took = now - t0
                if data:
                    self.note(kind, False, "answered %r" % data[:40])
                else:
                    # Closed by the server at its timeout: not before it, and not long after it (a
                    # loaded machine runs timers late, by seconds on this one: up to twice it + 5 s).
                    self.slow_close_s[kind].append(round(took, 3))
                    ok = limit - 0.5 <= took <= 2 * limit + 5
                    self.note(kind, ok, "closed at the %s timeout" % self.SLOW[kind] if ok else "closed after %.1f s" % took)
                s.close()
            elif now > deadline:
                self.note(kind, False, "still open after %.0f s (timeout %.0f s)" % (now - t0, limit))
                s.close()
            else:
                keep.append(e)
        self.slow = keep

    def run(self):
        order = []
        period = 1.0 / self.rate
        next_t = time.monotonic()
        while not self.stop:
            if not order:
                order = list(self.FAST) + list(self.SLOW)
                self.rng.shuffle(order)
            kind = order.pop()
            if kind in self.SLOW:
                if sum(1 for e in self.slow if e[0] == kind) < self.MAX_SLOW:
                    self.open_slow(kind)
            else:
                self.fast(kind)
            next_t = max(next_t + period, time.monotonic() - 1.0)   # no burst after a slow answer
            while True:
                rem = next_t - time.monotonic()
                if rem <= 0:
                    break
                if self.slow:
                    self.check_slow(rem)
                else:
                    time.sleep(rem)
        # Wait for what is still open to be closed by the server.
        while self.slow:
            self.check_slow(0.5)

    def summary(self):
        return {"kinds": self.kinds, "pings": self.pings, "repeated": self.repeated,
                "ping_ms": {"p50": pct(self.ping_ms, 0.5), "p99": pct(self.ping_ms, 0.99), "max": max(self.ping_ms or [0])},
                "slow_close_s": {k: {"min": min(v), "max": max(v)} for k, v in self.slow_close_s.items() if v}}


def trickle_main(port, rate, seed, header_s, body_s):
    t = Trickle(port, rate, seed, header_s, body_s)

    def watch_stdin():
        sys.stdin.read()   # the parent closes it to stop us
        t.stop = True
    threading.Thread(target=watch_stdin, daemon=True).start()
    t.run()
    print(json.dumps(t.summary()))
    sys.stdout.flush()


# ------------------------------------------------------------------------------------------------
# The soak
# ------------------------------------------------------------------------------------------------

class StreamRec:
    """What the client saw of one stream, and what the simulator says it sent."""

    __slots__ = ("sid", "slot", "lifetime_s", "body", "created", "state", "announced", "failover_webhooks",
                 "interrupted_webhooks", "stopped_webhooks", "client", "join_confirms", "join_reason", "joined", "base", "bits",
                 "received", "dups", "dup_count", "offgrid", "reordered", "last_k", "last_audio", "gaps", "open_gap",
                 "reconnecting", "reconnected", "orphan_reconnected", "errors", "leave_reason", "leave_text", "left", "stats",
                 "stall", "replaced", "verified", "report_state", "last_signaling_path")

    def __init__(self, sid, slot, lifetime_s, body):
        self.sid, self.slot, self.lifetime_s, self.body = sid, slot, lifetime_s, body
        self.created = time.monotonic()
        self.state = "created"   # created, joining, live, ended, failed
        self.announced = None    # when the first rtms_started reached the application
        self.failover_webhooks = 0
        self.interrupted_webhooks = 0
        self.stopped_webhooks = 0
        self.client = None
        self.join_confirms = 0
        self.join_reason = None
        self.joined = None
        self.base = None
        self.bits = None
        self.received = 0
        self.dups = []
        self.dup_count = 0
        self.offgrid = 0
        self.reordered = 0
        self.last_k = -1
        self.last_audio = None
        self.gaps = []
        self.open_gap = None
        self.reconnecting = 0
        self.reconnected = 0
        self.orphan_reconnected = 0
        self.errors = {}
        self.leave_reason = None
        self.leave_text = None
        self.left = None
        self.stats = None
        self.stall = None        # longest silence over the limit, seconds (while live)
        self.replaced = False
        self.verified = None
        self.report_state = None
        self.last_signaling_path = None


class Soak:
    def __init__(self, a):
        self.a = a
        self.lock = threading.RLock()
        self.recs = []
        self.by_sid = {}
        self.early = {}          # rtms_started bodies for streams not registered yet
        self.delivered = set()   # (event, stream, event_ts, nonce) the application got
        self.dup_delivered = []
        self.unexpected = []
        self.pings_got = {}
        self.retired = []        # (time, client): released in a callback, dropped later
        self.failures = []
        self.checks = []
        self.samples = []
        self.rng = random.Random(a.seed)
        self.meeting_no = 0
        self.sim = None
        self.sim_err = []
        self.t_chaos = None
        self.webhooks_delivered = 0
        self.clients_alive = weakref.WeakSet()   # rtms.Client objects not yet freed (a binding leak would show)
        self.error_examples = {}

    # -- simulator -------------------------------------------------------------------------------

    def control(self, method, path, body=None, timeout=30):
        req = urllib.request.Request(self.sim_url + path, data=json.dumps(body).encode() if body is not None else None,
                                     method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"null")

    def start_sim(self, webhook_port):
        cmd = [self.a.sim, "--host", "127.0.0.1", "--port", "0", "--meetings", "0", "--no-tls",
               "--webhook-url", "http://127.0.0.1:%d%s" % (webhook_port, WEBHOOK_PATH), "--webhook-secret", WEBHOOK_SECRET,
               "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
        self.sim = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.sim.stderr.readline()
        m = re.search(r"listening on port (\d+)", line)
        if not m:
            raise SystemExit("soak: the simulator did not start: %s" % line.strip())
        self.sim_port = int(m.group(1))
        self.sim_url = "http://127.0.0.1:%d" % self.sim_port

        def drain():
            for line in self.sim.stderr:
                self.sim_err.append(line.rstrip())
                del self.sim_err[:-200]
        threading.Thread(target=drain, daemon=True, name="sim-stderr").start()

    def new_meeting(self, slot):
        self.meeting_no += 1
        if self.a.stream_seconds > 0:
            lifetime = self.a.stream_seconds * self.rng.uniform(0.5, 1.5)
        else:
            lifetime = self.a.run_seconds + 900
        body = self.control("POST", "/meetings", {"duration_ms": int(lifetime * 1000), "seed": self.a.seed * 100000 + self.meeting_no})
        sid = body["payload"]["rtms_stream_id"]
        rec = StreamRec(sid, slot, lifetime, body)
        with self.lock:
            self.recs.append(rec)
            self.by_sid[sid] = rec
            early = self.early.pop(sid, None)
        if early is not None:
            self.announced(rec, early)
        return rec

    # -- webhooks --------------------------------------------------------------------------------

    def on_webhook(self, body):
        self.webhooks_delivered += 1
        ev = body.get("event")
        p = body.get("payload") or {}
        sid = p.get("rtms_stream_id")
        key = hash((ev, sid, body.get("event_ts"), p.get("nonce")))
        with self.lock:
            if key in self.delivered:
                self.dup_delivered.append("%s %s %s" % (ev, sid, body.get("event_ts")))
                return
            self.delivered.add(key)
            if ev == "soak.ping":
                self.pings_got[p.get("nonce")] = self.pings_got.get(p.get("nonce"), 0) + 1
                return
            rec = self.by_sid.get(sid)
            if ev == "meeting.rtms_started":
                if rec is None:
                    self.early[sid] = body
                    return
                if rec.announced is not None:
                    rec.failover_webhooks += 1   # routed to the live client by the core
                    return
            elif ev == "meeting.rtms_interrupted" and rec is not None:
                rec.interrupted_webhooks += 1
                return
            elif ev == "meeting.rtms_stopped" and rec is not None:
                rec.stopped_webhooks += 1
                return
            else:
                if len(self.unexpected) < 20:
                    self.unexpected.append("%s %s" % (ev, sid))
                return
        self.announced(rec, body)

    def announced(self, rec, body):
        with self.lock:
            if rec.announced is not None:
                return
            rec.announced = time.monotonic()
            rec.state = "joining"
        c = self.rtms.Client()
        self.clients_alive.add(c)
        c.set_audio_params(self.rtms.AudioParams(content_type=2, codec=1, sample_rate=1, channel=1, data_opt=1,
                                                 duration=RATE_MS, frame_size=16 * RATE_MS))
        c.on_audio_data(self.on_audio(rec))
        c.on_join_confirm(lambda reason: self.on_join_confirm(rec, reason))
        c.on_leave(lambda reason: self.on_leave(rec, reason))
        c.on_reconnecting(lambda conn, attempt, delay, cause: self.on_reconnecting(rec, conn, attempt, cause))
        c.on_reconnected(lambda conn, gap: self.on_reconnected(rec, conn, gap))
        c.on_stream_state(lambda state, reason: self.on_stream_state(rec, state, reason))
        c.on_error(lambda code, text: self.on_error(rec, code, text))
        rec.client = c
        self.loop.add(c)
        c.join(body)

    # -- client callbacks (the event loop's thread) ----------------------------------------------

    def on_audio(self, rec):
        size = max(4096, int((rec.lifetime_s + 120) * 1000 / RATE_MS / 8) + BASE_MARGIN // 8 + 1)
        rec.bits = bytearray(size)

        def cb(data, n, ts, md):
            now = time.monotonic()
            if rec.base is None:
                rec.base = ts - RATE_MS * BASE_MARGIN
            d = ts - rec.base
            if d < 0 or d % RATE_MS:
                rec.offgrid += 1
                return
            k = d // RATE_MS
            byte, bit = k >> 3, 1 << (k & 7)
            bits = rec.bits
            if byte >= len(bits):
                bits.extend(bytes(max(byte + 1 - len(bits), len(bits))))
            if bits[byte] & bit:
                rec.dup_count += 1
                if len(rec.dups) < 10:
                    rec.dups.append(ts)
            else:
                bits[byte] |= bit
                rec.received += 1
            if k < rec.last_k:
                rec.reordered += 1
            else:
                rec.last_k = k
            g = rec.open_gap
            if g is not None:
                prev = rec.last_audio if rec.last_audio is not None else g["t_open"]
                g["silence"] = max(g["silence"], now - prev)
            rec.last_audio = now
            if g is not None and (g["reconnected"] or not g["reconnecting"]):
                g["end_k"] = k
                # The window: last audio before the first sign of trouble to the first audio after
                # recovery; the silence: the longest wait between two audio messages inside it.
                g["audio_gap_ms"] = round((now - (g["t_last_audio"] or g["t_open"])) * 1000, 1)
                g["silence_ms"] = round(g["silence"] * 1000, 1)
                rec.gaps.append(g)
                rec.open_gap = None
        return cb

    def disrupt(self, rec, cause):
        g = rec.open_gap
        if g is None:
            rec.open_gap = {"t_open": time.monotonic(), "wall_open_ms": int(time.time() * 1000), "start_k": rec.last_k,
                            "t_last_audio": rec.last_audio, "causes": [cause], "reconnecting": False, "reconnected": False,
                            "core_gap_ms": [], "end_k": None, "silence": 0.0}
            g = rec.open_gap
        elif len(g["causes"]) < 6:
            g["causes"].append(cause)
        if cause.startswith("reconnecting"):
            g["reconnecting"] = True

    def on_join_confirm(self, rec, reason):
        rec.join_confirms += 1
        if reason == 0:
            if rec.joined is None:
                rec.joined = time.monotonic()
            if rec.state == "joining":
                rec.state = "live"
            return
        if rec.state in ("joining", "live"):
            rec.join_reason = reason
            rec.leave_text = rec.client.failure()
            rec.stats = rec.client.stats()
            self.finish(rec, "failed")

    def on_leave(self, rec, reason):
        rec.leave_reason = reason
        rec.leave_text = rec.client.failure()
        rec.stats = rec.client.stats()
        self.finish(rec, "ended")

    def finish(self, rec, state):
        rec.left = time.monotonic()
        g = rec.open_gap
        if g is not None:
            g["ended"] = True
            rec.gaps.append(g)
            rec.open_gap = None
        rec.state = state
        c = rec.client
        c.leave()   # safe inside a callback; the object is dropped later, not while its callback runs
        with self.lock:
            self.retired.append((time.monotonic(), c))

    def on_reconnecting(self, rec, conn, attempt, cause):
        rec.reconnecting += 1
        self.disrupt(rec, "reconnecting %s #%d: %s" % ("signaling" if conn == 0 else "media(%d)" % conn, attempt, cause[:100]))

    def on_reconnected(self, rec, conn, gap_ms):
        rec.reconnected += 1
        g = rec.open_gap
        if g is None:
            rec.orphan_reconnected += 1
            return
        g["reconnected"] = True
        g["core_gap_ms"].append(gap_ms)

    def on_stream_state(self, rec, state, reason):
        if state == 2:   # INTERRUPTED
            self.disrupt(rec, "stream state INTERRUPTED (reason %d)" % reason)

    def on_error(self, rec, code, text):
        rec.errors[code] = rec.errors.get(code, 0) + 1
        if code not in self.error_examples:
            self.error_examples[code] = text[:200]

    # -- checks ----------------------------------------------------------------------------------

    def check(self, name, ok, detail):
        self.checks.append({"check": name, "ok": bool(ok), "detail": detail})
        if not ok:
            self.failures.append("%s: %s" % (name, detail))

    def compare(self, rec, report):
        """Sent (the simulator's list) against received (the bitmap), losses against the gaps."""
        started = report.get("started_ms") or 0
        sent = (report.get("sent_sequences") or {}).get("audio") or []
        out = {"sent": len(sent), "received_total": rec.received, "dups": rec.dup_count, "offgrid": rec.offgrid,
               "reordered": rec.reordered, "lost": 0, "lost_in_gaps": 0, "lost_outside": [], "phantom": 0}
        if rec.base is None:
            # No audio ever arrived: only a gap that never closed (the stream ended in it) explains it.
            in_gap = rec.open_gap is not None or any(g["end_k"] is None for g in rec.gaps)
            out.update(lost=len(sent), received=0, never_received=True, lost_in_gaps=len(sent) if in_gap else 0)
            out["lost_outside_count"] = out["lost"] - out["lost_in_gaps"]
            if sent and not in_gap:
                out["lost_outside"] = [{"seq": sent[0], "why": "no audio ever received"}]
            return out
        if (rec.base - started) % RATE_MS:
            out["misaligned"] = True
        shift = (rec.base - started) // RATE_MS      # seq = k + shift
        bits = rec.bits
        got = lambda k: 0 <= k < len(bits) * 8 and bits[k >> 3] & (1 << (k & 7))  # noqa: E731
        sent_set = set(sent)
        top = sent[-1] if sent else 0
        # Received but never sent (up to the last sequence of the report).
        for byte_i, b in enumerate(bits):
            if b:
                for j in range(8):
                    if b & (1 << j):
                        seq = byte_i * 8 + j + shift
                        if seq <= top and seq not in sent_set:
                            out["phantom"] += 1
        gaps = sorted(((g["start_k"], g["end_k"] if g["end_k"] is not None else 1 << 62) for g in rec.gaps), key=lambda x: x[0])
        if rec.open_gap is not None:
            gaps.append((rec.open_gap["start_k"], 1 << 62))
            gaps.sort()
        starts = [s for s, _ in gaps]
        for seq in sent:
            k = seq - shift
            if got(k):
                continue
            out["lost"] += 1
            i = bisect.bisect_left(starts, k) - 1
            inside = any(s < k < e for s, e in gaps[max(0, i - 8):i + 1])
            if inside:
                out["lost_in_gaps"] += 1
            elif len(out["lost_outside"]) < 5:
                out["lost_outside"].append({
                    "seq": seq, "k": k, "last_k": rec.last_k, "last_sent": seq == top, "sent": len(sent),
                    "client": rec.state, "left": rec.leave_reason, "server": report.get("state"),
                    "stop_reason": report.get("stop_reason"), "gaps": len(rec.gaps),
                    "dropped_unexpected": (rec.stats or {}).get("dropped_unexpected"),
                    "s_from_last_audio_to_leave": round(rec.left - rec.last_audio, 3) if rec.left and rec.last_audio else None,
                    # After the last message received, in a stream the server ended: sent before the
                    # end, never delivered before on_leave.
                    "tail": k > rec.last_k and rec.state == "ended" and report.get("state") == "ended"})
        out["lost_outside_count"] = out["lost"] - out["lost_in_gaps"]
        out["received"] = len(sent) - out["lost"]
        return out

    def verify(self, rec):
        try:
            report = self.control("GET", "/streams/%s" % rec.sid, timeout=60)
        except Exception as e:   # noqa: BLE001
            rec.verified = {"error": "no report: %s" % e}
            return
        rec.report_state = report.get("state")
        rec.verified = self.compare(rec, report)
        # Where the stream's signaling is now: after failovers, at the announced server.
        sig = [c for c in report.get("connections", []) if c.get("connection") == "signaling"]
        rec.last_signaling_path = sig[-1]["path"] if sig else None
        if rec.state in ("ended", "failed"):
            # Keep the summary only: the harness's own memory must not grow with the streams it saw
            # (the released rtms.Client, its callbacks and thunks go too; it was released >= 2 s ago).
            rec.bits = rec.body = rec.dups = rec.client = None
            rec.stats = {k: (rec.stats or {}).get(k, 0) for k in STATS_KEPT}
            rec.gaps = [dict(wall_open_ms=g["wall_open_ms"], audio_gap_ms=g.get("audio_gap_ms"), silence_ms=g.get("silence_ms"),
                             core_gap_ms=g["core_gap_ms"], end_k=g["end_k"], causes=g["causes"][:1]) for g in rec.gaps]
            rec.verified = {k: v for k, v in rec.verified.items() if v}   # zeros are implied (x.get(k, 0))

    # -- sampling --------------------------------------------------------------------------------

    def sample(self, phase):
        gc.collect()   # released clients sit in reference cycles until a full collection: count what is alive
        st = proc_status()
        wh = self.intake.stats()
        with self.lock:
            live = sum(1 for r in self.recs if r.state == "live")
        s = {"t": round(time.monotonic() - self.t_chaos, 1) if self.t_chaos else 0, "phase": phase, "fds": fd_count() - 1,
             "intake_open": wh.get("connections_open", 0), "rss_kb": st.get("VmRSS", 0), "threads": st.get("Threads", 0),
             "live": live, "sim_fds": fd_count(self.sim.pid), "sim_rss_kb": proc_status(self.sim.pid).get("VmRSS", 0)}
        s["fds_net"] = s["fds"] - s["intake_open"]
        s["malloc_in_use_kb"], s["malloc_held_kb"] = malloc_kb()
        s["py_blocks"] = sys.getallocatedblocks()   # Python objects alive (the harness's own included)
        s["clients_alive"] = len(self.clients_alive)
        self.samples.append(s)
        return s

    def progress(self, s):
        with self.lock:
            ended = sum(1 for r in self.recs if r.state in ("ended", "failed"))
            rec_n = sum(r.reconnected for r in self.recs)
            audio = sum(r.received for r in self.recs)
            dups = sum(r.dup_count for r in self.recs)
        try:
            faults = len(self.control("GET", "/chaos").get("faults", []))
        except Exception:   # noqa: BLE001
            faults = -1
        print("soak: %6.0f s  live %d  ended %d  faults %d  reconnections %d  audio %d  dup %d  fds %d (+%d intake)  "
              "rss %.1f MiB  threads %d" % (s["t"], s["live"], ended, faults, rec_n, audio, dups, s["fds_net"],
                                            s["intake_open"], s["rss_kb"] / 1024, s["threads"]))
        sys.stdout.flush()

    # -- the run ---------------------------------------------------------------------------------

    def housekeeping(self, replace=True):
        now = time.monotonic()
        with self.lock:
            recs = list(self.recs)
            self.retired = [(t, c) for t, c in self.retired if now - t < 5]
        for rec in recs:
            if rec.state in ("ended", "failed") and rec.verified is None and now - rec.left > 2:
                self.verify(rec)
            if replace and rec.state in ("ended", "failed") and not rec.replaced:
                rec.replaced = True
                self.new_meeting(rec.slot)
            if rec.state == "live":
                silent = now - (rec.last_audio or rec.joined or now)
                if silent > self.a.stall_seconds:
                    rec.stall = max(rec.stall or 0, round(silent, 1))
            elif rec.state in ("created", "joining") and now - rec.created > self.a.stall_seconds:
                rec.stall = max(rec.stall or 0, round(now - rec.created, 1))

    def settled(self):
        now = time.monotonic()
        with self.lock:
            for r in self.recs:
                if r.state in ("created", "joining"):
                    return False
                if r.state == "live" and (r.open_gap is not None or r.last_audio is None or now - r.last_audio > 1.0):
                    return False
        return True

    def run(self):
        a = self.a
        os.environ.setdefault("RTMS_LIBRARY", a.lib)
        os.environ.setdefault("RTMS_LOG_LEVEL", "error")
        os.environ["ZM_RTMS_CLIENT"], os.environ["ZM_RTMS_SECRET"] = CLIENT_ID, CLIENT_SECRET
        if a.smoke:
            # Seconds, not minutes: liveness and backoff of the core shortened (RTMS_* knobs).
            for k, v in (("RTMS_KEEPALIVE_INTERVAL_MS", "3000"), ("RTMS_KEEPALIVE_TIMEOUT_MS", "4000"),
                         ("RTMS_RECONNECT_BASE_DELAY_MS", "500"), ("RTMS_CONNECTION_RETRY_DELAY_MS", "500")):
                os.environ.setdefault(k, v)
        sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
        import rtms
        self.rtms = rtms
        rtms.configure_logger({"level": "error"})
        knobs = {k: os.environ[k] for k in sorted(os.environ) if k.startswith("RTMS_") and k not in ("RTMS_LIBRARY", "RTMS_SIM")}

        t_begin = time.monotonic()
        load_begin = os.getloadavg()
        fds0 = fd_count() - 1
        # The intake: the core's listener (rtms_webhook_start), the binding's WebhookServer.
        self.intake = SoakIntake(a.header_timeout_ms, a.body_timeout_ms, port=0, path=WEBHOOK_PATH, host="127.0.0.1",
                                 secret=WEBHOOK_SECRET)
        if not self.intake.start(self.on_webhook):
            raise SystemExit("soak: the webhook intake did not start")
        self.start_sim(self.intake.port)
        self.loop = rtms.EventLoop(name="soak")
        self.loop.start()
        for _ in range(100):
            if self.control("GET", "/health").get("webhook_validated") is not None:
                break
            time.sleep(0.05)
        validated = self.control("GET", "/health").get("webhook_validated")
        self.check("webhook endpoint validation", validated is True,
                   "the simulator's endpoint.url_validation challenge answered by the intake: %s" % validated)
        before_join = {"fds": fd_count() - 1, "threads": proc_status().get("Threads", 0)}

        print("soak: %d streams, %s of chaos (a fault every %d ms on average, seed %d), bad requests %g/s; "
              "simulator port %d, intake port %d" % (a.streams, fmt_s(a.run_seconds), a.fault_every_ms, a.seed,
                                                      a.bad_per_second, self.sim_port, self.intake.port))
        sys.stdout.flush()
        for slot in range(a.streams):
            self.new_meeting(slot)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.lock:
                if all(r.state not in ("created", "joining") for r in self.recs):
                    break
            time.sleep(0.05)
        with self.lock:
            joined0 = sum(1 for r in self.recs if r.state == "live")
            join_ms = [1000 * (r.joined - r.created) for r in self.recs if r.joined]
        self.check("initial join", joined0 == a.streams, "%d of %d streams joined before the chaos, median %.0f ms from "
                   "creation (webhook, join) to join-confirm" % (joined0, a.streams, median(join_ms) or 0))

        # The trickle of bad requests: a process of its own (its sockets are not the client's).
        trickle = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--trickle-child", str(self.intake.port),
                                    str(a.bad_per_second), str(a.seed), str(a.header_timeout_ms / 1000.0),
                                    str(a.body_timeout_ms / 1000.0)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        cpu0 = {"client": sum(os.times()[:2]), "sim": cpu_seconds(self.sim.pid), "trickle": cpu_seconds(trickle.pid),
                "machine": machine_cpu()}
        self.control("POST", "/chaos", {"per_minute": 60000.0 / a.fault_every_ms, "seed": a.seed})
        self.t_chaos = time.monotonic()
        t_end = self.t_chaos + a.run_seconds
        next_sample = self.t_chaos
        next_progress = self.t_chaos + a.progress_seconds
        while time.monotonic() < t_end:
            self.housekeeping()
            now = time.monotonic()
            if now >= next_sample:
                s = self.sample("chaos")
                next_sample += a.sample_seconds
                if now >= next_progress:
                    self.progress(s)
                    next_progress += a.progress_seconds
            time.sleep(0.2)
        self.sample("chaos")
        self.control("POST", "/chaos", {"per_minute": 0})
        t_chaos_end = time.monotonic()
        cpu1 = {"client": sum(os.times()[:2]), "sim": cpu_seconds(self.sim.pid), "trickle": cpu_seconds(trickle.pid),
                "machine": machine_cpu()}
        trickle.stdin.close()

        # Recovery: until every stream is live with audio flowing or has ended.
        t_rec = time.monotonic()
        while time.monotonic() - t_rec < a.recovery_seconds:
            self.housekeeping(replace=False)
            if self.settled():
                break
            time.sleep(0.2)
        recovery_s = time.monotonic() - t_rec
        got = []
        reader = threading.Thread(target=lambda: got.append(trickle.stdout.read()), daemon=True)
        reader.start()
        reader.join(max(60, a.body_timeout_ms / 1000 + 30))
        try:
            tr = json.loads(got[0].strip().splitlines()[-1])
        except (ValueError, IndexError) as e:
            tr = {"error": "the trickle gave no summary (%s; exit %s)" % (e, trickle.poll())}
        if trickle.poll() is None:
            trickle.kill()
        trickle.wait()
        time.sleep(1)
        self.housekeeping(replace=False)

        # Final state of every stream, then the simulator's reports against what arrived.
        now = time.monotonic()
        faults = self.control("GET", "/chaos").get("faults", [])
        with self.lock:
            recs = list(self.recs)
        for rec in recs:
            if rec.state in ("ended", "failed") and rec.verified is None:
                self.verify(rec)
        live = [r for r in recs if r.state == "live"]
        snapshots = {}
        for rec in live:
            try:
                snapshots[rec.sid] = self.control("GET", "/streams/%s" % rec.sid, timeout=60)
            except Exception as e:   # noqa: BLE001
                snapshots[rec.sid] = {"error": str(e)}
        time.sleep(2)   # what the reports list as sent is delivered by now (or lost)
        for rec in live:
            rep = snapshots[rec.sid]
            if "error" in rep:
                rec.verified = {"error": rep["error"]}
                continue
            rec.report_state = rep.get("state")
            rec.verified = self.compare(rec, rep)
            sig = [c for c in rep.get("connections", []) if c.get("connection") == "signaling"]
            rec.last_signaling_path = sig[-1]["path"] if sig else None
        self.final_stats = {r.sid: r.client.stats() for r in live if r.client is not None}
        wh_stats = self.intake.stats()
        self.judge(recs, live, now, faults, tr, wh_stats)

        # The end of every stream reaches its client; then nothing of the clients is left.
        expect = {}
        for rec in live:
            try:
                # A stream whose meeting ended meanwhile keeps its own reason (MEETING_ENDED).
                expect[rec.sid] = self.control("POST", "/streams/%s/stop" % rec.sid, {"reason": 1}).get("stop_reason")
            except Exception as e:   # noqa: BLE001
                self.failures.append("could not stop stream %s: %s" % (rec.sid, e))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(r.state == "live" for r in live):
            time.sleep(0.1)
        not_left = [r.sid for r in live if r.state == "live"]
        wrong = ["%s: %s, not %s" % (r.sid, r.leave_reason, expect.get(r.sid)) for r in live
                 if r.state != "live" and r.leave_reason != expect.get(r.sid)]
        self.check("end reaches the client", not not_left and not wrong,
                   "%d live streams ended through the simulator (HOST_TRIGGERED, or MEETING_ENDED when the meeting "
                   "ended first): %d heard on_leave with the server's reason; not heard: %s; other reasons: %s" % (
                       len(live), len(live) - len(not_left) - len(wrong), not_left[:5], wrong[:5]))
        with self.lock:
            for r in self.recs:
                if r.client is not None and r.state in ("joining", "live"):
                    r.client.leave()
        time.sleep(1)
        with self.lock:
            self.retired = []
            for r in self.recs:
                r.client = None
        open_socks = own_sockets_to(self.sim_port)
        for _ in range(100):
            if not open_socks:
                break
            time.sleep(0.1)
            open_socks = own_sockets_to(self.sim_port)
        self.check("no socket left", not open_socks, "client sockets to the simulator still open after every stream "
                   "ended and every client was released: %d %s" % (len(open_socks), open_socks[:5]))
        after = {"fds": fd_count() - 1, "threads": proc_status().get("Threads", 0)}
        for _ in range(50):
            if after["fds"] - self.intake.stats().get("connections_open", 0) <= before_join["fds"] + 8:
                break
            time.sleep(0.1)
            after = {"fds": fd_count() - 1, "threads": proc_status().get("Threads", 0)}
        after["fds"] -= self.intake.stats().get("connections_open", 0)
        gc.collect()
        self.check("every client freed", len(self.clients_alive) == 0,
                   "rtms.Client objects still alive after teardown (and a garbage collection): %d of %d" % (
                       len(self.clients_alive), len(recs)))
        self.check("descriptors after teardown", after["fds"] <= before_join["fds"] + 8,
                   "%d descriptors after every client was released, %d before the first join (tolerance +8); "
                   "%d streams were joined meanwhile" % (after["fds"], before_join["fds"], len(recs)))
        self.loop.stop()
        self.sim.terminate()
        try:
            self.sim.wait(10)
        except subprocess.TimeoutExpired:
            self.sim.kill()
        self.intake.stop()

        cpu = {k: cpu1[k] - cpu0[k] for k in ("client", "sim", "trickle")}
        busy = (cpu1["machine"][0] - cpu0["machine"][0]) / os.sysconf("SC_CLK_TCK")
        wall = t_chaos_end - self.t_chaos
        ncpu = os.cpu_count() or 1
        machine = {"cores": ncpu, "cpu_model": cpu_model(), "load_begin": [round(x, 2) for x in load_begin],
                   "load_end": [round(x, 2) for x in os.getloadavg()],
                   "cpu_pct_of_one_core": {"client": round(100 * cpu["client"] / wall, 1), "simulator": round(100 * cpu["sim"] / wall, 1),
                                           "trickle": round(100 * cpu["trickle"] / wall, 1),
                                           "machine": round(100 * busy / wall, 1),
                                           "others": round(100 * (busy - sum(cpu.values())) / wall, 1)}}
        self.results = self.summarize(recs, faults, tr, wh_stats, machine, knobs, recovery_s, t_begin, fds0, before_join, after)
        return not self.failures

    # -- judging ---------------------------------------------------------------------------------

    def judge(self, recs, live, now, faults, tr, wh):
        a = self.a
        self.at_end = {"created": len(recs), "ended": sum(1 for r in recs if r.state == "ended"),
                       "join_failed": sum(1 for r in recs if r.state == "failed"), "live_at_end": len(live)}
        self.reasons_at_end = count_reasons(recs, self.rtms)
        # 1. Every stream recovers or ends with a reason.
        names = {}
        bad = []
        for r in recs:
            if r.state == "live":
                silent = now - (r.last_audio or 0)
                if r.last_audio is None or silent > 3:
                    bad.append("%s live but silent %.1f s (state %s, %d reconnections, open gap %s)" % (
                        r.sid, silent, STATE_NAMES.get(r.client.state() if r.client else -1), r.reconnected,
                        (r.open_gap or {}).get("causes")))
                elif r.report_state not in (None, "running"):
                    bad.append("%s live for the client, %s on the simulator" % (r.sid, r.report_state))
            elif r.state in ("ended", "failed"):
                reason = r.leave_reason if r.state == "ended" else r.join_reason
                try:
                    name = self.rtms.StopReason(reason).name
                except ValueError:
                    name = None
                key = "%s %s (%s)" % ("left" if r.state == "ended" else "join failed", reason, name or "?")
                names[key] = names.get(key, 0) + 1
                if name is None or reason == 0:
                    bad.append("%s %s with no readable reason (%s, %r)" % (r.sid, r.state, reason, r.leave_text))
            else:
                bad.append("%s never joined: %s (announced: %s)" % (r.sid, r.state, r.announced is not None))
        stalled = [(r.sid, r.stall) for r in recs if r.stall]
        self.check("every stream recovers or ends with a reason", not bad,
                   "%d streams: %d live with audio flowing, %d ended (%s); %s" % (
                       len(recs), sum(1 for r in recs if r.state == "live") - sum(1 for b in bad if " live " in b),
                       sum(1 for r in recs if r.state in ("ended", "failed")),
                       ", ".join("%s × %d" % kv for kv in sorted(names.items())) or "none",
                       ("not: " + "; ".join(bad[:5])) if bad else "none stuck"))
        self.check("no stall", not stalled, "no stream silent more than %g s without ending: %s" % (
            a.stall_seconds, ", ".join("%s %.0f s" % s for s in stalled[:5]) or "none"))
        # 2. Exactly once, losses inside the measured gaps.
        v = [r.verified for r in recs if r.verified is not None and "error" not in r.verified]
        errs = [(r.sid, r.verified["error"]) for r in recs if r.verified is not None and "error" in r.verified]
        unverified = [r.sid for r in recs if r.verified is None and r.state in ("live", "ended", "failed")]
        dups = sum(x.get("dups", 0) for x in v)
        self.check("no duplicate", dups == 0, "%d audio sequences delivered twice%s" % (dups, "" if not dups else ": " + ", ".join(
            "%s %s" % (r.sid, r.dups[:3]) for r in recs if r.dup_count)[:300]))
        lost = sum(x.get("lost", 0) for x in v)
        outside = [(r.sid, r.verified["lost_outside"]) for r in recs if r.verified and r.verified.get("lost_outside")]
        phantom = sum(x.get("phantom", 0) for x in v)
        offgrid = sum(x.get("offgrid", 0) for x in v)
        mis = [r.sid for r in recs if r.verified and r.verified.get("misaligned")]
        self.check("losses only inside measured gaps", not outside and not errs and not unverified,
                   "%d sent, %d received, %d lost, all inside gaps the client measured: %s%s%s" % (
                       sum(x.get("sent", 0) for x in v), sum(x.get("received", 0) for x in v), lost, "yes" if not outside else
                       "no: %d outside, %d of them sent just before the server ended the stream and never delivered before "
                       "on_leave (%s)" % (sum(x.get("lost_outside_count", 0) for x in v),
                                          sum(1 for _, lo in outside for e in lo if e.get("tail")), json.dumps(outside[:3])),
                       "; no report for %s" % errs[:3] if errs else "", "; not compared: %s" % unverified[:3] if unverified else ""))
        self.check("nothing the simulator did not send", phantom == 0 and offgrid == 0 and not mis,
                   "%d received sequences absent from the simulator's reports, %d timestamps off the 20 ms grid, "
                   "%d streams misaligned" % (phantom, offgrid, len(mis)))
        # 3. Growth, from the samples.
        self.judge_growth()
        # 4. The machine kept up.
        qf = sum((r.stats or self.final_stats.get(r.sid) or {}).get("dropped_queue_full", 0) for r in recs)
        qe = sum(r.errors.get(700, 0) for r in recs)
        self.check("client kept up", qf == 0 and qe == 0, "%d media messages dropped for a full queue, %d QUEUE_FULL "
                   "warnings (the machine, not the product, would be the cause)" % (qf, qe))
        # 5. Webhooks: the simulator's reach the application once; the bad ones are refused.
        self.judge_webhooks(recs, faults, tr, wh)

    def judge_growth(self):
        a = self.a
        post = [s for s in self.samples if s["phase"] == "chaos" and s["t"] >= a.warmup_seconds]
        k = 3 if len(post) >= 6 else 2
        if len(post) < 2 * k:
            self.check("no growth", False, "only %d samples after the %g s warm-up; need %d" % (len(post), a.warmup_seconds, 2 * k))
            return
        first, last = post[:k], post[-k:]
        self.growth = {}
        for key, unit, tol_abs, tol_rel in (("fds_net", "descriptors", 10, 0.05), ("rss_kb", "KiB RSS", 8 * 1024, 0.10),
                                            ("threads", "threads", 2, 0.0)):
            f = median([s[key] for s in first])
            l = median([s[key] for s in last])
            tol = tol_abs + tol_rel * f
            xs = [s["t"] for s in post]
            ys = [s[key] for s in post]
            slope = linear_slope(xs, ys) * 3600
            self.growth[key] = {"first": f, "last": l, "growth": l - f, "tolerance": round(tol, 1), "per_hour": round(slope, 1)}
            self.check("no %s growth" % unit.split()[-1].lower(), l - f <= tol,
                       "%s: median of the first %d samples after warm-up %g, of the last %d %g: %+g (tolerance %g = %g + %d %%); "
                       "trend %+.1f per hour" % (unit, k, f, k, l, l - f, round(tol, 1), tol_abs, int(tol_rel * 100), slope))
        # malloc in use (glibc's mallinfo2): the core's memory and Python's larger objects, without
        # RSS's allocator retention; a leak of a few KiB a stream shows here over a thousand streams.
        if all(s.get("malloc_in_use_kb") is not None for s in post):
            f, l = median([s["malloc_in_use_kb"] for s in first]), median([s["malloc_in_use_kb"] for s in last])
            tol = 4096 + 0.10 * f
            slope = linear_slope([s["t"] for s in post], [s["malloc_in_use_kb"] for s in post]) * 3600
            self.growth["malloc_in_use_kb"] = {"first": f, "last": l, "growth": l - f, "tolerance": round(tol, 1), "per_hour": round(slope, 1)}
            self.check("no malloc growth", l - f <= tol,
                       "KiB malloc in use: median of the first %d samples after warm-up %g, of the last %d %g: %+g (tolerance %g = "
                       "4096 + 10 %%); trend %+.1f per hour" % (k, f, k, l, l - f, round(tol, 1), slope))
        # Not checks: memory malloc holds (in use + free it keeps), Python objects alive (the
        # harness's bookkeeping among them), rtms.Client objects not freed yet.
        for key in ("malloc_held_kb", "py_blocks", "clients_alive"):
            if all(s.get(key) is not None for s in post):
                f, l = median([s[key] for s in first]), median([s[key] for s in last])
                self.growth[key] = {"first": f, "last": l, "growth": l - f,
                                    "per_hour": round(linear_slope([s["t"] for s in post], [s[key] for s in post]) * 3600, 1)}

    def judge_webhooks(self, recs, faults, tr, wh):
        by_stream = {}
        counts = {}
        for f in faults:
            counts[f["fault"]] = counts.get(f["fault"], 0) + 1
            by_stream.setdefault(f["rtms_stream_id"], []).append(f)
        self.fault_counts = counts
        announced = sum(1 for r in recs if r.announced is not None)
        miss_fo, miss_int = [], []
        for r in recs:
            fs = by_stream.get(r.sid, [])
            fo = sum(1 for f in fs if f["fault"] == "failover")
            it = sum(1 for f in fs if f["fault"] == "interrupt" and f.get("hit", 1) > 0)
            if r.failover_webhooks != fo:
                miss_fo.append("%s %d/%d" % (r.sid, r.failover_webhooks, fo))
            if r.interrupted_webhooks < it:
                miss_int.append("%s %d/%d" % (r.sid, r.interrupted_webhooks, it))
        self.check("simulator webhooks delivered", announced == len(recs) and not miss_fo and not miss_int,
                   "%d of %d streams announced to the application (each joined from its webhook); failover announcements "
                   "delivered for %d failovers%s; interruptions for %d%s" % (
                       announced, len(recs), counts.get("failover", 0), " (missing: %s)" % miss_fo[:5] if miss_fo else "",
                       counts.get("interrupt", 0), " (missing: %s)" % miss_int[:5] if miss_int else ""))
        # Live streams follow failovers to the announced server.
        moved = []
        for r in recs:
            fo = [f for f in by_stream.get(r.sid, []) if f["fault"] == "failover"]
            if r.state == "live" and fo and r.last_signaling_path != "/signaling/failover-%d" % len(fo):
                moved.append("%s at %s after %d failovers" % (r.sid, r.last_signaling_path, len(fo)))
        self.check("failovers followed", not moved, "live streams whose signaling is at the server last announced: %s" % (
            "all" if not moved else "not " + "; ".join(moved[:5])))
        with self.lock:
            leftover = list(self.early)
        self.check("nothing forged or repeated reaches the application", not leftover and not self.dup_delivered and not self.unexpected,
                   "announcements of unknown streams: %s; deliveries seen twice: %s; unexpected events: %s" % (
                       leftover[:5] or "none", self.dup_delivered[:5] or "none", self.unexpected[:5] or "none"))
        if "error" in tr:
            self.check("bad requests refused", False, tr["error"])
            return
        kinds = tr["kinds"]
        wrong = {k: v["wrong"] for k, v in kinds.items() if v["sent"] != v["right"]}
        unsent = [k for k, v in kinds.items() if v["sent"] == 0]
        total = sum(v["sent"] for v in kinds.values())
        self.check("bad requests refused", not wrong and not unsent,
                   "%d requests of %d kinds, each answered as expected: %s%s" % (
                       total, len(kinds), "yes" if not wrong else "no: %s" % json.dumps(wrong)[:400],
                       "; never sent: %s" % unsent if unsent else ""))

        def n(*ks):
            return sum(kinds[k]["sent"] for k in ks)
        want = {"unauthorized": n("bad-signature", "no-signature", "stale-timestamp", "garbage-unsigned"),
                "malformed": n("garbage-signed", "no-event"), "not_found": n("wrong-path", "get"),
                "too_large": n("too-large-declared", "too-large-streamed"), "header_timeouts": n("stalled-head"),
                "idle_timeouts": n("idle-connection"),
                "body_timeouts": n("stalled-body"), "refused": 0, "accept_errors": 0}
        diff = {k: (wh.get(k), v) for k, v in want.items() if wh.get(k) != v}
        self.check("intake counters agree", not diff, "the intake counted what the trickle sent: %s" % (
            "yes (%s)" % ", ".join("%s %d" % kv for kv in want.items() if kv[1]) if not diff else
            "no (intake, sent): %s" % diff))
        dropped = wh.get("dropped_queue_full", 0)
        self.check("intake queue", dropped == 0 and self.webhooks_delivered == wh.get("accepted"),
                   "%d events accepted, %d delivered to the callback (rtms_webhook_poll), dropped_queue_full %d%s" % (
                       wh.get("accepted", 0), self.webhooks_delivered, dropped,
                       "" if not dropped or self.webhooks_delivered != wh.get("accepted") else
                       ": counted as dropped although every accepted event reached the application"))
        pings = tr["pings"]
        missing = [p for p in pings if self.pings_got.get(p) != 1]
        self.check("real webhooks get through", not missing and len(pings) > 0,
                   "%d signed pings among the bad requests answered 200 and each delivered once (%d repeated byte for byte, "
                   "answered 200 and not delivered again); latency p50 %.1f ms, p99 %.1f ms, max %.1f ms%s" % (
                       len(pings), len(tr["repeated"]), tr["ping_ms"]["p50"] or 0, tr["ping_ms"]["p99"] or 0,
                       tr["ping_ms"]["max"] or 0, "; not delivered once: %s" % missing[:5] if missing else ""))

    # -- results ---------------------------------------------------------------------------------

    def summarize(self, recs, faults, tr, wh, machine, knobs, recovery_s, t_begin, fds0, before_join, after):
        a = self.a
        gaps = [g for r in recs for g in r.gaps]
        audio_gaps = [g["audio_gap_ms"] for g in gaps if g.get("audio_gap_ms") is not None]
        silences = [g["silence_ms"] for g in gaps if g.get("silence_ms") is not None]
        core_gaps = [x for g in gaps for x in g["core_gap_ms"]]
        # Each gap's likely fault: the last one on its stream shortly before it opened.
        by_stream = {}
        for f in faults:
            by_stream.setdefault(f["rtms_stream_id"], []).append(f)
        by_fault = {}
        longest = []
        for r in recs:
            fs = by_stream.get(r.sid, [])
            for g in r.gaps:
                if g.get("audio_gap_ms") is None:
                    continue
                cands = [f for f in fs if g["wall_open_ms"] - 30000 <= f["at_ms"] <= g["wall_open_ms"] + 200]
                kind = cands[-1]["fault"] if cands else "(none on this stream)"
                by_fault.setdefault(kind, []).append(g["silence_ms"])
                longest.append({"stream": r.sid, "silence_ms": g["silence_ms"], "window_ms": g["audio_gap_ms"],
                                "core_gap_ms": g["core_gap_ms"], "fault": kind, "first_sign": g["causes"][0], "at_ms": g["wall_open_ms"]})
        longest.sort(key=lambda x: -x["silence_ms"])
        v = [r.verified for r in recs if r.verified and "error" not in r.verified]
        stats_all = [r.stats or self.final_stats.get(r.sid) or {} for r in recs]
        return {
            "ok": not self.failures, "failures": self.failures, "checks": self.checks,
            "options": {"streams": a.streams, "minutes": a.minutes, "seconds": a.run_seconds, "fault_every_ms": a.fault_every_ms,
                        "seed": a.seed, "stream_minutes": a.stream_minutes, "bad_per_second": a.bad_per_second,
                        "smoke": a.smoke, "stall_seconds": a.stall_seconds, "warmup_seconds": a.warmup_seconds,
                        "sample_seconds": a.sample_seconds, "header_timeout_ms": a.header_timeout_ms,
                        "body_timeout_ms": a.body_timeout_ms, "core_knobs": knobs},
            "machine": machine, "wall_s": round(time.monotonic() - t_begin, 1), "recovery_s": round(recovery_s, 1),
            "streams": self.at_end,
            "faults": {"total": len(faults), "by_kind": getattr(self, "fault_counts", {}),
                       "hit_nothing": sum(1 for f in faults if f.get("hit", 1) == 0)},
            "reconnections": {"reconnecting_calls": sum(r.reconnecting for r in recs), "reconnected": sum(r.reconnected for r in recs),
                              "rejoins": sum(s.get("rejoins", 0) for s in stats_all),
                              "media_reconnects": sum(s.get("media_reconnects", 0) for s in stats_all),
                              "orphan_reconnected": sum(r.orphan_reconnected for r in recs)},
            "gaps": {"count": len(gaps), "closed": len(audio_gaps),
                     "window_ms": {"p50": pct(audio_gaps, 0.5), "p99": pct(audio_gaps, 0.99), "max": max(audio_gaps or [0])},
                     "silence_ms": {"p50": pct(silences, 0.5), "p99": pct(silences, 0.99), "max": max(silences or [0])},
                     "core_gap_ms": {"p50": pct(core_gaps, 0.5), "p99": pct(core_gaps, 0.99), "max": max(core_gaps or [0])},
                     "by_fault": {k: {"n": len(x), "p50": pct(x, 0.5), "max": max(x)} for k, x in sorted(by_fault.items())},
                     "longest": longest[:20]},
            "audio": {"sent": sum(x.get("sent", 0) for x in v), "received": sum(x.get("received", 0) for x in v),
                      "duplicates": sum(x.get("dups", 0) for x in v), "lost": sum(x.get("lost", 0) for x in v),
                      "lost_in_gaps": sum(x.get("lost_in_gaps", 0) for x in v), "reordered": sum(x.get("reordered", 0) for x in v),
                      "dropped_unexpected": sum(s.get("dropped_unexpected", 0) for s in stats_all)},
            "errors_by_code": merge_errors(recs, self.error_examples),
            "leave_reasons": self.reasons_at_end,
            "intake": wh, "trickle": {k: v for k, v in tr.items() if k not in ("pings", "repeated")} if isinstance(tr, dict) else tr,
            "pings": len(tr.get("pings", [])) if isinstance(tr, dict) else 0,
            "growth": getattr(self, "growth", {}), "samples": self.samples,
            "descriptors": {"at_start": fds0, "before_first_join": before_join, "after_teardown": after},
            "sim_stderr_tail": self.sim_err[-20:],
        }


class SoakIntake:
    """rtms.WebhookServer with the connection timeouts set (struct rtms_webhook_options version 2,
    which the binding does not expose; --smoke shortens them so stalled requests end in seconds)."""

    def __new__(cls, header_ms, body_ms, **kw):
        import rtms
        from rtms import _native as N

        class Intake(rtms.WebhookServer):
            def _options(self, port):
                o = super()._options(port)
                if header_ms == 10000 and body_ms == 30000:
                    return o   # the defaults: version 1 as the binding sends it

                class V2(ctypes.Structure):
                    _fields_ = N.rtms_webhook_options._fields_ + [("header_timeout_ms", ctypes.c_int), ("body_timeout_ms", ctypes.c_int),
                                                                  ("idle_timeout_ms", ctypes.c_int), ("max_connections", ctypes.c_int)]
                v2 = V2()
                ctypes.memmove(ctypes.byref(v2), ctypes.byref(o), ctypes.sizeof(o))
                v2.version, v2.header_timeout_ms, v2.body_timeout_ms, v2.idle_timeout_ms, v2.max_connections = 2, header_ms, body_ms, -1, -1
                self._keep = (o, v2)   # o owns the strings v2 points at
                return N.rtms_webhook_options.from_buffer(v2)
        return Intake(**kw)


def linear_slope(xs, ys):
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def merge_errors(recs, examples):
    out = {}
    for r in recs:
        for code, n in r.errors.items():
            e = out.setdefault(str(code), {"n": 0, "example": examples.get(code)})
            e["n"] += n
    return out


def count_reasons(recs, rtms):
    out = {}
    for r in recs:
        if r.state == "ended":
            key = "left %s" % r.leave_reason
        elif r.state == "failed":
            key = "join failed %s" % r.join_reason
        else:
            continue
        try:
            key += " " + rtms.StopReason(r.leave_reason if r.state == "ended" else r.join_reason).name
        except ValueError:
            pass
        e = out.setdefault(key, {"n": 0, "example": r.leave_text})
        e["n"] += 1
    return out


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def fmt_s(s):
    return "%d min" % (s // 60) if s >= 120 and s % 60 == 0 else "%g s" % s


def markdown(r):
    """The section for bench/RESULTS.md."""
    o, m = r["options"], r["machine"]
    cpu = m["cpu_pct_of_one_core"]
    lines = ["## Soak: %d streams, %s of chaos" % (o["streams"], fmt_s(o["seconds"])), "",
             "Command: `python3 bench/soak.py --streams %d --minutes %g --seed %d%s` (%.0f s in all). Machine: %d cores (%s), "
             "load average %s at the start, %s at the end. CPU over the chaos (100 %% = one core): client %.1f %%, "
             "simulator %.1f %%, trickle %.1f %%, the rest of the machine %.1f %%." % (
                 o["streams"], o["minutes"], o["seed"], "" if o["stream_minutes"] == 2 else " --stream-minutes %g" % o["stream_minutes"],
                 r["wall_s"], m["cores"], m["cpu_model"], "/".join(str(x) for x in m["load_begin"]),
                 "/".join(str(x) for x in m["load_end"]), cpu["client"], cpu["simulator"], cpu["trickle"], cpu["others"]), "",
             "| | |", "|---|---|",
             "| streams | %d joined at a time, %d in all (each lives %g min ± 50 %%, then is replaced); %d ended, %d join failures, %d live at the end |"
             % (o["streams"], r["streams"]["created"], o["stream_minutes"], r["streams"]["ended"], r["streams"]["join_failed"],
                r["streams"]["live_at_end"]),
             "| faults | %d (%s) |" % (r["faults"]["total"], ", ".join("%s %d" % kv for kv in sorted(r["faults"]["by_kind"].items()))),
             "| reconnections | %d (%d full rejoins, %d media reconnections) |" % (
                 r["reconnections"]["reconnected"], r["reconnections"]["rejoins"], r["reconnections"]["media_reconnects"]),
             "| audio | %d sent, %d received, %d duplicates, %d lost, %d of them inside measured gaps |" % (
                 r["audio"]["sent"], r["audio"]["received"], r["audio"]["duplicates"], r["audio"]["lost"], r["audio"]["lost_in_gaps"]),
             "| gaps | %d measured (first sign of trouble to the first audio after recovery); the longest silence of audio "
             "in each: p50 %s ms, p99 %s ms, max %s ms (the core's own gap_ms: p50 %s, p99 %s, max %s) |" % (
                 r["gaps"]["closed"], r["gaps"]["silence_ms"]["p50"], r["gaps"]["silence_ms"]["p99"], r["gaps"]["silence_ms"]["max"],
                 r["gaps"]["core_gap_ms"]["p50"], r["gaps"]["core_gap_ms"]["p99"], r["gaps"]["core_gap_ms"]["max"]),
             "| bad requests | %d (%s) and %d signed pings, each refused or delivered as expected |" % (
                 sum(v["sent"] for k, v in r["trickle"]["kinds"].items() if not k.startswith("ping")),
                 ", ".join("%s %d" % (k, v["sent"]) for k, v in sorted(r["trickle"]["kinds"].items()) if not k.startswith("ping")),
                 r["pings"])]
    g = r.get("growth", {})
    if g:
        lines.append("| growth after warm-up | descriptors %+g (%g → %g), RSS %+.1f MiB (%.1f → %.1f), threads %+g%s |" % (
            g["fds_net"]["growth"], g["fds_net"]["first"], g["fds_net"]["last"], g["rss_kb"]["growth"] / 1024,
            g["rss_kb"]["first"] / 1024, g["rss_kb"]["last"] / 1024, g["threads"]["growth"],
            ", malloc in use %+.1f MiB (%.1f → %.1f), live rtms.Client objects %g → %g" % (
                g["malloc_in_use_kb"]["growth"] / 1024, g["malloc_in_use_kb"]["first"] / 1024, g["malloc_in_use_kb"]["last"] / 1024,
                g["clients_alive"]["first"], g["clients_alive"]["last"]) if "malloc_in_use_kb" in g and "clients_alive" in g else ""))
    lines += ["", "Gaps by the last fault injected on their stream before they opened (within 30 s; a fault that "
              "breaks nothing, like a muted keep-alive or a redelivered webhook, is named when another fault's gap "
              "follows it):", "", "| fault | gaps | silence p50 ms | silence max ms |", "|---|---|---|---|"]
    for k, x in r["gaps"]["by_fault"].items():
        lines.append("| %s | %d | %s | %s |" % (k, x["n"], x["p50"], x["max"]))
    lines += ["", "| check | result |", "|---|---|"]
    for c in r["checks"]:
        lines.append("| %s | %s: %s |" % (c["check"], "met" if c["ok"] else "**failed**", c["detail"].replace("|", "/")))
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--trickle-child":
        port, rate, seed, header_s, body_s = sys.argv[2:7]
        return trickle_main(int(port), float(rate), int(seed), float(header_s), float(body_s))
    ap = argparse.ArgumentParser(description="OpenRTMS soak under the simulator's seeded chaos (see the module doc).")
    ap.add_argument("--streams", type=int, default=None, help="streams joined at a time (default 100; 6 with --smoke)")
    ap.add_argument("--minutes", type=float, default=None, help="length of the chaos (default 30; 14 s with --smoke)")
    ap.add_argument("--fault-every-ms", type=int, default=1000, help="mean time between faults (default 1000: one a second)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the chaos, the meetings and the trickle (default 1)")
    ap.add_argument("--stream-minutes", type=float, default=None,
                    help="mean lifetime of a stream before it ends and is replaced (±50 %%; default 2; 0 = the whole run)")
    ap.add_argument("--bad-per-second", type=float, default=None, help="bad requests a second to the intake (default 5; 10 with --smoke)")
    ap.add_argument("--stall-seconds", type=float, default=None, help="longest silence of a live stream (default 120; 20 with --smoke)")
    ap.add_argument("--out", default=None, help="JSON results (default .ci-work/bench/soak.json, soak-smoke.json with --smoke)")
    ap.add_argument("--md", default=None, help="also write the markdown section for bench/RESULTS.md here")
    ap.add_argument("--smoke", action="store_true", help="a seconds-long run (CI) that still asserts every check")
    a = ap.parse_args()
    a.lib = default_path("RTMS_LIBRARY", [os.path.join(ROOT, ".ci-work", "c-tests", "prefix", "lib", "librtms.so"),
                                          os.path.join(ROOT, ".build", "release", "libOpenRTMS.so"),
                                          os.path.join(ROOT, ".build", "debug", "libOpenRTMS.so")], "librtms")
    a.sim = default_path("RTMS_SIM", [os.path.join(ROOT, ".build-release", "release", "rtms-sim"),
                                      os.path.join(ROOT, ".build", "release", "rtms-sim"),
                                      os.path.join(ROOT, ".build", "debug", "rtms-sim")], "rtms-sim")
    if a.smoke:
        a.streams = a.streams or 6
        a.run_seconds = a.minutes * 60 if a.minutes else 14
        a.stream_minutes = 10 / 60.0 if a.stream_minutes is None else a.stream_minutes
        a.bad_per_second = a.bad_per_second or 10
        a.stall_seconds = a.stall_seconds or 20
        a.sample_seconds, a.progress_seconds = 2, 5
        a.warmup_seconds = 4
        a.recovery_seconds = 20
        a.header_timeout_ms, a.body_timeout_ms = 4000, 5000
    else:
        a.streams = a.streams or 100
        a.run_seconds = (a.minutes or 30) * 60
        a.stream_minutes = 2 if a.stream_minutes is None else a.stream_minutes
        a.bad_per_second = a.bad_per_second or 5
        a.stall_seconds = a.stall_seconds or 120
        a.sample_seconds = a.progress_seconds = 60 if a.run_seconds >= 600 else 10
        a.warmup_seconds = min(120, 0.2 * a.run_seconds)
        a.recovery_seconds = 90
        a.header_timeout_ms, a.body_timeout_ms = 10000, 30000
    a.minutes = a.run_seconds / 60.0
    a.stream_seconds = a.stream_minutes * 60
    out = a.out or os.path.join(WORK, "soak-smoke.json" if a.smoke else "soak.json")
    soak = Soak(a)
    try:
        ok = soak.run()
    finally:
        if soak.sim is not None and soak.sim.poll() is None:
            soak.sim.kill()
    r = soak.results
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(r, f, indent=1, sort_keys=True)
    if a.md:
        with open(a.md, "w") as f:
            f.write(markdown(r))
    for c in r["checks"]:
        print("soak: %-6s %s: %s" % ("ok" if c["ok"] else "FAILED", c["check"], c["detail"]))
    print("soak: %d streams in all, %d faults, %d reconnections, %d audio messages (%d lost, all in gaps: %s), "
          "%d bad requests; %.0f s; results in %s" % (
              r["streams"]["created"], r["faults"]["total"], r["reconnections"]["reconnected"], r["audio"]["received"],
              r["audio"]["lost"], r["audio"]["lost"] == r["audio"]["lost_in_gaps"],
              sum(v["sent"] for v in r["trickle"].get("kinds", {}).values()), r["wall_s"], out))
    if not ok:
        print("soak: FAILED (reproduce with: python3 bench/soak.py %s--streams %d --minutes %g --seed %d):" % (
            "--smoke " if a.smoke else "", a.streams, a.minutes, a.seed))
        for f in soak.failures:
            print("soak:   " + f)
        return 1
    print("soak: every check met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
