"""The Python binding: Zoom's API surface, behaviour against the simulator, bad input, lifecycle,
reconnection and the webhook intake. Run: python -m unittest discover bindings/python/tests
(RTMS_LIBRARY=<librtms.so> unless the package is installed with the library inside; RTMS_SIM=<rtms-sim>)."""

import asyncio
import gc
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simulator import CLIENT_ID, CLIENT_SECRET, Simulator  # noqa: E402

import rtms  # noqa: E402


INCLUDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "include")


def header_reasons():
    """{name: value} of every reason #defined in the public headers: RTMS_REASON_* and any stop
    reason (a name with STOP_REASON in it), read from the files so the test cannot drift."""
    found = {}
    for name in sorted(os.listdir(INCLUDE)):
        if name.endswith(".h"):
            with open(os.path.join(INCLUDE, name), encoding="utf-8") as f:
                text = f.read()
            for m in re.finditer(r"^#define\s+(\w*(?:RTMS_REASON_|STOP_REASON_)(\w+))\s+\(?(-?\d+)\)?", text, re.M):
                found[m.group(1)] = (m.group(2), int(m.group(3)))
    return found


def post(url, body, headers=None, method="POST"):
    """(status, headers, body bytes) of one request; HTTP errors are answers too."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def signed(secret, body):
    ts = str(int(time.time()))
    return {"x-zm-request-timestamp": ts, "Content-Type": "application/json",
            "x-zm-signature": "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()}


def wait_for(cond, timeout=15.0, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


class Recorder:
    """Registers every callback of a client and records what arrives, with the thread."""

    def __init__(self, client):
        self.lock = threading.Lock()
        self.calls = []
        self.threads = set()
        for name in ("join_confirm", "session_update", "user_update", "leave", "event_ex", "chat_data",
                     "reconnecting", "reconnected", "stream_state"):
            getattr(client, "on_" + name)(self._rec(name))
        for name in ("audio_data", "video_data", "deskshare_data", "transcript_data"):
            getattr(client, "on_" + name)(self._rec(name))
        client.on_participant_event(self._rec("participant_event"))
        client.on_active_speaker_event(self._rec("active_speaker"))
        client.on_sharing_event(self._rec("sharing"))

    def _rec(self, name):
        def f(*args):
            with self.lock:
                self.calls.append((name, args))
                self.threads.add(threading.get_ident())
        return f

    def of(self, name):
        with self.lock:
            return [a for n, a in self.calls if n == name]

    def names(self):
        with self.lock:
            return [n for n, _ in self.calls]


class TestSurface(unittest.TestCase):
    def test_constants_have_zooms_values(self):
        self.assertEqual([rtms.MEDIA_TYPE_AUDIO, rtms.MEDIA_TYPE_VIDEO, rtms.MEDIA_TYPE_DESKSHARE, rtms.MEDIA_TYPE_TRANSCRIPT,
                          rtms.MEDIA_TYPE_CHAT, rtms.MEDIA_TYPE_ALL], [1, 2, 4, 8, 16, 32])
        self.assertEqual([rtms.SESSION_EVENT_ADD, rtms.SESSION_EVENT_STOP, rtms.SESSION_EVENT_PAUSE, rtms.SESSION_EVENT_RESUME], [1, 2, 3, 4])
        self.assertEqual((rtms.EVENT_PARTICIPANT_VIDEO_ON, rtms.EVENT_PARTICIPANT_VIDEO_OFF, rtms.EVENT_USER_UNHOLD), (8, 9, 13))
        self.assertEqual((rtms.RTMS_SDK_FAILURE, rtms.RTMS_SDK_OK, rtms.RTMS_SDK_TIMEOUT, rtms.RTMS_SDK_NOT_EXIST), (-1, 0, 1, 2))
        self.assertEqual((rtms.SESS_STATUS_ACTIVE, rtms.SESS_STATUS_PAUSED, rtms.USER_JOIN, rtms.USER_LEAVE), (0, 1, 0, 1))
        self.assertEqual(rtms.AudioCodec.OPUS, 4)
        self.assertEqual(rtms.VideoCodec.H264, 7)
        self.assertEqual(rtms.AudioSampleRate.SR_48K, 3)
        self.assertEqual(rtms.TranscriptLanguage["ENGLISH"], 9)
        self.assertEqual(rtms.TranscriptLanguage["NONE"], -1)
        self.assertEqual(rtms.StopReason.STREAMING_NOT_SUPPORTED, 26)
        self.assertEqual(rtms.MessageType.VIDEO_SUBSCRIPTION_RESP, 29)
        self.assertEqual(rtms.DataOption.VIDEO_MIXED_SPEAKER_VIEW, 4)
        self.assertIs(rtms.AudioDataOption, rtms.DataOption)
        self.assertEqual(rtms.LogFormat.JSON, "json")
        self.assertEqual(int(rtms.LogLevel.TRACE), 4)

    def test_every_reason_the_core_reports_is_a_stop_reason(self):
        # The headers name the core's reasons; the library names every leave reason it reports
        # (rtms_leave_reason_string: Zoom's stop reasons and RTMS_REASON_*, "STOP_REASON_<n>" for
        # a value it does not know). Each must be a member of rtms.StopReason, by value and name.
        defined = header_reasons()
        self.assertIn("RTMS_REASON_UPGRADE_REFUSED", defined, "the header parse found nothing")
        for macro, (name, value) in defined.items():
            self.assertIn(value, rtms.StopReason._value2member_map_, "%s = %d" % (macro, value))
            self.assertEqual(rtms.StopReason[name], value, macro)
        named = {v: rtms._native.rtms_leave_reason_string(v).decode() for v in range(0, 1200)}
        named = {v: n for v, n in named.items() if not n.startswith("STOP_REASON_")}
        self.assertGreaterEqual(len(named), 27 + 5, named)
        for value, name in sorted(named.items()):
            self.assertEqual(rtms.StopReason(value).name, name, "reason %d" % value)
        self.assertEqual(rtms.StopReason(620).name, "UPGRADE_REFUSED")

    def test_all_names_exist(self):
        for name in rtms.__all__:
            self.assertTrue(hasattr(rtms, name), name)
        for name in ("_clients", "_clients_lock", "_running", "_stop_event", "WebhookResponse", "find_ca_certificate"):
            self.assertTrue(hasattr(rtms, name), name)

    def test_aliases_are_the_same_functions(self):
        self.assertIs(rtms.Client.onAudioData, rtms.Client.on_audio_data)
        self.assertIs(rtms.Client.onTranscriptData, rtms.Client.on_transcript_data)
        self.assertIs(rtms.Client.setProxy, rtms.Client.set_proxy)
        self.assertIs(rtms.Client.subscribeVideo, rtms.Client.subscribe_video)
        self.assertIs(rtms.Client.onWebhookEvent, rtms.Client.on_webhook_event)
        self.assertIs(rtms.on_webhook_event, rtms.onWebhookEvent)

    def test_params_both_spellings_and_defaults(self):
        a = rtms.AudioParams()
        self.assertEqual((a.codec, a.sample_rate, a.sampleRate, a.channel, a.frame_size), (4, 3, 3, 2, 960))
        a.sampleRate = rtms.AudioSampleRate.SR_16K
        self.assertEqual(a.sample_rate, 1)
        t = rtms.TranscriptParams()
        self.assertIs(t.enable_lid, True)
        self.assertEqual((t.content_type, t.src_language, t.srcLanguage), (5, -1, -1))
        t.enableLid = 0
        self.assertIs(t.enable_lid, False)
        v = rtms.VideoParams(3, 5, 2, 3, 5)
        self.assertEqual((v.codec, v.fps, v.dataOpt), (5, 5, 3))
        d = rtms.DeskshareParams(3, 5, 3, 1)
        self.assertEqual((d.resolution, d.fps), (3, 1))
        with self.assertRaises(TypeError):
            rtms.AudioParams(1, 2)
        with self.assertRaises(TypeError):
            a.codec = "opus"
        with self.assertRaises(AttributeError):
            a.bitrate = 5

    def test_param_validation_is_clear(self):
        c = rtms.Client()
        with self.assertRaisesRegex(ValueError, "OPUS"):
            c.set_audio_params(rtms.AudioParams(2, 4, 1, 1, 1, 20, 320))
        with self.assertRaisesRegex(ValueError, "frame_size"):
            c.set_audio_params(rtms.AudioParams(2, 1, 1, 1, 1, 20, 999))
        with self.assertRaisesRegex(ValueError, "fps"):
            c.set_video_params(rtms.VideoParams(3, 5, 2, 3, 30))
        with self.assertRaises(TypeError):
            c.set_video_params({"codec": 7})
        c.set_transcript_params(rtms.TranscriptParams())  # fine before join
        c.leave()

    def test_network_threads_are_half_the_cores_or_as_set(self):
        # The core's network threads (named NIO-ELT-*) start with the first handle, not before: a
        # program may build its loops, then fork (gunicorn --preload, multiprocessing).
        probe = ("import os, rtms; rtms.EventLoopPool(threads=2); rtms.EventLoop(latency_budget_us=1000); "
                 "count = lambda: sum(open('/proc/self/task/%s/comm' % t).read().startswith('NIO-ELT') "
                 "for t in os.listdir('/proc/self/task')); before = count(); rtms._native.rtms_alloc(); "
                 "print(before, count())")

        def threads(value):
            env = dict(os.environ)
            for name in ("RTMS_NETWORK_THREADS", "RTMS_LOG_LEVEL", "ZM_RTMS_LOG_LEVEL"):
                env.pop(name, None)   # the core's default log level says the warning
            if value is not None:
                env["RTMS_NETWORK_THREADS"] = value
            p = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            before, after = map(int, p.stdout.split())
            self.assertEqual(before, 0, "no network thread before the first handle")
            return after, p.stderr

        default = threads(None)[0]
        # Half the cores the process may use (NIO counts cgroup quotas too: not recomputed here).
        self.assertIn(default, range(1, 9))
        self.assertLessEqual(default, max(1, len(os.sched_getaffinity(0)) // 2))
        self.assertEqual(threads("3")[0], 3)
        n, err = threads("lots")
        self.assertEqual(n, default)
        self.assertIn("RTMS_NETWORK_THREADS=lots", err)

    def test_generate_signature(self):
        sig = rtms.generate_signature("id", "secret", "uuid", "stream")
        import hashlib, hmac
        self.assertEqual(sig, hmac.new(b"secret", b"id,uuid,stream", hashlib.sha256).hexdigest())
        with self.assertRaisesRegex(EnvironmentError, "Client ID"):
            rtms.generate_signature("", "s", "u", "x")
        # The environment overrides the arguments (the core's rule, rtms_wrapper_signature).
        saved = {k: os.environ.pop(k, None) for k in ("ZM_RTMS_CLIENT", "ZM_RTMS_SECRET", "ZM_RTMS_CA")}
        try:
            os.environ["ZM_RTMS_CLIENT"], os.environ["ZM_RTMS_SECRET"] = "env-id", "env-secret"
            self.assertEqual(rtms.generate_signature(None, None, "uuid", "stream"),
                             hmac.new(b"env-secret", b"env-id,uuid,stream", hashlib.sha256).hexdigest())
            self.assertEqual(rtms.generate_signature("id", "secret", "uuid", "stream"),
                             rtms.generate_signature(None, None, "uuid", "stream"))
            del os.environ["ZM_RTMS_SECRET"]
            with self.assertRaisesRegex(EnvironmentError, "Client Secret cannot be blank"):
                rtms.generate_signature("id", "", "uuid", "stream")
            with self.assertRaisesRegex(ValueError, "rtms_stream_id"):
                rtms.generate_signature("id", "secret", "uuid", "")
            with self.assertRaisesRegex(EnvironmentError, "Client Secret"):   # the credentials first
                rtms.generate_signature(None, None, None, None)
        finally:
            for k, v in saved.items():
                os.environ.pop(k, None)
                if v is not None:
                    os.environ[k] = v

    def test_find_ca_certificate_is_the_cores_search(self):
        with tempfile.TemporaryDirectory() as d:
            explicit, env = os.path.join(d, "given.pem"), os.path.join(d, "env.pem")
            for path in (explicit, env):
                open(path, "w").close()
            saved = os.environ.pop("ZM_RTMS_CA", None)
            try:
                os.environ["ZM_RTMS_CA"] = env
                self.assertEqual(rtms.find_ca_certificate(explicit), explicit)
                self.assertEqual(rtms.find_ca_certificate(os.path.join(d, "missing.pem")), env)
                self.assertEqual(rtms.find_ca_certificate(), env)
                del os.environ["ZM_RTMS_CA"]
                system = rtms.find_ca_certificate(os.path.join(d, "missing.pem"))
                self.assertEqual(system, "/etc/ssl/certs/ca-certificates.crt"
                                 if os.path.exists("/etc/ssl/certs/ca-certificates.crt") else system)
                self.assertTrue(system == "" or os.path.exists(system), system)
            finally:
                os.environ.pop("ZM_RTMS_CA", None)
                if saved is not None:
                    os.environ["ZM_RTMS_CA"] = saved

    def test_registrars_work_before_join_as_calls_and_decorators(self):
        c = rtms.Client()

        @c.on_transcript_data
        def on_text(data, size, ts, md):
            pass

        # A decorator leaves the function bound to its name (Zoom's registrars return None).
        self.assertTrue(callable(on_text) and on_text.__name__ == "on_text")

        @c.on_participant_event
        def on_people(kind, ts, people):
            pass

        self.assertEqual(on_people.__name__, "on_people")
        c.onAudioData(lambda *a: None)
        c.on_participant_video(lambda users, on: None)
        self.assertTrue(c.on_active_speaker_event(lambda ts, uid, name: None))
        with self.assertRaisesRegex(TypeError, "Function"):
            c.on_leave(42)
        c.leave()


class TestBadInput(unittest.TestCase):
    def test_join_without_ids_or_credentials_is_a_clear_error(self):
        c = rtms.Client()
        with self.assertRaisesRegex(ValueError, "meeting_uuid"):
            c.join(rtms_stream_id="s", server_urls="ws://127.0.0.1:1")
        with self.assertRaisesRegex(ValueError, "rtms_stream_id"):
            c.join(meeting_uuid="m", server_urls="ws://127.0.0.1:1")
        with self.assertRaisesRegex(ValueError, "server_urls"):
            c.join({"meeting_uuid": "m", "rtms_stream_id": "s"})
        with self.assertRaises(TypeError):
            c.join(meeting_uuid=123, rtms_stream_id="s", server_urls="ws://x")
        saved = {k: os.environ.pop(k, None) for k in ("ZM_RTMS_CLIENT", "ZM_RTMS_SECRET")}
        try:
            with self.assertRaisesRegex(EnvironmentError, "Client ID"):
                c.join(meeting_uuid="m", rtms_stream_id="s", server_urls="ws://127.0.0.1:1")
        finally:
            for k, v in saved.items():
                if v is not None:
                    os.environ[k] = v
        with self.assertRaisesRegex(TypeError, "Array of event types"):
            c.subscribe_event("three")
        with self.assertRaisesRegex(TypeError, "userId"):
            c.subscribe_video("x", True)
        with self.assertRaisesRegex(TypeError, "proxy"):
            c.set_proxy("http", 8080)
        c.leave()

    def test_a_bad_proxy_is_refused_by_the_core(self):
        c = rtms.Client()
        c.alloc()
        with self.assertRaises(rtms.RTMSException):
            c.set_proxy("socks5", "socks5://127.0.0.1:1080")
        c.leave()


class TestAgainstTheSimulator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator()

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()

    def join(self, client, body, **kw):
        client.join(body["payload"], client=CLIENT_ID, secret=CLIENT_SECRET, **kw)

    def test_the_core_joins_from_the_payload_with_zooms_credential_rule(self):
        """join() goes through rtms_join_payload: errors are raised on the caller's thread, the
        signature is computed from client=/secret=, and ZM_RTMS_CLIENT/ZM_RTMS_SECRET override
        them (Zoom's rule)."""
        saved = {k: os.environ.pop(k, None) for k in ("ZM_RTMS_CLIENT", "ZM_RTMS_SECRET")}

        def outcome(**kw):
            c = rtms.Client()
            got = []
            c.on_join_confirm(lambda reason: got.append(reason))
            c.join(self.sim.meeting(duration=2)["payload"], **kw)
            wait_for(lambda: got, 15)
            c.leave()
            return got

        try:
            self.assertEqual(outcome(client=CLIENT_ID, secret=CLIENT_SECRET), [0])
            os.environ["ZM_RTMS_SECRET"] = "not-the-secret"
            refused = outcome(client=CLIENT_ID, secret=CLIENT_SECRET)   # the environment wins
            self.assertTrue(refused and refused[0] != 0, refused)
            os.environ["ZM_RTMS_SECRET"] = CLIENT_SECRET
            self.assertEqual(outcome(client=CLIENT_ID, secret="ignored"), [0])
            os.environ["ZM_RTMS_CLIENT"] = "not-the-client"   # the client id from the environment wins too
            refused = outcome(client=CLIENT_ID, secret=CLIENT_SECRET)
            self.assertTrue(refused and refused[0] != 0, refused)
            del os.environ["ZM_RTMS_CLIENT"]
            del os.environ["ZM_RTMS_SECRET"]
            c = rtms.Client()
            with self.assertRaisesRegex(EnvironmentError, "Client Secret cannot be blank") as e:
                c.join(self.sim.meeting(duration=1)["payload"], client=CLIENT_ID)
            self.assertEqual(e.exception.code, rtms.RTMS_SDK_NO_CREDENTIALS)
            # A signature given needs no credentials; the missing URL is what the core refuses.
            with self.assertRaisesRegex(ValueError, "server_urls"):
                c.join({"meeting_uuid": "m", "rtms_stream_id": "s", "server_urls": ""}, signature="0" * 64)
            c.leave()
        finally:
            os.environ.pop("ZM_RTMS_SECRET", None)
            os.environ.pop("ZM_RTMS_CLIENT", None)
            for k, v in saved.items():
                if v is not None:
                    os.environ[k] = v

    def test_zooms_join_internals_and_failed_joins(self):
        """Zoom's own tests drive join through _pending_join_params / _do_alloc_and_join with the
        native base's join and alloc patched: the core resolves the ids and the signature, the
        native join gets them positionally. Failed joins leak nothing and leave no client behind."""
        from unittest import mock
        native = rtms.Client.__bases__[0]
        c = rtms.Client()
        c._pending_join_params = {"engagement_id": "eng-1", "meeting_uuid": "m-wins", "rtms_stream_id": "s",
                                  "server_urls": "wss://rtms.example", "signature": "mock-sig", "timeout": -1}
        with mock.patch.object(native, "join", return_value=None) as join, \
                mock.patch.object(native, "alloc", return_value=None):
            c._do_alloc_and_join()
        join.assert_called_once_with("m-wins", "s", "mock-sig", "wss://rtms.example", -1)
        c._running = False
        c.leave()
        # Refused input raises on the caller's thread and allocates nothing: no descriptor leaks.
        saved = {k: os.environ.pop(k, None) for k in ("ZM_RTMS_CLIENT", "ZM_RTMS_SECRET")}
        try:
            before = len(os.listdir("/proc/self/fd"))
            for _ in range(100):
                d = rtms.Client()
                with self.assertRaises(EnvironmentError):
                    d.join(meeting_uuid="m", rtms_stream_id="s", server_urls="ws://127.0.0.1:1")
                d.leave()
            self.assertLessEqual(len(os.listdir("/proc/self/fd")), before + 2)
        finally:
            for k, v in saved.items():
                if v is not None:
                    os.environ[k] = v
        # A join the core refuses on the loop (this process already has the stream): True, said,
        # and the client released, so a stop_on_empty loop still ends.
        body = self.sim.meeting(duration=3)
        first, second = rtms.Client(), rtms.Client()
        got = []
        first.on_join_confirm(lambda r: got.append(r))
        first.join(body["payload"], client=CLIENT_ID, secret=CLIENT_SECRET)
        self.assertTrue(wait_for(lambda: got, 10))
        loop = rtms.EventLoop()
        loop.add(second)
        self.assertTrue(second.join(body["payload"], client=CLIENT_ID, secret=CLIENT_SECRET))
        done = threading.Event()
        threading.Thread(target=lambda: (loop.run(stop_on_empty=True), done.set()), daemon=True).start()
        self.assertTrue(done.wait(10), "the loop kept a client whose join was refused")
        self.assertFalse(second.is_allocated())
        first.leave()

    def test_a_client_joins_again_after_leave(self):
        for explicit in (False, True):
            c = rtms.Client()
            confirms = []
            c.on_join_confirm(lambda r: confirms.append(r))
            loop = rtms.EventLoop().start() if explicit else None
            if loop:
                loop.add(c)
            for n in (1, 2):
                c.join(self.sim.meeting(duration=2)["payload"], client=CLIENT_ID, secret=CLIENT_SECRET)
                self.assertTrue(wait_for(lambda: len(confirms) == n, 10), (explicit, confirms))
                c.leave()
            self.assertEqual(confirms, [0, 0])
            if loop:
                loop.stop()

    def test_parameter_defaults_and_checks_are_the_cores(self):
        # The defaults are Zoom's wrapper defaults, read from the core; the checks are rtms_config's.
        self.assertEqual(rtms.AudioParams(), rtms.AudioParams(2, 4, 3, 2, 2, 20, 960))
        self.assertEqual(rtms.VideoParams(), rtms.VideoParams(3, 7, 2, 3, 30))
        self.assertEqual(rtms.DeskshareParams(), rtms.DeskshareParams(3, 7, 2, 30))
        self.assertEqual(rtms.TranscriptParams(), rtms.TranscriptParams(5, -1, True))
        c = rtms.Client()
        for setter, params, text in ((c.set_audio_params, rtms.AudioParams(content_type=3), "content_type 3"),
                                     (c.set_video_params, rtms.VideoParams(data_opt=9), "data_opt 9"),
                                     (c.set_deskshare_params, rtms.DeskshareParams(resolution=7), "resolution 7"),
                                     (c.set_transcript_params, rtms.TranscriptParams(src_language=40), "src_language 40"),
                                     # Fields must be set, as in Zoom's wrapper (rtms_config alone would default them).
                                     (c.set_audio_params, rtms.AudioParams(codec=0), "codec 0 is not set"),
                                     (c.set_video_params, rtms.VideoParams(fps=-1), "fps -1 is not set"),
                                     (c.set_video_params, rtms.VideoParams(fps=2**32 + 5), "out of range")):
            with self.assertRaisesRegex(ValueError, text):
                setter(params)
        c.leave()

    def test_every_callback_kind_on_the_clients_own_thread(self):
        body = self.sim.meeting(duration=5, participants=3)
        c = rtms.Client()
        rec = Recorder(c)
        c.set_audio_params(rtms.AudioParams(2, 1, 1, 1, 1, 20, 320))
        c.set_video_params(rtms.VideoParams(3, 5, 2, 3, 5))
        self.join(c, body)
        self.assertTrue(wait_for(lambda: rec.of("leave"), 20), rec.names()[-5:])
        c.leave()
        self.assertEqual(rec.of("join_confirm"), [(0,)])
        self.assertEqual(rec.of("leave"), [(6,)])
        for kind in ("audio_data", "video_data", "deskshare_data", "transcript_data", "chat_data", "user_update",
                     "session_update", "event_ex", "participant_event", "active_speaker", "sharing", "stream_state"):
            self.assertTrue(rec.of(kind), "no %s callback" % kind)
        data, size, ts, md = rec.of("audio_data")[0]
        self.assertIsInstance(data, bytes)
        self.assertEqual(len(data), size)
        self.assertEqual(size, 16000 * 20 // 1000 * 2)
        self.assertGreater(ts, 0)
        self.assertIsInstance(md, rtms.Metadata)
        text, _, _, tmd = rec.of("transcript_data")[0]
        self.assertTrue(text.decode())
        self.assertTrue(tmd.userName and tmd.startTs > 0 and tmd.endTs >= tmd.startTs)
        op, session = rec.of("session_update")[0]
        self.assertEqual(op, rtms.SESSION_EVENT_ADD)
        self.assertIsInstance(session, rtms.Session)
        self.assertTrue(session.isActive and session.streamId == body["payload"]["rtms_stream_id"])
        op, who = rec.of("user_update")[0]
        self.assertIsInstance(who, rtms.Participant)
        self.assertTrue(who.name)
        kind, ts, people = rec.of("participant_event")[0]
        self.assertIn(kind, ("join", "leave"))
        self.assertTrue(people and "user_id" in people[0] and "user_name" in people[0])
        self.assertEqual(rec.names()[-1], "leave", "nothing after on_leave")
        self.assertEqual(len(rec.threads), 1, "every callback on the client's loop thread")
        self.assertNotIn(threading.get_ident(), rec.threads)

    def test_participant_events_arrive_whole_with_their_timestamp(self):
        # From the core's typed callback (rtms_ext_ops.on_participant_event), not from the JSON:
        # each PARTICIPANT_JOIN / LEAVE once, with the event's timestamp and every participant.
        body = self.sim.meeting(duration=4, participants=3)
        c = rtms.Client()
        rec = Recorder(c)
        self.join(c, body)
        self.assertTrue(wait_for(lambda: rec.of("leave"), 20), rec.names()[-5:])
        c.leave()
        raw = [json.loads(j) for (j,) in rec.of("event_ex")]
        raw = [e for e in raw if e.get("event_type") in (rtms.EVENT_PARTICIPANT_JOIN, rtms.EVENT_PARTICIPANT_LEAVE)]
        typed = rec.of("participant_event")
        self.assertGreaterEqual(len(raw), 4, "two join at once, one joins late and leaves, the rest leave")
        self.assertEqual(len(typed), len(raw))
        for (kind, ts, people), e in zip(typed, raw):
            self.assertEqual(kind, "join" if e["event_type"] == rtms.EVENT_PARTICIPANT_JOIN else "leave")
            self.assertIsInstance(ts, int)
            self.assertEqual(ts, e["timestamp"], "the event's own timestamp")
            # Every participant, in order; a name the server did not send is "" (leaves carry none).
            self.assertEqual(people, [{"user_id": p["user_id"], "user_name": p.get("user_name", "")} for p in e["participants"]])
        self.assertTrue(any(k == "join" and len(ps) >= 2 and all(p["user_name"] for p in ps) for k, _, ps in typed), typed)
        self.assertTrue(any(k == "leave" and ps for k, _, ps in typed), typed)
        # Zoom's per-user form still arrives too: one on_user_update per participant.
        self.assertEqual([(op, p.id) for op, p in rec.of("user_update")],
                         [(rtms.USER_JOIN if k == "join" else rtms.USER_LEAVE, p["user_id"]) for k, _, ps in typed for p in ps])
        # The other typed events keep Zoom's shapes: (ts, id, name), ("start", ts, id, name), ("stop", ts, None, None).
        ts, uid, name = rec.of("active_speaker")[0]
        self.assertTrue(ts > 0 and uid > 0 and name)
        self.assertEqual([a[0] for a in rec.of("sharing")], ["start", "stop"])
        self.assertEqual(rec.of("sharing")[1][2:], (None, None))

    def test_decorated_callback_is_called_with_real_data(self):
        body = self.sim.meeting(duration=3)
        c = rtms.Client()
        got, left = [], threading.Event()

        @c.on_transcript_data
        def on_text(data, size, timestamp, metadata):
            got.append((data, size, timestamp, metadata))

        @c.on_leave
        def on_leave(reason):
            left.set()

        self.assertEqual((on_text.__name__, on_leave.__name__), ("on_text", "on_leave"))
        self.join(c, body)
        self.assertTrue(left.wait(20), "the meeting ended")
        c.leave()
        self.assertTrue(got, "the decorated function received transcripts")
        data, size, ts, md = got[0]
        self.assertIsInstance(data, bytes)
        self.assertEqual(len(data), size)
        self.assertTrue(data.decode() and ts > 0 and md.userName)
        # The function stays callable by the application too.
        on_text(b"x", 1, 1, rtms.Metadata())
        self.assertEqual(got[-1][0], b"x")

    def test_media_drop_is_reconnected_by_the_core(self):
        body = self.sim.meeting(duration=30)
        stream = body["payload"]["rtms_stream_id"]
        c = rtms.Client()
        rec = Recorder(c)
        c.set_audio_params(rtms.AudioParams(2, 1, 1, 1, 1, 20, 320))
        c.on_video_data(None)
        c.on_deskshare_data(None)
        c.on_transcript_data(None)
        c.on_chat_data(None)
        self.join(c, body)
        self.assertTrue(wait_for(lambda: len(rec.of("audio_data")) >= 10))
        self.assertEqual(self.sim.chaos(stream, "audio", "abort").get("connections"), 1)
        before = len(rec.of("audio_data"))
        self.assertTrue(wait_for(lambda: rec.of("reconnected") and len(rec.of("audio_data")) > before + 10, 15))
        connection, attempt, delay, cause = rec.of("reconnecting")[0]
        self.assertEqual((connection, attempt), (rtms.MEDIA_TYPE_AUDIO, 1))
        self.assertTrue(cause)
        self.assertEqual(rec.of("reconnected")[0][0], rtms.MEDIA_TYPE_AUDIO)
        self.assertEqual(c.stats()["media_reconnects"], 1)
        self.assertEqual(rec.of("leave"), [])
        c.leave()

    def test_leave_from_another_thread_stops_callbacks(self):
        body = self.sim.meeting(duration=30)
        c = rtms.Client()
        rec = Recorder(c)
        self.join(c, body)
        self.assertTrue(wait_for(lambda: len(rec.of("audio_data")) >= 5))
        t = threading.Thread(target=c.leave)
        t.start()
        t.join(5)
        n = len(rec.calls)
        time.sleep(0.5)
        self.assertEqual(len(rec.calls), n, "no callback after leave")
        self.assertFalse(c.is_allocated())

    def test_sequential_sessions_and_context_manager(self):
        threads_before = threading.active_count()
        for i in range(100):
            body = self.sim.meeting(duration=30)
            with rtms.Client() as c:
                joined = []
                c.on_join_confirm(joined.append)
                self.join(c, body)
                self.assertTrue(wait_for(lambda: joined, 10), "session %d" % i)
                self.assertEqual(joined, [0])
            self.assertFalse(c.is_allocated())
        self.assertTrue(wait_for(lambda: threading.active_count() <= threads_before + 1, 5),
                        "loop threads end with their clients: %d before, %d after" % (threads_before, threading.active_count()))
        self.assertEqual(len(rtms._clients), 0)

    def joined_on(self, loop, n, duration):
        """n clients added to loop (an EventLoop or a pool) and joined to meetings; their recorders."""
        clients, recs = [], []
        for _ in range(n):
            c = rtms.Client()
            recs.append(Recorder(c))
            loop.add(c)
            self.join(c, self.sim.meeting(duration=duration))
            clients.append(c)
        return clients, recs

    def test_explicit_loop_and_pool(self):
        pool = rtms.EventLoopPool(threads=2, strategy="round_robin")
        clients, recs = self.joined_on(pool, 4, duration=2)
        runner = threading.Thread(target=pool.run, kwargs={"stop_on_empty": True})
        runner.start()
        self.assertTrue(wait_for(lambda: all(r.of("leave") for r in recs), 20))
        for c in clients:
            c.leave()
        runner.join(10)
        self.assertFalse(runner.is_alive(), "the pool stops when its clients left")
        self.assertEqual(len({t for r in recs for t in r.threads}), 2, "two loop threads served four clients")

    def test_batched_media_carries_what_the_per_message_path_carries(self):
        """A loop's clients get their media in batches (rtms_group_set_media_batch: one crossing
        into Python per poll); a NativeClient polled by hand gets one callback a message. Two
        meetings of the same seed: the same media, the same arguments."""
        from rtms import _core

        def media(batched):
            body = self.sim.meeting(duration=3, seed=42, participants=2)
            got = []

            def rec(kind):
                return lambda data, size, ts, md: got.append(
                    (kind, data, size, md.userName, md.userId, md.channelId, md.language,
                     md.endTs - md.startTs, type(data), type(ts), type(md.aiInterpreter)))
            kinds = ("audio_data", "video_data", "deskshare_data", "transcript_data", "chat_data")
            if batched:
                c = rtms.Client()
                left = []
                c.on_leave(lambda reason: left.append(reason))
                for k in kinds:
                    getattr(c, "on_" + k)(rec(k))
                self.join(c, body)
                self.assertTrue(wait_for(lambda: left, 20))
                self.assertIsNotNone(c._group_owner, "delivered through a loop's group")
                c.leave()
            else:
                nc = _core.NativeClient()
                left = []
                nc.on_leave(lambda reason: left.append(reason))
                for k in kinds:
                    getattr(nc, "on_" + k)(rec(k))
                r = rtms._native.resolve_join(rtms._join_payload(dict(body["payload"], client=CLIENT_ID, secret=CLIENT_SECRET)))
                nc.alloc()
                nc.join(r["instance_id"], r["rtms_stream_id"], r["signature"], r["server_urls"])
                end = time.time() + 20
                while not left and time.time() < end:
                    nc.poll()
                    time.sleep(0.005)
                self.assertIsNone(nc._group_owner, "polled by hand, one callback a message")
                nc.release()
            return got

        by_message, batched = media(False), media(True)
        for kind in ("audio_data", "video_data", "transcript_data", "chat_data"):
            a = [g for g in by_message if g[0] == kind]
            b = [g for g in batched if g[0] == kind]
            self.assertTrue(a and b, kind)
            # The script is the seed's, but when a speaker changes, and so the video frames,
            # follows the clock: the first messages of the other kinds are compared; video's in
            # the arguments' types and sizes only.
            if kind == "video_data":
                self.assertTrue(all(len(g[1]) == g[2] for g in b), kind)
                self.assertEqual({g[8:] for g in a}, {g[8:] for g in b}, kind)
                continue
            n = min(len(a), len(b), 20)
            self.assertEqual(a[:n], b[:n], kind)

    def test_a_loop_sleeps_on_one_descriptor_for_all_its_clients(self):
        # The loop's clients are members of one delivery group of the core (rtms_group): its
        # selector watches the group's descriptor and its own wake-up pipe, however many clients.
        loop = rtms.EventLoop(name="grouped", latency_budget_us=2000)
        clients, recs = self.joined_on(loop, 6, duration=5)
        loop.start()
        self.assertTrue(wait_for(lambda: all(r.of("audio_data") for r in recs), 20), [r.names() for r in recs])
        self.assertEqual(len(loop._selector.get_map()), 2, "the group's descriptor and the loop's pipe")
        self.assertEqual({t for r in recs for t in r.threads}, {loop._thread.ident})
        # A client added to another loop moves to that loop's group and is delivered there only.
        other = rtms.EventLoop(name="other").start()
        other.add(clients[0])
        self.assertTrue(wait_for(lambda: other._thread.ident in recs[0].threads, 10), "delivered by the other loop")
        self.assertTrue(wait_for(lambda: loop.client_count == 5, 5), loop.client_count)
        before = len(recs[0].of("audio_data"))
        self.assertTrue(wait_for(lambda: len(recs[0].of("audio_data")) > before + 5, 10))
        for c in clients:
            c.leave()
        loop.stop()
        other.stop()
        for bad, error in ((-1, ValueError), (2_000_000, ValueError), ("2ms", TypeError), (True, TypeError)):
            with self.assertRaises(error, msg=repr(bad)):
                rtms.EventLoop(latency_budget_us=bad)
        with self.assertRaisesRegex(ValueError, "latency_budget_us"):
            rtms.EventLoopPool(threads=1, latency_budget_us=-5)

    def test_event_loop_serves_descriptors_above_select_limit(self):
        # A bot with hundreds of streams has descriptors above 1023, where select() fails.
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 1200:
            self.skipTest("needs at least 1200 descriptors")
        if soft != resource.RLIM_INFINITY and soft < 1200:
            resource.setrlimit(resource.RLIMIT_NOFILE, (1200 if hard == resource.RLIM_INFINITY else min(hard, 4096), hard))
        # The earlier tests' loops close their descriptors when they are collected (EventLoop.__del__):
        # let their threads end and collect them now, or a low descriptor freed by a collection
        # between the filler and the client's alloc would be the client's.
        for t in threading.enumerate():
            if t.name == "rtms-implicit":   # a client's own loop: ends with its client
                t.join(2)
        gc.collect()
        filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1030)]
        try:
            loop = rtms.EventLoop(name="high-fds")
            c = rtms.Client()
            rec = Recorder(c)
            loop.add(c)
            self.join(c, self.sim.meeting(duration=4))
            loop.start()
            self.assertTrue(wait_for(lambda: rec.of("join_confirm"), 20), "joined through the loop: %s" % rec.names())
            self.assertGreater(rtms._native.rtms_group_get_wake_fd(loop._group), 1023,
                               "the loop's descriptor is above select()'s limit")
            # The loop sleeps until a descriptor is ready: a spinning fallback would take a whole core.
            t0, w0 = os.times(), time.monotonic()
            time.sleep(1.0)
            t1, w1 = os.times(), time.monotonic()
            cpu = (t1.user - t0.user) + (t1.system - t0.system)
            self.assertLess(cpu, 0.5 * (w1 - w0), "the loop must wait, not spin (%.2f s CPU in %.2f s)" % (cpu, w1 - w0))
            self.assertTrue(wait_for(lambda: rec.of("leave"), 20), "events arrived through the loop: %s" % rec.names())
            self.assertTrue(rec.of("audio_data"), "media arrived through the loop")
            c.leave()
            loop.stop()
        finally:
            for fd in filler:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    def test_run_async_delivers_on_the_asyncio_thread(self):
        body = self.sim.meeting(duration=2)

        async def main():
            c = rtms.Client()
            got = []

            async def on_audio(data, size, ts, md):
                got.append(threading.get_ident())

            c.on_audio_data(on_audio)
            left = asyncio.Event()
            c.on_leave(lambda r: left.set())
            task = asyncio.ensure_future(rtms.run_async())
            await asyncio.sleep(0)
            self.join(c, body)
            await asyncio.wait_for(left.wait(), 20)
            c.leave()
            rtms.stop()
            await asyncio.wait_for(task, 5)
            return got

        got = asyncio.run(main())
        self.assertTrue(got)
        self.assertEqual(set(got), {threading.get_ident()})


