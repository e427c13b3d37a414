#!/usr/bin/env python3
"""Runs every ```python and ```js block of examples/*.md against the simulator.

Each block is a complete program that listens for webhooks on ZM_RTMS_PORT. The runner starts it,
waits for the port, starts a simulator that posts one meeting's rtms_started there, and requires
the program to exit 0 with some output once the meeting ended.

Environment: RTMS_LIBRARY (librtms.so), RTMS_SIM (rtms-sim), the Node addon built, the rtms
Python package importable (installed, or bindings/python on PYTHONPATH).
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLIENT_ID, CLIENT_SECRET = "docs-client", "docs-secret"


def blocks(path):
    text = open(path, encoding="utf-8").read()
    for m in re.finditer(r"^```(python|js)\n(.*?)^```", text, re.S | re.M):
        line = text[:m.start()].count("\n") + 1
        yield m.group(1), m.group(2), line


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


def run_block(lang, code, where, work):
    port = free_port()
    env = dict(os.environ, ZM_RTMS_PORT=str(port), ZM_RTMS_PATH="/", ZM_RTMS_CLIENT=CLIENT_ID,
               ZM_RTMS_SECRET=CLIENT_SECRET, ZM_RTMS_LOG_LEVEL="error")
    if lang == "python":
        path = os.path.join(work, "example.py")
        cmd = [sys.executable, path]
    else:
        path = os.path.join(work, "example.mjs")
        cmd = ["node", path]
    with open(path, "w", encoding="utf-8") as f:
        f.write(code)
    prog = subprocess.Popen(cmd, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sim = None
    try:
        if not wait_listening(port, prog):
            out, err = prog.communicate(timeout=5)
            return False, "never listened on its webhook port: %s" % err[-1500:]
        sim = subprocess.Popen([os.environ.get("RTMS_SIM", os.path.join(ROOT, ".build", "debug", "rtms-sim")),
                                "--host", "127.0.0.1", "--port", "0", "--webhook-url", "http://127.0.0.1:%d/" % port,
                                "--meetings", "1", "--duration", "4", "--client-id", CLIENT_ID,
                                "--client-secret", CLIENT_SECRET, "--exit-when-done"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            out, err = prog.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            prog.kill()
            out, err = prog.communicate()
            return False, "did not exit after the meeting ended; output: %s %s" % (out[-800:], err[-800:])
        if prog.returncode != 0:
            return False, "exit %d: %s" % (prog.returncode, err[-1500:])
        if not out.strip():
            return False, "printed nothing"
        return True, out.strip().splitlines()[-1]
    finally:
        if prog.poll() is None:
            prog.kill()
        if sim is not None and sim.poll() is None:
            sim.terminate()
            sim.wait(5)


def main():
    failures = 0
    count = 0
    with tempfile.TemporaryDirectory() as work:
        # `import rtms from '@zoom/rtms'` resolves to this repository's Node binding.
        os.makedirs(os.path.join(work, "node_modules", "@zoom"))
        os.symlink(os.path.join(ROOT, "bindings", "node"), os.path.join(work, "node_modules", "@zoom", "rtms"))
        for doc in ("python.md", "node.md"):
            for lang, code, line in blocks(os.path.join(ROOT, "examples", doc)):
                count += 1
                ok, detail = run_block(lang, code, "%s:%d" % (doc, line), work)
                print("%s examples/%s:%d (%s): %s" % ("ok  " if ok else "FAIL", doc, line, lang, detail))
                failures += 0 if ok else 1
    print("examples: %d blocks, %s" % (count, "all ran" if failures == 0 else "%d FAILED" % failures))
    return 0 if failures == 0 and count > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
