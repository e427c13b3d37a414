"""rtms.Fleet against a throwaway PostgreSQL (scripts/pg-test.sh) and the simulator: the fleet's
intake stores the signed rtms_started, the handler gets a Client that the fleet joined and that
receives audio, a signed rtms_stopped ends it (row ended in rtms.streams); the rtms_fleet_* error
paths on a live fleet; and two fleet nodes in two processes that share streams, one owner each,
where killing one hands its stream to the other. Skipped when PostgreSQL is not installed."""

import ctypes
import hashlib
import hmac
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

import rtms
from rtms import _native as N

from pgserver import PgServer
from simulator import CLIENT_ID, CLIENT_SECRET, Simulator

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "py-fleet-webhook-secret"
pg = None


def setUpModule():
    global pg
    pg = PgServer()


def tearDownModule():
    if pg is not None:
        pg.stop()


def wait_for(cond, seconds=20.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    return cond()


def post(url, body, secret=SECRET):
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "x-zm-request-timestamp": ts, "x-zm-signature": sig})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def stopped_body(started, reason):
    p = started["payload"]
    return json.dumps({"event": "meeting.rtms_stopped", "event_ts": int(time.time() * 1000), "payload": {
        "meeting_uuid": p["meeting_uuid"], "rtms_stream_id": p["rtms_stream_id"], "stop_reason": reason}}).encode()


def fleet_options(db, node):
    return dict(database_url=db, node_id=node, host="127.0.0.1", port=0, path="/zoom", webhook_secret=SECRET,
                client=CLIENT_ID, secret=CLIENT_SECRET, lease_ms=3000, renew_ms=500, lease_margin_ms=1000)


