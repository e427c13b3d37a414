#!/usr/bin/env python3
"""`rtms demo` in a terminal and out of one: transcript lines never share a row with the status line.

    python3 Tests/cli/status_line.py path/to/rtms

On a terminal (a pseudo-terminal here: stdout and stderr on the same pty, as in a shell) the
status line is redrawn in place at the bottom; every other line must be printed above it, on a
row of its own. The bytes the program wrote are replayed through a minimal terminal model (\\r,
\\n, ESC [ K) to get the rows a person would see. Without a terminal (pipes) each status is a
plain line of its own.
"""

import os
import pty
import re
import select
import subprocess
import sys
import tempfile
import time

TRANSCRIPT = re.compile(r"^  \[\d+:\d\d\] [^:]+: ")
STATUS = re.compile(r"streams \d+/\d+ \| participants \d+ \| [\d.]+ MiB \| reconnects \d+")


def screen_rows(data: str) -> list:
    """The rows a terminal shows after `data`: carriage return, newline, erase to end of line."""
    rows, row, col = [], [], 0
    i = 0
    while i < len(data):
        c = data[i]
        if c == "\x1b" and data.startswith("\x1b[K", i):
            del row[col:]
            i += 3
            continue
        if c == "\r":
            col = 0
        elif c == "\n":
            rows.append("".join(row))
            row, col = [], 0
        else:
            if col < len(row):
                row[col] = c
            else:
                row.append(c)
            col += 1
        i += 1
    if row:
        rows.append("".join(row))
    return rows


def run_in_pty(argv: list, timeout: float) -> str:
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out = bytearray()
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:   # EIO: the program closed the terminal (it exited)
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    if proc.wait(timeout=10) != 0:
        raise SystemExit("status line: %s exited %d:\n%s" % (argv, proc.returncode, out.decode(errors="replace")))
    # The pty turns \n into \r\n; the model treats \r as "column 0", which is what it is.
    return out.decode("utf-8", errors="replace")


def main() -> int:
    rtms = sys.argv[1] if len(sys.argv) > 1 else "rtms"
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        argv = [rtms, "demo", "--duration", "8", "--out", os.path.join(tmp, "pty")]
        rows = screen_rows(run_in_pty(argv, 60))
        transcript = [r for r in rows if TRANSCRIPT.match(r)]
        mixed = [r for r in rows if STATUS.search(r) and ("] " in r.split("reconnects", 1)[-1] or not r.startswith("streams"))]
        statuses = [r for r in rows if STATUS.search(r)]
        if len(transcript) < 3:
            problems.append("terminal: %d transcript rows, expected several: %r" % (len(transcript), rows[-15:]))
        if mixed:
            problems.append("terminal: the status line shares a row with other output: %r" % mixed[:3])
        if not statuses:
            problems.append("terminal: no status line left on screen: %r" % rows[-10:])
        # Out of a terminal: no escape sequences, each status a line of its own.
        p = subprocess.run([rtms, "demo", "--duration", "4", "--out", os.path.join(tmp, "pipe")],
                           capture_output=True, text=True, timeout=60)
        both = p.stdout + p.stderr
        if p.returncode != 0:
            problems.append("pipes: exit %d: %s" % (p.returncode, both[-500:]))
        if "\x1b[" in both or "\r" in both:
            problems.append("pipes: terminal control characters written to a pipe")
        plain = [l for l in both.splitlines() if STATUS.search(l)]
        if not plain or not all(STATUS.match(l) for l in plain):
            problems.append("pipes: status lines not plain lines of their own: %r" % plain[:3])
    for p in problems:
        print("FAIL " + p)
    print("status line: %s" % ("ok: %d transcript rows above the status line in a terminal, plain lines in pipes" % len(transcript)
                               if not problems else "%d problem(s)" % len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
