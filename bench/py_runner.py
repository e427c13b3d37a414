"""Bench runner for Python: drives `import rtms` (Zoom's rtms 1.1.0 or OpenRTMS's binding, the
same API) the way an application does: K clients on one rtms.EventLoop thread, a callback that
counts. Prints one JSON object with what it measured.

--mode audio (the audio bench plans), mix (a meeting's audio, video, screen share and transcript,
held until every stream joined, `--seconds` of it, then up to `--drain` s to receive what the
simulator said it would send) or video (`--count` video access units back to back, also held until
every stream joined); every mode counts messages and bytes per kind."""

import argparse
import faulthandler
import json
import os
import resource
import sys
import threading
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--sim", required=True, help="simulator base URL (control API)")
ap.add_argument("--clients", type=int, default=1)
ap.add_argument("--count", type=int, default=0, help="messages per stream (0 = no end)")
ap.add_argument("--size", type=int, default=640)
ap.add_argument("--rate", type=int, default=0, help="messages/s per stream; 0 = blast; -1 = idle")
ap.add_argument("--seconds", type=float, default=10, help="measurement window (after all joined)")
ap.add_argument("--kill-media-at", type=float, default=-1, help="abort each audio connection this far into the window")
ap.add_argument("--poll-interval", type=float, default=0.01)
ap.add_argument("--mode", choices=("audio", "mix", "video"), default="audio")
ap.add_argument("--drain", type=float, default=10, help="mix: seconds to wait after the window for what is in flight")
ap.add_argument("--budget-us", type=int, default=int(os.environ.get("RTMS_BENCH_GROUP_US", "0")),
                help="OpenRTMS: the loop's latency budget (EventLoop latency_budget_us); default $RTMS_BENCH_GROUP_US or 0")
a = ap.parse_args()

import rtms  # noqa: E402  (whichever is installed)

if hasattr(rtms, "configure_logger"):
    rtms.configure_logger({"enabled": False})


def control(method, path, body=None):
    req = urllib.request.Request(a.sim + path, data=json.dumps(body).encode() if body is not None else None, method=method)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


lock = threading.Lock()
count = [0] * a.clients
lat_us = []
joined_ms = [None] * a.clients
first = [None] * a.clients
last = [None] * a.clients
max_gap = [0.0] * a.clients
in_window = [False]
KINDS = ("audio", "video", "deskshare", "transcript")
kind_msgs = dict.fromkeys(KINDS, 0)
kind_bytes = dict.fromkeys(KINDS, 0)
LATENCY = a.rate > 0 or a.mode == "mix"


def on_kind(kind):
    def cb(data, size, ts, md):
        with lock:
            kind_msgs[kind] += 1
            kind_bytes[kind] += size
    return cb


def on_audio(i, kind="audio"):
    """The mode's main kind (video in the video blast, audio otherwise): counted per stream too,
    with gaps and (paced, mix) latency."""
    def cb(data, size, ts, md):
        now = time.time()
        with lock:
            kind_msgs[kind] += 1
            kind_bytes[kind] += size
            if last[i] is not None and in_window[0]:
                max_gap[i] = max(max_gap[i], now - last[i])
            if first[i] is None:
                first[i] = now
            last[i] = now
            count[i] += 1
            if in_window[0] and LATENCY and len(lat_us) < 2_000_000:
                lat_us.append(now * 1e6 - int.from_bytes(data[:8], "little"))
    return cb


loop = rtms.EventLoop(poll_interval=a.poll_interval, name="bench",
                      **({"latency_budget_us": a.budget_us} if a.budget_us else {}))
if a.mode == "mix":
    plan = {"mix": {"seconds": a.seconds, "hold": True}}
elif a.mode == "video":
    plan = {"kind": "video", "count": a.count, "hold": True}
else:
    plan = {"count": a.count, "size": a.size, "rate": a.rate}
bodies = [control("POST", "/meetings", {"duration": 3600, "bench": plan}) for _ in range(a.clients)]
t_join = []
clients = []
for i, body in enumerate(bodies):
    c = rtms.Client()
    if a.mode == "video":
        c.on_video_data(on_audio(i, "video"))
    else:
        c.on_audio_data(on_audio(i))
    if a.mode == "mix":
        c.on_video_data(on_kind("video"))
        c.on_deskshare_data(on_kind("deskshare"))
        c.on_transcript_data(on_kind("transcript"))
    c.on_join_confirm(lambda r, i=i: joined_ms.__setitem__(i, (time.time() - t_join[i]) * 1000 if r == 0 else -1))
    loop.add(c)
    t_join.append(time.time())
    p = body["payload"]
    c.join(meeting_uuid=p["meeting_uuid"], rtms_stream_id=p["rtms_stream_id"], server_urls=p["server_urls"],
           signature="bench", timeout=-1)
    clients.append(c)