class TestWebhookIntake(unittest.TestCase):
    def test_signed_webhooks_reach_the_callback_and_join_works_from_the_payload(self):
        secret = "py-webhook-secret"
        os.environ["ZM_RTMS_WEBHOOK_SECRET"] = secret
        try:
            server = rtms.WebhookServer(port=0, path="/zoom", host="127.0.0.1", secret=secret)
            seen = []
            self.assertTrue(server.start(lambda payload: seen.append(payload)))
            sim = Simulator("--webhook-url", "http://127.0.0.1:%d/zoom" % server.port, "--webhook-secret", secret)
            try:
                body = sim.meeting(duration=3)
                started = server.wait_started(timeout_ms=5000)
                self.assertEqual(started, body)
                c = rtms.Client()
                rec = Recorder(c)
                c.join(started["payload"], client=CLIENT_ID, secret=CLIENT_SECRET)
                self.assertTrue(wait_for(lambda: rec.of("leave"), 20))
                c.leave()
                self.assertTrue(wait_for(lambda: len(seen) >= 2))
                self.assertEqual([p["event"] for p in seen], ["meeting.rtms_started", "meeting.rtms_stopped"])
                # A forged request is refused by the core and never reaches the callback.
                req = urllib.request.Request("http://127.0.0.1:%d/zoom" % server.port, data=b'{"event":"x"}', method="POST",
                                             headers={"x-zm-signature": "v0=00", "x-zm-request-timestamp": str(int(time.time()))})
                with self.assertRaises(urllib.error.HTTPError) as e:
                    urllib.request.urlopen(req, timeout=5)
                self.assertEqual(e.exception.code, 401)
                st = server.stats()
                self.assertEqual((st["validations"], st["unauthorized"], st["accepted"]), (1, 1, 2))
            finally:
                sim.close()
                server.stop()
        finally:
            os.environ.pop("ZM_RTMS_WEBHOOK_SECRET", None)


