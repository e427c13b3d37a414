"""rtms-sim's command line serves wss:// by default, as Zoom's service does; --no-tls is the way to
plain ws://, and cannot be combined with an option of wss://. (The other tests pass --no-tls
through simulator.Simulator.)"""

import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simulator import CLIENT_ID, CLIENT_SECRET, Simulator, sim_binary  # noqa: E402

import rtms  # noqa: E402


def wait_for(cond, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline and not cond():
        time.sleep(0.02)
    return cond()


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    p.stderr.close()


class TestSimulatorTLSDefault(unittest.TestCase):
    def test_without_a_flag_it_serves_wss_with_a_ca_generated_in_memory(self):
        p = subprocess.Popen([sim_binary(), "--host", "127.0.0.1", "--port", "0", "--meetings", "0"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(stop, p)
        line = p.stderr.readline()
        m = re.search(r"listening on port (\d+)", line)
        self.assertTrue(m, line)
        self.assertIn("signaling wss://127.0.0.1:%s/signaling" % m.group(1), line)
        self.assertIn("control https://127.0.0.1:%s/meetings" % m.group(1), line)
        self.assertIn("CA generated in memory", line)
        self.assertIn("--ca-out", line)
        # Nothing to trust (the CA is in memory only): the control API's announcement, unverified.
        with urllib.request.urlopen("https://127.0.0.1:%s/health" % m.group(1), timeout=10,
                                    context=ssl._create_unverified_context()) as r:
            health = json.loads(r.read())
        self.assertTrue(health["signaling_url"].startswith("wss://"), health)

    def test_a_client_trusting_the_ca_out_certificate_joins_over_wss(self):
        with tempfile.TemporaryDirectory() as d:
            ca = os.path.join(d, "ca.pem")
            sim = Simulator(ca_out=ca)  # no TLS flag: --ca-out only writes the generated CA
            self.addCleanup(sim.close)
            self.assertIn("signaling wss://127.0.0.1:%d/signaling" % sim.port, sim.line)
            self.assertIn(ca, sim.line)
            self.assertTrue(os.path.getsize(ca) > 0)
            body = sim.meeting(duration=3)  # over https://, verified against the CA
            urls = body["payload"]["server_urls"]
            self.assertTrue(urls.startswith("wss://127.0.0.1:%d/" % sim.port), urls)

            self.assertTrue(rtms.initialize(ca))  # what ZM_RTMS_CA=ca.pem does
            self.addCleanup(rtms.initialize)      # back to the system's trust store
            c = rtms.Client()
            lock, got = threading.Lock(), {"join_confirm": [], "audio": 0, "leave": []}

            def confirm(reason):
                with lock:
                    got["join_confirm"].append(reason)

            def audio(data, size, timestamp, metadata):
                with lock:
                    got["audio"] += 1

            def leave(reason):
                with lock:
                    got["leave"].append(reason)

            c.on_join_confirm(confirm)
            c.on_audio_data(audio)
            c.on_leave(leave)
            c.join(body["payload"], client=CLIENT_ID, secret=CLIENT_SECRET)
            self.addCleanup(c.leave)
            self.assertTrue(wait_for(lambda: got["leave"], 20), got)
            self.assertEqual(got["join_confirm"], [0])
            self.assertEqual(got["leave"], [rtms.StopReason.MEETING_ENDED])
            self.assertGreater(got["audio"], 20, "audio over the wss:// media connection")
            report = sim.report(body["payload"]["rtms_stream_id"])
            self.assertTrue(any(x.get("connection", "").startswith("media") for x in report["connections"]), report)

    def test_no_tls_serves_plain_ws(self):
        sim = Simulator()  # the fixture passes --no-tls
        self.addCleanup(sim.close)
        self.assertIn("signaling ws://127.0.0.1:%d/signaling" % sim.port, sim.line)
        self.assertIn("plain ws://", sim.line)
        urls = sim.meeting(duration=1)["payload"]["server_urls"]
        self.assertTrue(urls.startswith("ws://127.0.0.1:%d/" % sim.port), urls)

    def test_no_tls_with_an_option_of_wss_is_a_usage_error(self):
        for extra, named in ((["--tls"], "--tls"), (["--ca-out", "ca.pem"], "--ca-out"), (["--tls-dir", "tls"], "--tls-dir"),
                             (["--cert", "c.pem", "--key", "k.pem"], "--cert")):
            with self.subTest(extra=extra), tempfile.TemporaryDirectory() as d:
                r = subprocess.run([sim_binary(), "--port", "0", "--meetings", "0", "--no-tls", *extra], cwd=d,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=5)
                self.assertEqual(r.returncode, 64, r.stderr)  # EX_USAGE
                self.assertIn("--no-tls", r.stderr)
                self.assertIn(named, r.stderr)
                self.assertEqual(os.listdir(d), [], "nothing written")


if __name__ == "__main__":
    unittest.main()
