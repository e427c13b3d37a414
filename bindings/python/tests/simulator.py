"""The OpenRTMS simulator (rtms-sim) as a test fixture: started on a free port on 127.0.0.1, plain
ws:// (--no-tls; rtms-sim's default is wss://) unless given ca_out, meetings created and chaos
injected through its control API."""

import json
import os
import re
import ssl
import subprocess
import threading
import urllib.request
from typing import Optional

CLIENT_ID = "py-test-client"
CLIENT_SECRET = "py-test-secret"


def sim_binary() -> str:
    path = os.environ.get("RTMS_SIM")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "..", ".build", "debug", "rtms-sim")
    if not os.path.exists(path):
        raise RuntimeError("rtms-sim not found: set RTMS_SIM (swift build --product rtms-sim)")
    return path


class Simulator:
    def __init__(self, *extra: str, ca_out: Optional[str] = None):
        """Plain ws:// (--no-tls), or with ca_out rtms-sim's default wss:// with its generated CA
        written there (--ca-out); the control API is then https://, checked against that CA."""
        tls = ["--ca-out", ca_out] if ca_out else ["--no-tls"]
        self.proc = subprocess.Popen(
            [sim_binary(), "--host", "127.0.0.1", "--port", "0", "--meetings", "0", "--client-id", CLIENT_ID,
             "--client-secret", CLIENT_SECRET, *tls, *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        m = re.search(r"listening on port (\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("rtms-sim did not start: %r" % line)
        self.line = line.strip()
        self.port = int(m.group(1))
        # Keep reading its stderr so the simulator never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        self.base = "%s://127.0.0.1:%d" % ("https" if ca_out else "http", self.port)
        self.ca_out = ca_out
        self._context: Optional[ssl.SSLContext] = None

    @property
    def context(self) -> Optional[ssl.SSLContext]:
        """Made at first use: a simulator that wrote no CA fails the test's own checks first."""
        if self.ca_out and self._context is None:
            self._context = ssl.create_default_context(cafile=self.ca_out)
        return self._context

    def call(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.context) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return json.loads(e.read() or b"null")

    def meeting(self, duration: float = 4, **options) -> dict:
        """Creates a meeting; returns its rtms_started body."""
        return self.call("POST", "/meetings", dict(duration=duration, **options))

    def report(self, stream_id: str) -> dict:
        return self.call("GET", "/streams/%s" % stream_id)

    def chaos(self, stream_id: str, connection: str, action: str) -> dict:
        return self.call("POST", "/streams/%s/chaos" % stream_id, {"connection": connection, "action": action})

    def stop_stream(self, stream_id: str, reason: int = 6) -> dict:
        return self.call("POST", "/streams/%s/stop" % stream_id, {"reason": reason})

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc.stderr:
            self.proc.stderr.close()