class TestRawWebhookCallback(unittest.TestCase):
    """Zoom's raw form callback(payload, request, response): the callback answers the request."""

    def start(self, callback, secret=""):
        server = rtms.WebhookServer(port=0, path="/raw", host="127.0.0.1", secret=secret)
        self.assertTrue(server.start(callback))
        self.addCleanup(server.stop)
        return server, "http://127.0.0.1:%d" % server.port

    def test_the_callbacks_answer_reaches_the_client_with_the_request(self):
        seen = []

        def on_webhook(payload, request, response):
            seen.append((payload, request.method, request.command, request.path, dict(request.headers.items()),
                         request.headers.get("x-custom"), request.body))
            response.set_status(202)
            response.set_header("X-Handled-By", "raw")
            response.send({"accepted": payload["event"]})

        server, base = self.start(on_webhook)
        body = b'{"event":"meeting.started","payload":{"n":1}}'
        status, headers, answer = post(base + "/raw?source=test", body, {"X-Custom": "yes", "Content-Type": "application/json"})
        self.assertEqual(status, 202)
        self.assertEqual(json.loads(answer), {"accepted": "meeting.started"})
        self.assertEqual(headers.get("X-Handled-By"), "raw")
        payload, method, command, path, all_headers, custom, raw = seen[0]
        self.assertEqual(payload, json.loads(body))
        self.assertEqual((method, command, path, custom, raw), ("POST", "POST", "/raw?source=test", "yes", body))
        self.assertEqual(int(all_headers["Content-Length"]), len(body))

    def test_no_answer_is_200_ok_and_an_exception_is_500(self):
        def quiet(payload, request, response):
            if payload["event"] == "boom":
                raise RuntimeError("boom")

        _, base = self.start(quiet)
        status, _, answer = post(base + "/raw", b'{"event":"e"}')
        self.assertEqual((status, json.loads(answer)), (200, {"status": "ok"}))
        status, _, answer = post(base + "/raw", b'{"event":"boom"}')
        self.assertEqual(status, 500)
        self.assertIn("boom", json.loads(answer)["error"])

    def test_the_intakes_answers_come_first(self):
        seen = []
        secret = "raw-secret"
        _, base = self.start(lambda p, req, res: seen.append(p), secret=secret)
        self.assertEqual(post(base + "/other", b'{"event":"e"}', signed(secret, b'{"event":"e"}'))[0], 404)
        self.assertEqual(post(base + "/raw", b"", method="GET")[0], 404)
        self.assertEqual(post(base + "/raw", b'{"event":"e"}', {"x-zm-signature": "v0=00",
                                                                "x-zm-request-timestamp": str(int(time.time()))})[0], 401)
        self.assertEqual(post(base + "/raw", b"nope", signed(secret, b"nope"))[0], 400)
        self.assertEqual(post(base + "/raw", b'{"a":1}', signed(secret, b'{"a":1}'))[0], 400)
        v = b'{"event":"endpoint.url_validation","payload":{"plainToken":"abc"}}'
        status, _, answer = post(base + "/raw", v, signed(secret, v))
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(answer)["encryptedToken"], hmac.new(secret.encode(), b"abc", hashlib.sha256).hexdigest())
        self.assertEqual(seen, [], "nothing refused or answered by the intake reaches the callback")
        ok = b'{"event":"meeting.started"}'
        self.assertEqual(post(base + "/raw", ok, signed(secret, ok))[0], 200)
        self.assertEqual(seen, [{"event": "meeting.started"}])

    def test_a_validation_challenge_without_a_secret_is_a_clear_400(self):
        seen = []
        _, base = self.start(lambda p, req, res: seen.append(p))
        status, _, answer = post(base + "/raw", b'{"event":"endpoint.url_validation","payload":{"plainToken":"abc"}}')
        self.assertEqual(status, 400)
        self.assertIn("secret", json.loads(answer)["error"])
        self.assertEqual(seen, [])