class TestFleetInProcess(unittest.TestCase):
    def test_a_posted_stream_is_joined_and_a_posted_rtms_stopped_ends_it(self):
        db = pg.database("join")
        fleet = rtms.Fleet(**fleet_options(db, "py-a"))
        self.addCleanup(fleet.close)
        seen = {"audio": 0, "join": [], "leave": [], "streams": [], "threads": set(), "clients": []}

        @fleet.on_stream
        def handle(client, stream):
            seen["threads"].add(threading.get_ident())
            seen["streams"].append(stream)
            seen["clients"].append(client)

            @client.on_audio_data
            def on_audio(data, size, timestamp, metadata):
                seen["threads"].add(threading.get_ident())
                seen["audio"] += 1

            client.on_join_confirm(lambda reason: seen["join"].append(reason))
            client.on_leave(lambda reason: seen["leave"].append(reason))

        loop = threading.Thread(target=fleet.run, name="fleet-loop", daemon=True)
        loop.start()
        url = "http://127.0.0.1:%d/zoom" % fleet.port
        sim = Simulator("--webhook-url", url, "--webhook-secret", SECRET)
        self.addCleanup(sim.close)
        started = sim.meeting(duration=60)
        sid = started["payload"]["rtms_stream_id"]
        self.assertTrue(wait_for(lambda: seen["audio"] >= 20), "the assigned client receives audio: %r" % seen)
        self.assertEqual(seen["join"], [0])
        stream = seen["streams"][0]
        self.assertEqual((stream.stream_id, stream.generation, stream.previous_owner), (sid, 1, None))
        self.assertEqual(stream.payload["meeting_uuid"], started["payload"]["meeting_uuid"])
        self.assertIsInstance(seen["clients"][0], rtms.Client)
        self.assertEqual((seen["clients"][0].uuid(), seen["clients"][0].stream_id()),
                         (started["payload"]["meeting_uuid"], sid), "a fleet client knows its ids, as Node's does")
        self.assertEqual(seen["threads"], {loop.ident}, "handler and callbacks run on the loop's thread")
        self.assertEqual(pg.query(db, "SELECT state, owner_node, generation FROM rtms.streams WHERE rtms_stream_id = '%s'" % sid),
                         [["owned", "py-a", "1"]])
        st = fleet.status()
        self.assertEqual((st["node_id"], st["held"], st["claims"], st["port"]), ("py-a", [sid], 1, fleet.port))
        self.assertEqual(list(fleet.clients), [sid])
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % fleet.port, timeout=10) as r:
            health = json.loads(r.read())
        self.assertEqual((r.status, health["status"], health["node_id"], health["streams"]), (200, "ok", "py-a", 1))
        # Zoom's retry of the same delivery (byte for byte) is stored once; a forgery is refused.
        sim.call("POST", "/streams/%s/redeliver" % sid)
        self.assertTrue(wait_for(lambda: fleet.status()["duplicates"] == 1, 10), "the retry was a duplicate")
        self.assertEqual(post(url, b'{"event":"meeting.rtms_started"}', secret="forged"), 401)
        # rtms_stopped posted to the intake: the fleet routes it to the client, which leaves; the row ends.
        self.assertEqual(post(url, stopped_body(started, 2)), 200)
        self.assertTrue(wait_for(lambda: seen["leave"], 10), "the client left")
        self.assertEqual(seen["leave"], [rtms.StopReason.USER_TRIGGERED])
        self.assertTrue(wait_for(lambda: pg.query(db, "SELECT state, end_reason FROM rtms.streams WHERE rtms_stream_id = '%s'" % sid)
                                 == [["ended", "2"]], 10))
        self.assertTrue(wait_for(lambda: fleet.status()["held"] == [] and fleet.clients == {}, 5))
        events = pg.query(db, "SELECT event FROM rtms.webhook_events WHERE rtms_stream_id = '%s' ORDER BY stream_seq" % sid)
        self.assertEqual(events, [["meeting.rtms_started"], ["meeting.rtms_stopped"]])
        fleet.stop()
        loop.join(5)
        self.assertFalse(loop.is_alive())

    def test_a_handler_that_raises_hands_the_stream_back_and_close_from_another_thread(self):
        db = pg.database("raise")
        fleet = rtms.Fleet(**fleet_options(db, "py-r"))
        self.addCleanup(fleet.close)
        calls, audio = [], [0]

        @fleet.on_stream
        def handle(client, stream):
            calls.append(stream.generation)
            if len(calls) == 1:
                raise RuntimeError("raised on purpose by the test")   # reported; the stream goes back

            @client.on_audio_data
            def on_audio(data, size, timestamp, metadata):
                audio[0] += 1

        loop = threading.Thread(target=fleet.run, daemon=True)
        loop.start()
        sim = Simulator("--webhook-url", "http://127.0.0.1:%d/zoom" % fleet.port, "--webhook-secret", SECRET)
        self.addCleanup(sim.close)
        sid = sim.meeting(duration=60)["payload"]["rtms_stream_id"]
        self.assertTrue(wait_for(lambda: audio[0] > 0, 20), "assigned again and joined: %r" % calls)
        self.assertEqual(calls, [1, 2])
        self.assertEqual(pg.query(db, "SELECT owner_node, generation, failures FROM rtms.streams"), [["py-r", "2", "1"]])
        # close() on this thread while run() polls on the loop's: run() returns, the stream is handed back.
        fleet.close()
        loop.join(10)
        self.assertFalse(loop.is_alive())
        self.assertEqual(pg.query(db, "SELECT state FROM rtms.streams WHERE rtms_stream_id = '%s'" % sid), [["pending"]])
        self.assertEqual(fleet.status(), {})
        self.assertEqual(fleet.port, -1)

    def test_close_inside_a_handler(self):
        db = pg.database("inside")
        fleet = rtms.Fleet(**fleet_options(db, "py-i"))
        self.addCleanup(fleet.close)
        seen = []

        @fleet.on_stream
        def handle(client, stream):
            seen.append(stream.stream_id)
            fleet.close()   # from inside the fleet's own callback: the stream is left and handed back

        sim = Simulator("--webhook-url", "http://127.0.0.1:%d/zoom" % fleet.port, "--webhook-secret", SECRET)
        self.addCleanup(sim.close)
        sid = sim.meeting(duration=60)["payload"]["rtms_stream_id"]
        done = threading.Event()
        threading.Thread(target=lambda: (fleet.run(), done.set()), daemon=True).start()
        self.assertTrue(done.wait(20), "run() returned after close()")
        self.assertEqual(seen, [sid])
        self.assertEqual((fleet.status(), fleet.port), ({}, -1))
        # The node left the fleet. (The stream is handed back, pending; a claim the node's worker
        # had sent just before the release can take it again for that node's last lease: a race
        # of FleetNode.stop, so the row's state is not asserted here.)
        self.assertTrue(wait_for(lambda: pg.query(db, "SELECT stopped_at IS NOT NULL FROM rtms.nodes WHERE node_id = 'py-i'")
                                 == [["t"]], 10))

    def test_options_are_checked_by_the_core(self):
        db = pg.database("opts")
        with self.assertRaises(rtms.RTMSException) as e:
            rtms.Fleet(database_url=db, lease_ms=3000, renew_ms=2000, port=0)
        self.assertIn("renewal", str(e.exception))
        with self.assertRaises(rtms.RTMSException) as e:
            rtms.Fleet(database_url="mysql://x@y/z", port=0)
        self.assertIn("database URL", str(e.exception))
        with self.assertRaises(TypeError):
            rtms.Fleet(database_url=db, max_streams="3")


