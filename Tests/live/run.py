#!/usr/bin/env python3
"""The live view in a real browser: `rtms record --live` against `rtms-sim --no-tls`, the page in
headless Chromium driven over the DevTools protocol, its DOM checked while a meeting runs.

    python3 Tests/live/run.py [path/to/rtms [path/to/rtms-sim]]     (or RTMS_BIN, RTMS_SIM)

A 16-second meeting with chaos (the audio connection aborted at 6 s, its first reconnection
refused, so media is lost until the second 0.8 s later; the video connection aborted at 8 s) is
recorded with --live. Chromium (Debian's `chromium`) loads the page; the test reads the
DOM through Runtime.evaluate and checks: the stream is shown with its participants, transcript
lines arrive (more at a later read than at an earlier one), audio levels in dBFS and a speaker,
the latest video frame decoded as an image, and after the chaos the reconnects and the gap in
the timeline. A screenshot (Page.captureScreenshot, what `chromium --screenshot` writes)
goes to .ci-work/live/live.png and must be a PNG of a real size. Then `rtms demo --live-linger`
prints the page's URL and serves it after the meeting. Takes about 15 seconds.

The DevTools protocol is spoken with a small WebSocket client on the standard library only.
"""

import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, ".ci-work", "live")


def fail(msg: str) -> None:
    raise SystemExit("live view: FAIL " + msg)


def bins() -> tuple:
    rtms = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RTMS_BIN")
    sim = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("RTMS_SIM")
    if not rtms or not sim:
        path = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        rtms = rtms or os.path.join(path, "rtms")
        sim = sim or os.path.join(path, "rtms-sim")
    return rtms, sim


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    fail("no chromium on PATH (apt-get install chromium)")
    return ""