def header_struct(name):
    """Field names of a struct in include/openrtms.h (without version), read from the header."""
    with open(os.path.join(INCLUDE, "openrtms.h"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"struct %s \{(.*?)\n\};" % name, text, re.S)
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    return [x for x in re.findall(r"^\s*[\w ]+?\s+\**(\w+)(?:\[\d+\])?;", body, re.M) if x != "version"]


class TestRawFormIsTheCoresIntake(unittest.TestCase):
    """The raw form's server hands every request to the core (rtms_webhook_create/handle): retries
    are deduplicated, RTMS events of live clients routed, refusals never reach the callback."""

    def start(self, callback, secret):
        server = rtms.WebhookServer(port=0, path="/hook", host="127.0.0.1", secret=secret)
        self.assertTrue(server.start(callback))
        self.addCleanup(server.stop)
        return server, "http://127.0.0.1:%d/hook" % server.port

    def test_a_retry_reaches_the_callback_once_refusals_never(self):
        secret = "py-dedupe-secret"
        seen = []

        def on_webhook(payload, request, response):
            seen.append(payload)
            response.send({"raw": True})

        server, url = self.start(on_webhook, secret)
        body = json.dumps({"event": "meeting.rtms_started", "event_ts": time.time(),
                           "payload": {"rtms_stream_id": "py-retry"}}).encode()
        status, _, answer = post(url + "?retry=0", body, signed(secret, body))
        self.assertEqual((status, json.loads(answer)), (200, {"raw": True}))
        time.sleep(1.0)   # Zoom's retry: the same body, signed again with a later timestamp
        status, _, answer = post(url + "?retry=1", body, signed(secret, body))
        self.assertEqual((status, json.loads(answer)), (200, {"status": "ok"}), "a duplicate gets the core's answer")
        self.assertEqual(post(url, b'{"event":"forged"}', signed("not-the-secret", b'{"event":"forged"}'))[0], 401)
        self.assertEqual(post(url, b'{"event":"unsigned"}')[0], 401)
        v = b'{"event":"endpoint.url_validation","payload":{"plainToken":"tok"}}'
        status, _, answer = post(url + "?x=1", v, signed(secret, v))
        self.assertEqual((status, json.loads(answer)), (200, {
            "plainToken": "tok", "encryptedToken": hmac.new(secret.encode(), b"tok", hashlib.sha256).hexdigest()}))
        self.assertEqual(post(url, b" " * ((1 << 20) + 1), signed(secret, b""))[0], 413)
        self.assertEqual([p["event"] for p in seen], ["meeting.rtms_started"])
        self.assertEqual(server.wait_started("py-retry", timeout_ms=0), json.loads(body), "wait_started in the raw form")
        st = server.stats()
        self.assertEqual((st["accepted"], st["duplicates"], st["unauthorized"], st["validations"], st["too_large"]),
                         (1, 1, 2, 1, 1))

    def test_rtms_stopped_for_a_live_client_is_routed_to_it(self):
        secret = "py-route-secret"
        seen = []
        server, url = self.start(lambda payload, request, response: seen.append(payload), secret)
        sim = Simulator()
        self.addCleanup(sim.close)
        body = sim.meeting(duration=60)
        c = rtms.Client()
        rec = Recorder(c)
        c.enable_video(False)
        c.enable_deskshare(False)
        c.join(body["payload"], client=CLIENT_ID, secret=CLIENT_SECRET)
        self.addCleanup(c.leave)
        self.assertTrue(wait_for(lambda: rec.of("join_confirm"), 15))
        self.assertEqual(rec.of("join_confirm"), [(0,)])
        stopped = json.dumps({"event": "meeting.rtms_stopped", "event_ts": time.time(), "payload": {
            "meeting_uuid": body["payload"]["meeting_uuid"], "rtms_stream_id": body["payload"]["rtms_stream_id"],
            "stop_reason": 2}}).encode()
        self.assertEqual(post(url, stopped, signed(secret, stopped))[0], 200)
        self.assertTrue(wait_for(lambda: rec.of("leave"), 10), "the core ended the live session")
        self.assertEqual(rec.of("leave"), [(rtms.StopReason.USER_TRIGGERED,)])
        self.assertEqual(post(url, stopped, signed(secret, stopped))[0], 200)
        self.assertEqual([p["event"] for p in seen], ["meeting.rtms_stopped"])
        st = server.stats()
        self.assertEqual((st["routed"], st["duplicates"]), (1, 1))

    def test_stats_have_every_field_of_the_c_structs(self):
        fields = header_struct("rtms_webhook_stats")
        self.assertIn("accept_errors", fields)
        for form in (lambda p: None, lambda p, req, res: None):
            server = rtms.WebhookServer(port=0, path="/s", host="127.0.0.1", secret="")
            self.assertTrue(server.start(form))
            try:
                self.assertEqual(sorted(server.stats()), sorted(fields))
            finally:
                server.stop()
        fields = header_struct("rtms_stats")
        self.assertIn("max_gap_ms", fields)
        sim = Simulator()
        self.addCleanup(sim.close)
        c = rtms.Client()
        rec = Recorder(c)
        c.join(sim.meeting(duration=2)["payload"], client=CLIENT_ID, secret=CLIENT_SECRET)
        self.assertTrue(wait_for(lambda: rec.of("leave"), 20))
        st = c.stats()
        c.leave()
        self.assertEqual(sorted(st), sorted(fields))
        self.assertEqual(list(st["media_messages"]), ["audio", "video", "deskshare", "transcript", "chat"])


if __name__ == "__main__":
    unittest.main()