class TestFleetErrorPaths(unittest.TestCase):
    """rtms_fleet_* on a live fleet, through ctypes: every error is a negative code, never success."""

    def test_live_fleet_errors(self):
        db = pg.database("errors")
        o = N.rtms_fleet_options()
        N.rtms_fleet_options_init(o, N.RTMS_FLEET_OPTIONS_VERSION)
        o.database_url, o.node_id, o.host, o.port, o.path = db.encode(), b"py-errors", b"127.0.0.1", 0, b"/zoom"
        o.secret_token, o.lease_ms, o.renew_ms, o.lease_margin_ms = SECRET.encode(), 3000, 500, 1000
        got = {}
        NE, IA, IS = -N.RTMS_SDK_NOT_EXIST, -N.RTMS_SDK_INVALID_ARGS, -N.RTMS_SDK_INVALID_STATUS
        a, b = N.rtms_alloc(), N.rtms_alloc()
        opts = N.rtms_options()
        N.rtms_options_init(ctypes.byref(opts), 1)
        opts.client_id, opts.client_secret = CLIENT_ID.encode(), CLIENT_SECRET.encode()
        for h in (a, b):
            N.rtms_set_options(h, ctypes.byref(opts))
            N.rtms_config(h, None, 1, 0)

        def assigned(f, sid, gen, payload, prev, ud):
            got["payload"] = json.loads(payload)
            got["in_callback"] = [
                N.rtms_fleet_poll(f, 0),                              # nested
                N.rtms_fleet_join(f, b"no-such-stream", gen, a, 0),   # not assigned
                N.rtms_fleet_join(f, sid, gen + 1, a, 0),             # another generation
                N.rtms_fleet_join(f, sid, 0, a, 0),                   # generation <= 0
                N.rtms_fleet_join(f, None, gen, a, 0),                # NULL stream id
                N.rtms_fleet_join(f, b"", gen, a, 0),                 # empty stream id
                N.rtms_fleet_join(f, sid, gen, None, 0),              # NULL handle
                N.rtms_fleet_join(f, sid, gen, a, 0),                 # OK
                N.rtms_fleet_join(f, sid, gen, b, 0),                 # joined already
                N.rtms_fleet_done(f, sid, gen, -2),                   # bad reason
                N.rtms_fleet_done(f, sid, gen + 1, -1),               # another generation
            ]
            got["stream"] = (sid, gen)

        thunk_a = N.FleetAssignedCB(assigned)
        thunk_r = N.FleetRevokedCB(lambda *args: None)
        f = N.rtms_fleet_create(ctypes.byref(o), thunk_a, thunk_r, None)
        self.assertTrue(f, N.last_error())
        try:
            self.assertGreater(N.rtms_fleet_get_wake_fd(f), 2)
            self.assertGreater(N.rtms_fleet_port(f), 0)
            self.assertEqual(N.rtms_fleet_poll(f, 0), 0)
            self.assertEqual(N.rtms_fleet_poll(f, -2), IA)        # below -1: not "wait forever"
            self.assertEqual(N.rtms_fleet_status(f, None), IA)
            sim = Simulator("--webhook-url", "http://127.0.0.1:%d/zoom" % N.rtms_fleet_port(f), "--webhook-secret", SECRET)
            self.addCleanup(sim.close)
            sim.meeting(duration=30)
            deadline = time.time() + 15
            while "stream" not in got and time.time() < deadline:
                N.rtms_fleet_poll(f, 200)
            self.assertIn("stream", got)
            self.assertEqual(got["in_callback"], [IS, NE, NE, IA, IA, IA, IA, 0, IS, IA, NE])
            sid, gen = got["stream"]
            self.assertEqual(N.rtms_fleet_join(f, sid, gen, b, 0), IS, "joined already (outside the callback too)")
            self.assertTrue(wait_for(lambda: N.rtms_get_state(a) == 3, 15), "handle a joined the stream")
            self.assertEqual(N.rtms_fleet_done(f, sid, gen, 6), 0)
            self.assertEqual(N.rtms_fleet_done(f, sid, gen, 6), NE, "done twice")
            self.assertEqual(N.rtms_fleet_join(f, sid, gen, b, 0), NE, "done: not assigned any more")
            # Handle a was left by the fleet (done); handle b was never joined.
            self.assertTrue(wait_for(lambda: N.rtms_get_state(a) == 4, 5), "the done stream's handle was left")
            self.assertEqual(N.rtms_get_state(b), 0)
        finally:
            self.assertEqual(N.rtms_fleet_release(f), 0)
        self.assertEqual(N.rtms_fleet_release(f), NE)
        self.assertEqual(N.rtms_fleet_poll(f, 0), NE)
        self.assertEqual(N.rtms_fleet_port(f), NE)
        self.assertEqual(N.rtms_fleet_join(f, b"s", 1, a, 0), NE)
        for h in (a, b):
            self.assertEqual(N.rtms_release(h), 0)
        # The stream was done after it joined: ended in the database, with the reason given.
        self.assertEqual(pg.query(db, "SELECT state, end_reason FROM rtms.streams"), [["ended", "6"]])

    def test_an_ended_handle_ends_its_stream_with_its_reason(self):
        """An application that never calls rtms_fleet_done (a C program that only polls its
        handles): the core sees the handle's session end and, after the 3 s it leaves the
        application to poll the last events, ends the stream with the on_leave reason. (It used
        to take a stream that ended within a tick of joining for one never joined, and put it
        back for other nodes, whose joins the server refused: the stream had ended.)"""
        db = pg.database("selfdone")
        o = N.rtms_fleet_options()
        N.rtms_fleet_options_init(o, N.RTMS_FLEET_OPTIONS_VERSION)
        o.database_url, o.node_id, o.host, o.port, o.path = db.encode(), b"py-selfdone", b"127.0.0.1", 0, b"/zoom"
        o.secret_token, o.lease_ms, o.renew_ms, o.lease_margin_ms = SECRET.encode(), 3000, 500, 1000
        a = N.rtms_alloc()
        opts = N.rtms_options()
        N.rtms_options_init(ctypes.byref(opts), 1)
        opts.client_id, opts.client_secret = CLIENT_ID.encode(), CLIENT_SECRET.encode()
        N.rtms_set_options(a, ctypes.byref(opts))
        N.rtms_config(a, None, 1, 0)
        left = []
        ops = N.rtms_csdk_ops()
        on_leave = N.JoinCB(lambda sdk, reason: left.append((reason, time.time())))
        ops.on_leave = on_leave
        N.rtms_set_callbacks(a, ctypes.byref(ops))
        got = {}

        def assigned(f, sid, gen, payload, prev, ud):
            got["join"] = N.rtms_fleet_join(f, sid, gen, a, 0)
            got["stream"] = N._s(sid)

        thunk_a, thunk_r = N.FleetAssignedCB(assigned), N.FleetRevokedCB(lambda *args: None)
        f = N.rtms_fleet_create(ctypes.byref(o), thunk_a, thunk_r, None)
        self.assertTrue(f, N.last_error())
        try:
            # No webhooks from the simulator: no rtms_stopped can end the row, only the handle.
            sim = Simulator()
            self.addCleanup(sim.close)
            body = sim.meeting(duration=60)
            sid = body["payload"]["rtms_stream_id"]
            self.assertEqual(post("http://127.0.0.1:%d/zoom" % N.rtms_fleet_port(f), json.dumps(body).encode()), 200)
            deadline = time.time() + 20
            while N.rtms_get_state(a) != 3 and time.time() < deadline:
                N.rtms_fleet_poll(f, 20)
                N.rtms_poll_ex(a, 0, 0)
            self.assertEqual((got.get("join"), got.get("stream"), N.rtms_get_state(a)), (0, sid, 3))
            sim.stop_stream(sid, 6)
            deadline = time.time() + 20
            while not left and time.time() < deadline:
                N.rtms_fleet_poll(f, 20)
                N.rtms_poll_ex(a, 0, 0)
            self.assertEqual([r for r, _ in left], [6], "the stream ended: on_leave(6)")
            sql = "SELECT state, end_reason FROM rtms.streams WHERE rtms_stream_id = '%s'" % got["stream"]
            self.assertTrue(wait_for(lambda: (N.rtms_fleet_poll(f, 0), pg.query(db, sql))[1] == [["ended", "6"]], 10), pg.query(db, sql))
            ended_after = time.time() - left[0][1]
            self.assertGreater(ended_after, 2.5, "the application had time to poll the session's last events")
            self.assertEqual(pg.query(db, "SELECT generation, claims FROM rtms.streams"), [["1", "1"]], "claimed once, never put back")
        finally:
            self.assertEqual(N.rtms_fleet_release(f), 0)
            N.rtms_release(a)

    def test_an_intake_only_node_needs_no_callback(self):
        db = pg.database("intake")
        o = N.rtms_fleet_options()
        N.rtms_fleet_options_init(o, N.RTMS_FLEET_OPTIONS_VERSION)
        o.database_url, o.host, o.port, o.max_streams, o.secret_token = db.encode(), b"127.0.0.1", 0, 0, b""
        f = N.rtms_fleet_create(ctypes.byref(o), N.FleetAssignedCB(), N.FleetRevokedCB(), None)
        self.assertTrue(f, N.last_error())
        try:
            body = json.dumps({"event": "meeting.rtms_started", "event_ts": 1, "payload": {
                "meeting_uuid": "m", "rtms_stream_id": "intake-only", "server_urls": "ws://127.0.0.1:9"}}).encode()
            req = urllib.request.Request("http://127.0.0.1:%d/" % N.rtms_fleet_port(f), data=body, method="POST")
            with urllib.request.urlopen(req, timeout=10) as r:
                self.assertEqual(r.status, 200)
            self.assertEqual(pg.query(db, "SELECT state, owner_node FROM rtms.streams"), [["pending", ""]])
            self.assertEqual(N.rtms_fleet_poll(f, 300), 0)
        finally:
            self.assertEqual(N.rtms_fleet_release(f), 0)