loop.start()
deadline = time.time() + 60
while any(j is None for j in joined_ms) and time.time() < deadline:
    time.sleep(0.01)
joined = [j for j in joined_ms if j is not None and j >= 0]

expected_kinds, started = None, None
if a.mode != "audio":
    # Every stream joined: the media starts now, on every stream at once.
    r = control("POST", "/bench/start", {})
    started, expected_kinds = r["started"], r["expected"]
def ctx_switches():
    """Context switches of every thread of the process so far (voluntary: wake-ups; and forced)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_nvcsw + ru.ru_nivcsw


c0, w0, n0, cs0 = os.times(), time.time(), sum(count), ctx_switches()
bytes0 = sum(kind_bytes.values())
in_window[0] = True
killed_at = None
if a.count == 0 and a.kill_media_at < 0:
    time.sleep(a.seconds)   # nothing to watch: one sleep, so that the runner itself costs no CPU
while time.time() - w0 < a.seconds:
    if a.kill_media_at >= 0 and killed_at is None and time.time() - w0 >= a.kill_media_at:
        killed_at = time.time()
        for b in bodies:
            control("POST", "/streams/%s/chaos" % b["payload"]["rtms_stream_id"], {"connection": "audio", "action": "abort"})
    if a.count > 0 and sum(count) >= a.count * a.clients:
        break
    time.sleep(0.02)
c1, w1, n1, cs1 = os.times(), time.time(), sum(count), ctx_switches()
in_window[0] = False
window_bytes = sum(kind_bytes.values()) - bytes0
drained = None
if a.mode == "mix":
    # What is still in flight or queued: read it, up to --drain seconds; the rest is missing.
    def all_in():
        with lock:
            return all(kind_msgs[k] >= expected_kinds.get(k, 0) for k in KINDS)
    while not all_in() and time.time() - w1 < a.drain:
        time.sleep(0.02)
    drained = time.time() - w1 if all_in() else -1
with lock:
    # A stream that never came back counts its silence up to the end of the window.
    for i in range(a.clients):
        if killed_at is not None and last[i] is not None:
            max_gap[i] = max(max_gap[i], w1 - last[i])
rss = rss_kb()

cpu = (c1.user - c0.user) + (c1.system - c0.system)
wall = w1 - w0
delivered = n1 - n0
span = 0
if a.count > 0:
    firsts = [f for f in first if f is not None]
    lasts = [l for l in last if l is not None]
    span = (max(lasts) - min(firsts)) if firsts and lasts else 0
    rate = sum(count) / span if span > 0 else 0
else:
    rate = delivered / wall if wall > 0 else 0
lat_us.sort()


def pct(p):
    return lat_us[min(len(lat_us) - 1, int(p * len(lat_us)))] / 1000.0 if lat_us else None


print(json.dumps({
    "clients": a.clients, "joined": len(joined), "delivered": delivered, "total": sum(count), "msgs_per_s": rate,
    "cpu_s": cpu, "wall_s": wall, "cpu_pct": 100 * cpu / wall if wall > 0 else 0,
    "cpu_us_per_msg": 1e6 * cpu / delivered if delivered else None,
    "expected": (a.rate * a.clients * wall) if a.rate > 0 else None,
    "lat_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)} if lat_us else None,
    "join_ms": sorted(joined)[len(joined) // 2] if joined else None,
    "max_gap_ms": 1000 * max(max_gap) if a.kill_media_at >= 0 else None,
    "recovered": sum(1 for i in range(a.clients) if killed_at is not None and last[i] is not None and last[i] > killed_at
                     and w1 - last[i] < 0.5) if a.kill_media_at >= 0 else None,
    "rss_kb": rss,
    "mode": a.mode, "kinds": {k: {"msgs": kind_msgs[k], "bytes": kind_bytes[k]} for k in KINDS}, "window_bytes": window_bytes,
    **({"ctx_switches": cs1 - cs0} if a.mode != "audio" else {}),
    **({"mb_per_s": kind_bytes["video"] / 1e6 / span if span > 0 else 0,
        "cpu_us_per_mb": 1e6 * cpu / (window_bytes / 1e6) if window_bytes else None} if a.mode == "video" else {}),
    **({"started": started, "expected_kinds": expected_kinds, "drain_s": drained} if a.mode == "mix" else {}),
}))
sys.stdout.flush()


# Teardown, bounded: Zoom's client has been seen spinning in leave (sched_yield) for minutes,
# holding the GIL; faulthandler's watchdog is a C thread that ends the process without it.
faulthandler.dump_traceback_later(20, exit=True, file=open(os.devnull, "w"))


def teardown():
    for c in clients:
        c.leave()
    loop.stop()


t = threading.Thread(target=teardown, daemon=True)
t.start()
t.join(15)
if t.is_alive():
    print("py_runner: leave did not return within 15 s", file=sys.stderr)
    sys.stderr.flush()
    os._exit(3)
