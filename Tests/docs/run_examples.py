#!/usr/bin/env python3
"""Runs every ```python and ```js block of examples/*.md against the simulator and checks what it prints.

Each block is a complete program that listens for webhooks on ZM_RTMS_PORT. The runner starts it,
waits for the port, starts a simulator that posts one meeting's rtms_started there, and requires
the program to exit 0 once the meeting ended, with the output the doc says it prints.

What a block prints is given by the ```text expected-output blocks after it (before the next
program), one run each:

    ```text expected-output            the default scenario: a 4 s meeting that ends (reason 6)
    joined 0
    …
    left 6
    ```

    ```text expected-output scenario=give-up
    ...                                the stream's connections are cut while every reconnection
    ```                                is refused (HTTP 503): the core gives up, on_leave(620)

    ```text expected-output scenario=fleet
    ...                                the default meeting, with RTMS_DATABASE_URL naming a fresh
    ```                                database of a throwaway PostgreSQL (scripts/pg-test.sh): for
                                       rtms.Fleet programs. Skipped, and said so, without PostgreSQL.

Each line is the text of one line of standard output, where `…` stands for any text; a line that
is only `…` stands for any number of lines (none included). The whole output must match. A
program without an expected output fails.

Environment: RTMS_LIBRARY (librtms.so), RTMS_SIM (rtms-sim), the Node addon built, the rtms
Python package importable (installed, or bindings/python on PYTHONPATH).
    python3 Tests/docs/run_examples.py [--show] [doc.md:line ...]   (--show prints every output)
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLIENT_ID, CLIENT_SECRET = "docs-client", "docs-secret"
ELLIPSIS = "…"

# Scenario -> (simulator meeting duration in s, extra environment of the program).
SCENARIOS = {
    "meeting": (4, {}),
    # Reconnection refused: two quick attempts, then the core gives up.
    "give-up": (60, {"RTMS_RECONNECT_MAX_ATTEMPTS": "2", "RTMS_RECONNECT_BASE_DELAY_MS": "100"}),
    # The meeting, with a database for the fleet (RTMS_DATABASE_URL: see fleet_database()).
    "fleet": (4, {}),
}


class Postgres:
    """A throwaway PostgreSQL for the fleet scenario (scripts/pg-test.sh), started at first use."""

    script = os.path.join(ROOT, "scripts", "pg-test.sh")

    def __init__(self):
        self.dir, self.url, self.psql, self.why = None, None, None, None

    def database(self):
        """The URL of a fresh database, or None (self.why says why)."""
        if self.url is None and self.why is None:
            self.start()
        if self.url is None:
            return None
        name = "rtms_docs_%d_%d" % (os.getpid(), int(time.time() * 1000) % 10 ** 9)
        subprocess.run([self.psql, self.url, "-X", "-q", "-c", "CREATE DATABASE %s" % name], check=True,
                       stdout=subprocess.DEVNULL, timeout=30)
        return self.url.rpartition("/")[0] + "/" + name

    def start(self):
        r = subprocess.run(["bash", self.script, "bindir"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            self.why = "no PostgreSQL binaries (apt-get install postgresql, or set PG_BINDIR)"
            return
        bindir = r.stdout.strip()
        self.psql = os.path.join(bindir, "psql") if os.path.exists(os.path.join(bindir, "psql")) else "psql"
        # Under /tmp: the server's own user must reach it, and a socket path has at most 107 bytes.
        self.dir = tempfile.mkdtemp(prefix="openrtms-pg-docs-", dir="/tmp" if os.path.isdir("/tmp") else None)
        os.rmdir(self.dir)
        r = subprocess.run(["bash", self.script, "start", self.dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        if r.returncode != 0:
            self.why = "scripts/pg-test.sh start failed: %s" % r.stderr[-500:]
            return
        self.url = r.stdout.strip().splitlines()[-1]

    def stop(self):
        if self.dir:
            subprocess.run(["bash", self.script, "stop", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=60)
            self.dir = None


postgres = Postgres()


def blocks(path):
    """(lang, code, line, [(scenario, expected lines)]) for every program of a doc."""
    text = open(path, encoding="utf-8").read()
    fence = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
    out = []
    for m in fence.finditer(text):
        info, body = m.group(1).split(), m.group(2)
        line = text[:m.start()].count("\n") + 1
        if info[:1] in (["python"], ["js"]):
            out.append((info[0], body, line, []))
        elif info[:2] == ["text", "expected-output"]:
            opts = dict(o.split("=", 1) for o in info[2:] if "=" in o)
            if not out:
                raise SystemExit("%s:%d: an expected output before any program" % (path, line))
            scenario = opts.get("scenario", "meeting")
            if scenario not in SCENARIOS:
                raise SystemExit("%s:%d: unknown scenario %r (known: %s)" % (path, line, scenario, ", ".join(SCENARIOS)))
            out[-1][3].append((scenario, body.splitlines()))
    return out


def line_matches(pattern, line):
    parts = pattern.split(ELLIPSIS)
    return re.fullmatch(".*".join(re.escape(p) for p in parts), line, re.S) is not None


def output_matches(expected, actual):
    """True when the lines of actual match the pattern lines of expected (see the module doc)."""
    memo = {}

    def match(i, j):
        if (i, j) in memo:
            return memo[(i, j)]
        if i == len(expected):
            r = j == len(actual)
        elif expected[i].strip() == ELLIPSIS:
            r = any(match(i + 1, k) for k in range(j, len(actual) + 1))
        else:
            r = j < len(actual) and line_matches(expected[i], actual[j]) and match(i + 1, j + 1)
        memo[(i, j)] = r
        return r

    return match(0, 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def sim_call(base, method, path, body=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None, method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def give_up(base, stop):
    """Once the program's client is connected: refuse every reconnection and cut the stream's
    connections, so that the core gives up reconnecting (on_leave(620), UPGRADE_REFUSED)."""
    deadline = time.time() + 30
    while time.time() < deadline and not stop.is_set():
        try:
            streams = sim_call(base, "GET", "/streams")
            streams = streams.get("streams", streams) if isinstance(streams, dict) else streams
            for sid in streams or []:
                report = sim_call(base, "GET", "/streams/%s" % sid)
                if any(c.get("connection", "").startswith("media") for c in report.get("connections", [])):
                    time.sleep(0.5)
                    sim_call(base, "POST", "/refuse", {"milliseconds": 60000})
                    sim_call(base, "POST", "/streams/%s/chaos" % sid, {"connection": "signaling", "action": "abort"})
                    return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)


def start_sim(port, duration):
    sim = subprocess.Popen([os.environ.get("RTMS_SIM", os.path.join(ROOT, ".build", "debug", "rtms-sim")),
                            "--host", "127.0.0.1", "--port", "0", "--no-tls", "--webhook-url", "http://127.0.0.1:%d/" % port,
                            "--meetings", "1", "--duration", str(duration), "--client-id", CLIENT_ID,
                            "--client-secret", CLIENT_SECRET, "--exit-when-done"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    m = re.search(r"listening on port (\d+)", sim.stderr.readline())
    threading.Thread(target=lambda: [None for _ in sim.stderr], daemon=True).start()
    return sim, ("http://127.0.0.1:%s" % m.group(1)) if m else None


def run_block(lang, code, scenario, work):
    """(ok, detail, stdout) of one run of a program in a scenario; ok None: skipped (detail says why)."""
    duration, extra_env = SCENARIOS[scenario]
    if scenario == "fleet":
        url = postgres.database()
        if url is None:
            return None, "skipped: %s" % postgres.why, ""
        extra_env = dict(extra_env, RTMS_DATABASE_URL=url)
    port = free_port()
    env = dict(os.environ, ZM_RTMS_PORT=str(port), ZM_RTMS_PATH="/", ZM_RTMS_CLIENT=CLIENT_ID,
               ZM_RTMS_SECRET=CLIENT_SECRET, ZM_RTMS_LOG_LEVEL="error", **extra_env)
    if lang == "python":
        path = os.path.join(work, "example.py")
        cmd = [sys.executable, path]
    else:
        path = os.path.join(work, "example.mjs")
        cmd = ["node", path]
    with open(path, "w", encoding="utf-8") as f:
        f.write(code)
    prog = subprocess.Popen(cmd, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sim, stop = None, threading.Event()
    try:
        if not wait_listening(port, prog):
            out, err = prog.communicate(timeout=5)
            return False, "never listened on its webhook port: %s" % err[-1500:], out
        sim, base = start_sim(port, duration)
        if base is None:
            return False, "the simulator did not start", ""
        if scenario == "give-up":
            threading.Thread(target=give_up, args=(base, stop), daemon=True).start()
        try:
            out, err = prog.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            prog.kill()
            out, err = prog.communicate()
            return False, "did not exit after the meeting ended; output: %s %s" % (out[-800:], err[-800:]), out
        if prog.returncode != 0:
            return False, "exit %d: %s" % (prog.returncode, err[-1500:]), out
        return True, "", out
    finally:
        stop.set()
        if prog.poll() is None:
            prog.kill()
        if sim is not None and sim.poll() is None:
            sim.terminate()
            sim.wait(5)


def main(argv):
    show = "--show" in argv
    only = [a for a in argv if not a.startswith("--")]
    failures = 0
    count = 0
    with tempfile.TemporaryDirectory() as work:
        # `import rtms from '@zoom/rtms'` resolves to this repository's Node binding.
        os.makedirs(os.path.join(work, "node_modules", "@zoom"))
        os.symlink(os.path.join(ROOT, "bindings", "node"), os.path.join(work, "node_modules", "@zoom", "rtms"))
        for doc in ("python.md", "node.md"):
            for lang, code, line, expectations in blocks(os.path.join(ROOT, "examples", doc)):
                where = "examples/%s:%d" % (doc, line)
                if only and "%s:%d" % (doc, line) not in only:
                    continue
                if not expectations:
                    count += 1
                    failures += 1
                    print("FAIL %s (%s): no ```text expected-output block after it" % (where, lang))
                    continue
                for scenario, expected in expectations:
                    count += 1
                    ok, detail, out = run_block(lang, code, scenario, work)
                    if ok is None:
                        print("skip %s (%s, %s): %s" % (where, lang, scenario, detail))
                        continue
                    lines = out.splitlines()
                    if ok and not output_matches(expected, lines):
                        ok, detail = False, "printed:\n    %s\n  expected:\n    %s" % (
                            "\n    ".join(lines[-40:]), "\n    ".join(expected))
                    elif ok:
                        detail = "%d lines as expected, last: %s" % (len(lines), lines[-1] if lines else "")
                    print("%s %s (%s, %s): %s" % ("ok  " if ok else "FAIL", where, lang, scenario, detail))
                    if show:
                        print("    " + "\n    ".join(lines))
                    failures += 0 if ok else 1
    print("examples: %d runs, %s" % (count, "all as documented" if failures == 0 else "%d FAILED" % failures))
    return 0 if failures == 0 and count > 0 else 1


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    finally:
        postgres.stop()
    sys.exit(status)