class LineReader:
    """A process's merged output, read line by line without blocking."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.buf = b""
        self.lines = []
        os.set_blocking(proc.stdout.fileno(), False)

    def pump(self) -> None:
        while True:
            try:
                chunk = self.proc.stdout.read(65536)
            except BlockingIOError:
                chunk = None
            if not chunk:
                break
            self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lines.append(line.decode(errors="replace"))

    def wait_for(self, pattern: str, timeout: float) -> "re.Match":
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.pump()
            for l in self.lines:
                m = rx.search(l)
                if m:
                    return m
            if self.proc.poll() is not None:
                self.pump()
                break
            time.sleep(0.05)
        fail("no line matching %r in %.0f s; output:\n%s" % (pattern, timeout, "\n".join(self.lines[-20:])))


class DevTools:
    """The Chrome DevTools protocol over one WebSocket (RFC 6455: masked text frames out)."""

    def __init__(self, ws_url: str):
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)", ws_url)
        if not m:
            fail("odd DevTools URL " + ws_url)
        host, port, path = m.group(1), int(m.group(2)), m.group(3)
        self.sock = socket.create_connection((host, port), timeout=20)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            c = self.sock.recv(4096)
            if not c:
                fail("DevTools closed during the upgrade")
            head += c
        if not head.startswith(b"HTTP/1.1 101"):
            fail("DevTools upgrade refused: %r" % head[:200])
        self.pending = head.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0

    def _read(self, n: int) -> bytes:
        while len(self.pending) < n:
            c = self.sock.recv(1 << 16)
            if not c:
                fail("DevTools connection closed")
            self.pending += c
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def _send(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _message(self) -> str:
        data = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 9:
                self._send(10, payload)
                continue
            if opcode == 8:
                fail("DevTools closed the WebSocket")
            if opcode in (0, 1, 2):
                data += payload
                if b0 & 0x80:
                    return data.decode()

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self._send(1, json.dumps({"id": self.next_id, "method": method, "params": params}).encode())
        while True:
            msg = json.loads(self._message())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    fail("%s: %s" % (method, msg["error"]))
                return msg["result"]

    def evaluate(self, expression: str):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            fail("page script error: %s" % r["exceptionDetails"])
        return r["result"].get("value")


# What the page shows, read from its DOM.
READ_DOM = """(() => {
  const q = (s) => Array.from(document.querySelectorAll(s));
  const conn = document.getElementById("conn"), stats = document.getElementById("stats");
  return {
    conn: conn ? conn.textContent : "(page not loaded)",
    streams: q("section.stream").map((s) => ({ id: s.dataset.streamId, state: s.dataset.state })),
    participants: q("li.participant .name").map((e) => e.textContent),
    levels: q("li.participant .db").map((e) => e.textContent),
    speaking: q("li.participant.speaking .name").map((e) => e.textContent),
    speaker: q(".speaker .who").map((e) => e.textContent),
    transcript: q("li.line[data-kind=transcript]").map((e) => e.querySelector(".text").textContent),
    timeline: q("li.event").map((e) => e.dataset.kind),
    timelineText: q("li.event .text").map((e) => e.textContent),
    frames: q("figure.frame img").map((i) => ({ kind: i.closest("figure").dataset.kind, width: i.naturalWidth })),
    dropped: stats ? stats.dataset.dropped : undefined,
  };
})()"""


def wait_dom(dt: DevTools, what: str, ok, timeout: float) -> dict:
    deadline = time.time() + timeout
    dom = {}
    while time.time() < deadline:
        dom = dt.evaluate(READ_DOM)
        if ok(dom):
            return dom
        time.sleep(0.25)
    fail("%s not shown within %.0f s; the page shows %s" % (what, timeout, json.dumps(dom)[:1500]))
    return dom


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def main() -> int:
    t0 = time.time()
    rtms, sim = bins()
    browser = chromium()
    os.makedirs(OUT, exist_ok=True)
    procs = []
    tmp = tempfile.mkdtemp(prefix="openrtms-live-")
    try:
        # A refused reconnection is tried again after 0.8 s (3 s by default): a gap that loses media.
        env = dict(os.environ, ZM_RTMS_CLIENT="live-id", ZM_RTMS_SECRET="live-secret", RTMS_LOG_LEVEL="error",
                   RTMS_RECONNECT_BASE_DELAY_MS="800")
        env.pop("ZM_RTMS_WEBHOOK_SECRET", None)
        env.pop("RTMS_LIVE_TOKEN", None)
        rec = subprocess.Popen([rtms, "record", "--live", "--port", "0", "--out", os.path.join(tmp, "rec"), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        procs.append(rec)
        rec_out = LineReader(rec)
        page_url = rec_out.wait_for(r"live view: (http://\S+)", 20).group(1).replace("localhost", "127.0.0.1")
        port = int(re.search(r":(\d+)/", page_url).group(1))

        simp = subprocess.Popen([sim, "--no-tls", "--meetings", "0", "--webhook-url", "http://127.0.0.1:%d/" % port,
                                 "--client-id", "live-id", "--client-secret", "live-secret"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        procs.append(simp)
        control = LineReader(simp).wait_for(r"control (http://\S+)/meetings", 20).group(1)

        # The page first (nothing to show yet), then the meeting: the browser sees it arrive.
        profile = os.path.join(tmp, "chromium")
        chrome = subprocess.Popen([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                   "--no-first-run", "--no-default-browser-check", "--user-data-dir=" + profile,
                                   "--remote-debugging-port=0", "--window-size=1400,1100", page_url],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(chrome)
        active = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 20
        while not (os.path.exists(active) and open(active).read().count("\n") >= 1) and time.time() < deadline:
            time.sleep(0.05)
        if not os.path.exists(active):
            fail("chromium wrote no DevToolsActivePort")
        devport = int(open(active).read().split("\n")[0])
        pages = []
        while not pages and time.time() < deadline:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % devport, timeout=5) as r:
                pages = [t for t in json.loads(r.read()) if t.get("type") == "page" and "/live" in t.get("url", "")]
            time.sleep(0.1)
        if not pages:
            fail("chromium has no page on the live view")
        dt = DevTools(pages[0]["webSocketDebuggerUrl"])
        wait_dom(dt, "the connection", lambda d: d["conn"] == "live", 15)

        started = post(control + "/meetings", {
            "duration": 16, "seed": 5, "participants": 3,
            "chaos": [{"at_ms": 6000, "connection": "audio", "action": "abort"},
                      {"at_ms": 8000, "connection": "video", "action": "abort"}],
        })
        stream_id = started["payload"]["rtms_stream_id"]

        first = wait_dom(dt, "the stream, two participants and a transcript line",
                         lambda d: any(s["id"] == stream_id for s in d["streams"]) and len(d["participants"]) >= 2
                         and len(d["transcript"]) >= 1, 15)
        # Joined: the next media reconnection is refused once, so the first abort leaves a gap.
        post(control + "/refuse", {"media_count": 1})
        levels = wait_dom(dt, "an audio level in dBFS and a speaker",
                          lambda d: any("dBFS" in l for l in d["levels"]) and d["speaker"] and d["speaker"][0] != "nobody"
                          and d["speaking"], 10)
        video = wait_dom(dt, "a decoded video frame", lambda d: any(f["kind"] == "video" and f["width"] > 0 for f in d["frames"]), 15)
        chaos = wait_dom(dt, "a reconnect after the chaos",
                         lambda d: "reconnecting" in d["timeline"] and "reconnected" in d["timeline"], 15)
        later = wait_dom(dt, "more transcript lines than at the first read",
                         lambda d: len(d["transcript"]) > len(first["transcript"]), 15)
        gap = wait_dom(dt, "the gap the chaos left", lambda d: "gap" in d["timeline"], 5)

        shot = dt.call("Page.captureScreenshot", format="png")
        png = base64.b64decode(shot["data"])
        path = os.path.join(OUT, "live.png")
        with open(path, "wb") as f:
            f.write(png)
        if not png.startswith(b"\x89PNG\r\n\x1a\n") or len(png) < 20_000:
            fail("the screenshot is not a PNG of a real page (%d bytes)" % len(png))
        width, height = struct.unpack(">II", png[16:24])

        rec.send_signal(signal.SIGINT)
        if rec.wait(timeout=20) != 0:
            rec_out.pump()
            fail("rtms record exited %d:\n%s" % (rec.returncode, "\n".join(rec_out.lines[-20:])))
        summary = json.load(open(os.path.join(tmp, "rec", stream_id, "summary.json")))
        if summary["reconnects"] < 1 or summary["media"]["audio"]["messages"] < 100:
            fail("the recording under the live view: %s" % json.dumps(summary)[:600])

        print("live view: the page in headless %s: stream %s, participants %s, speaker %s, levels %s" % (
            os.path.basename(browser), stream_id[:8], first["participants"], levels["speaker"][0],
            [l for l in levels["levels"] if l]))
        print("live view: transcript lines %d, later %d; video frame %d px wide; timeline %s" % (
            len(first["transcript"]), len(later["transcript"]), max(f["width"] for f in video["frames"]),
            [k for k in gap["timeline"] if k in ("joined", "reconnecting", "reconnected", "gap")]))
        print("live view: reconnects shown: %s" % [t for t in chaos["timelineText"] if "back after" in t][:2])
        print("live view: screenshot %s (%dx%d, %d bytes); recording: %d audio messages, %d reconnects" % (
            os.path.relpath(path, ROOT), width, height, len(png), summary["media"]["audio"]["messages"], summary["reconnects"]))

        # rtms demo prints the page's URL and, with --live-linger, serves it after the meeting.
        demo = subprocess.Popen([rtms, "demo", "--duration", "3", "--quiet", "--live-linger", "2", "--out", os.path.join(tmp, "demo")],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        procs.append(demo)
        demo_out = LineReader(demo)
        demo_url = demo_out.wait_for(r"live view: (http://127\.0\.0\.1:\d+/live)\b", 20).group(1)
        demo_out.wait_for(r"live view stays up", 30)
        with urllib.request.urlopen(demo_url, timeout=5) as r:
            if r.status != 200 or b"EventSource" not in r.read():
                fail("rtms demo: the page at %s" % demo_url)
        if demo.wait(timeout=20) != 0:
            fail("rtms demo exited %d" % demo.returncode)
        print("live view: rtms demo printed %s and served it during --live-linger" % demo_url)
        print("live view: ok in %.1f s" % (time.time() - t0))
        return 0
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