class Node:
    """fleet_node.py in a process of its own; its JSON lines in a queue."""

    def __init__(self, db, name, max_streams=1):
        self.name = name
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fleet_node.py"), db, name, SECRET, str(max_streams)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, ZM_RTMS_CLIENT=CLIENT_ID, ZM_RTMS_SECRET=CLIENT_SECRET))
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self.err = []
        threading.Thread(target=lambda: [self.err.append(l) for l in self.proc.stderr], daemon=True).start()
        ready = wait_for(lambda: self.find("ready"), 30)
        if not ready:
            raise AssertionError("node %s did not start: %s" % (name, "".join(self.err[-20:])))
        self.port = ready[0]["ready"]

    def _read(self):
        for line in self.proc.stdout:
            try:
                o = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.lines.append(o)

    def find(self, key, value=None):
        with self.lock:
            return [o for o in self.lines if key in o and (value is None or o[key] == value)]

    def audio(self, sid):
        got = self.find("audio", sid)
        return got[-1]["n"] if got else 0

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


class TestTwoProcesses(unittest.TestCase):
    def test_two_nodes_share_streams_and_a_killed_node_hands_its_stream_over(self):
        db = pg.database("two")
        a = Node(db, "py-node-a")
        self.addCleanup(a.close)
        b = Node(db, "py-node-b")
        self.addCleanup(b.close)
        nodes = {a.name: a, b.name: b}
        sim = Simulator("--webhook-url", "http://127.0.0.1:%d/zoom" % a.port, "--webhook-secret", SECRET)
        self.addCleanup(sim.close)

        def owner(sid):
            return [n for n in nodes.values() if n.find("assigned", sid)]

        # Each node holds one stream at most: the second stream goes to the other node.
        m1 = sim.meeting(duration=120)
        s1 = m1["payload"]["rtms_stream_id"]
        self.assertTrue(wait_for(lambda: owner(s1) and owner(s1)[0].audio(s1) > 0), "stream 1 joined by a node")
        m2 = sim.meeting(duration=120)
        s2 = m2["payload"]["rtms_stream_id"]
        self.assertTrue(wait_for(lambda: owner(s2) and owner(s2)[0].audio(s2) > 0), "stream 2 joined by a node")
        x, y = owner(s1), owner(s2)
        self.assertEqual((len(x), len(y)), (1, 1), "one owner per stream")
        x, y = x[0], y[0]
        self.assertNotEqual(x.name, y.name, "the two streams are on the two nodes")
        rows = pg.query(db, "SELECT rtms_stream_id, state, owner_node, generation FROM rtms.streams ORDER BY rtms_stream_id")
        self.assertEqual(sorted(rows), sorted([[s1, "owned", x.name, "1"], [s2, "owned", y.name, "1"]]))

        # rtms_stopped for y's stream, posted to x (which does not own it): y's client leaves, the row ends.
        self.assertEqual(post("http://127.0.0.1:%d/zoom" % x.port, stopped_body(m2, 2)), 200)
        self.assertTrue(wait_for(lambda: y.find("left", s2), 10), "the owner's client left")
        self.assertEqual(y.find("left", s2)[0]["reason"], rtms.StopReason.USER_TRIGGERED)
        self.assertTrue(wait_for(lambda: pg.query(db, "SELECT state FROM rtms.streams WHERE rtms_stream_id = '%s'" % s2)
                                 == [["ended"]], 10))

        # x dies: when its lease expires, y (which has room again) takes its stream over and receives audio.
        before = y.audio(s1)
        killed = time.time()
        x.proc.send_signal(signal.SIGKILL)
        x.proc.wait()
        self.assertTrue(wait_for(lambda: y.find("assigned", s1), 20), "the survivor was assigned the dead node's stream")
        took = time.time() - killed
        assignment = y.find("assigned", s1)[0]
        self.assertEqual((assignment["generation"], assignment["previous_owner"]), (2, x.name))
        self.assertTrue(wait_for(lambda: y.audio(s1) > before, 15), "the survivor receives the stream's audio")
        self.assertEqual(pg.query(db, "SELECT state, owner_node, generation FROM rtms.streams WHERE rtms_stream_id = '%s'" % s1),
                         [["owned", y.name, "2"]])
        self.assertLess(took, 10, "taken over within the lease (3 s) and some")

        # y stops with SIGTERM: it leaves and hands the stream back (pending again).
        y.close()
        self.assertEqual(y.proc.returncode, 0, "".join(y.err[-20:]))
        self.assertEqual(pg.query(db, "SELECT state FROM rtms.streams WHERE rtms_stream_id = '%s'" % s1), [["pending"]])


if __name__ == "__main__":
    unittest.main()
