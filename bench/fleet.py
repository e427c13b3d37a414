#!/usr/bin/env python3
"""Fleet benchmarks: three `rtms serve` nodes on one PostgreSQL, the simulator as Zoom.

    python3 bench/fleet.py                 # the full run (minutes); prints a Markdown summary
    python3 bench/fleet.py --smoke         # seconds; what CI runs so that none of this rots
    python3 bench/fleet.py --only latency,takeover --out results.json

Workloads (names for --only, matched as prefixes):
  latency   webhook-to-join-confirm through the fleet: each rtms_started posted to a random node and
            again to another one (Zoom's retry landing elsewhere); the time from the first post to
            the simulator starting the stream (its media connections up: the client's join-confirm).
  takeover  the owner of a stream killed with SIGKILL, again and again: the time from the kill until
            audio flows again on a connection the new owner opened (5 messages). The killed node is
            restarted under the same id before the next kill, so three nodes stay up.
  scale     many streams over the three nodes: CPU per stream of the nodes, the database's load
            (transactions per second, connections) and the recorded drops, over a measured window.

Binaries: RTMS_BIN (rtms) and RTMS_SIM (rtms-sim), else the release builds in .build-release or
.build, else the debug builds. PostgreSQL from scripts/pg-test.sh (Debian's postgresql package).
"""

import argparse
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET = "fleet-bench-client", "fleet-bench-secret", "fleet-bench-webhook"
LEASE_MS, RENEW_MS, MARGIN_MS = 3000, 500, 1000   # the fleet tests' settings; --lease-ms etc. change them


def binary(env, name):
    if os.environ.get(env):
        return os.environ[env]
    for d in (os.path.join(ROOT, ".build-release", "release"), os.path.join(ROOT, ".build", "release"), os.path.join(ROOT, ".build", "debug")):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise SystemExit("fleet bench: no %s; build it (swift build) or set %s" % (name, env))


def now_ms():
    return int(time.time() * 1000)


def wait_until(cond, timeout_s, every_s=0.02):
    end = time.time() + timeout_s
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(every_s)
    return None


def percentile(values, q):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100.0 * (len(s) - 1)))))]


def cpu_seconds(pid):
    """User + system CPU of a process (and its reaped children), in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick
    except (OSError, IndexError, ValueError):
        return 0.0


class Postgres:
    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "pg-test.sh"), "start", self.dir], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("fleet bench: cannot start PostgreSQL (%s)" % (r.stderr.strip() or r.stdout.strip())[-300:])
        self.url = r.stdout.strip().splitlines()[-1]

    def sql(self, query):
        r = subprocess.run(["psql", self.url, "-At", "-c", query], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql: " + r.stderr.strip())
        return r.stdout.strip()

    def server_pids(self):
        """The postmaster (its command line names the data directory) and its children (backends)."""
        r = subprocess.run(["pgrep", "-f", self.dir], capture_output=True, text=True)
        pids = [int(p) for p in r.stdout.split()]
        for p in list(pids):
            c = subprocess.run(["pgrep", "-P", str(p)], capture_output=True, text=True)
            pids += [int(x) for x in c.stdout.split()]
        return sorted(set(pids))

    def close(self):
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "pg-test.sh"), "stop", self.dir], capture_output=True)


class Sim:
    def __init__(self, path):
        self.proc = subprocess.Popen([path, "--host", "127.0.0.1", "--port", "0", "--meetings", "0", "--no-tls", "--client-id", CLIENT_ID,
                                      "--client-secret", CLIENT_SECRET, "--join-wait", "600"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        m = re.search(r"listening on port (\d+)", self.proc.stderr.readline())
        if not m:
            raise SystemExit("fleet bench: the simulator did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        self.url = "http://127.0.0.1:%s" % m.group(1)

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())

    def meeting(self, duration_ms, seed):
        return self.call("POST", "/meetings", {"duration_ms": duration_ms, "seed": seed, "participants": 2})

    def report(self, stream_id):
        try:
            return self.call("GET", "/streams/" + stream_id)
        except (urllib.error.URLError, OSError, ValueError):
            return {}

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class Node:
    def __init__(self, rtms, name, db_url, work, max_streams):
        self.rtms, self.name, self.db_url, self.max_streams = rtms, name, db_url, max_streams
        self.dir = os.path.join(work, "node-" + name)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None
        self.port = 0
        self.start()

    def start(self):
        self.log_path = os.path.join(self.dir, "serve-%d.log" % now_ms())
        env = dict(os.environ, ZM_RTMS_CLIENT=CLIENT_ID, ZM_RTMS_SECRET=CLIENT_SECRET, ZM_RTMS_WEBHOOK_SECRET=WEBHOOK_SECRET,
                   RTMS_LOG_LEVEL="warning")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([self.rtms, "serve", "--database-url", self.db_url, "--port", "0", "--path", "/webhook",
                                      "--node-id", self.name, "--out", os.path.join(self.dir, "out"), "--max-streams", str(self.max_streams),
                                      "--lease-ms", str(LEASE_MS), "--renew-ms", str(RENEW_MS), "--lease-margin-ms", str(MARGIN_MS),
                                      "--media", MEDIA],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.port = 0

    def ready(self, timeout_s=60):
        def check():
            if self.proc.poll() is not None:
                raise SystemExit("fleet bench: node %s exited: %s" % (self.name, open(self.log_path).read()[-500:]))
            m = re.search(r"webhooks on port (\d+)", open(self.log_path).read())
            return int(m.group(1)) if m else None
        port = wait_until(check, timeout_s, 0.05)
        if not port:
            raise SystemExit("fleet bench: node %s not ready: %s" % (self.name, open(self.log_path).read()[-500:]))
        self.port = port
        return self

    @property
    def webhook(self):
        return "http://127.0.0.1:%d/webhook" % self.port

    def get(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=5) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            return e.read().decode()
        except (urllib.error.URLError, OSError):
            return ""

    def metric(self, name):
        total = 0.0
        for line in self.get("/metrics").splitlines():
            if line.startswith(name) and not line.startswith("#"):
                try:
                    total += float(line.rsplit(" ", 1)[1])
                except ValueError:
                    pass
        return total

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)
        self.proc.wait(30)
        self.log.close()

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def post_signed(url, body):
    raw = json.dumps(body).encode()
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(WEBHOOK_SECRET.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    req = urllib.request.Request(url, data=raw, method="POST", headers={
        "Content-Type": "application/json", "x-zm-request-timestamp": ts, "x-zm-signature": sig})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return 0


def audio_back_after(sim, stream_id, since_ms, timeout_s):
    """When (wall ms) 5 audio messages were sent after a media connection opened at or after since_ms."""
    base = [None]

    def check():
        r = sim.report(stream_id)
        conns = r.get("connections", [])
        sent = r.get("sent", {}).get("audio", 0)
        if base[0] is None and any(c["connection"] != "signaling" and c["opened_ms"] >= since_ms and c.get("closed_ms") is None for c in conns):
            base[0] = sent
        return now_ms() if base[0] is not None and sent >= base[0] + 5 else None
    return wait_until(check, timeout_s, 0.01)


def latency(sim, nodes, count, rng):
    ids, posted, statuses = [], {}, []
    for i in range(count):
        body = sim.meeting(600_000, 1000 + i)
        sid = body["payload"]["rtms_stream_id"]
        first, second = rng.sample(nodes, 2)
        posted[sid] = now_ms()
        statuses.append(post_signed(first.webhook, body))
        statuses.append(post_signed(second.webhook, body))
        ids.append(sid)
        time.sleep(0.05)
    lat = {}

    def all_started():
        for sid in ids:
            if sid not in lat:
                s = sim.report(sid).get("started_ms", 0)
                if s:
                    lat[sid] = s - posted[sid]
        return len(lat) == len(ids)
    wait_until(all_started, 60, 0.05)
    signalings = [sum(1 for c in sim.report(sid).get("connections", []) if c["connection"] == "signaling") for sid in ids]
    v = list(lat.values())
    return ids, {"meetings": count, "posts": len(statuses), "posts_ok": statuses.count(200), "joined": len(v),
                 "signaling_connections": sum(signalings),
                 "p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99), "max_ms": max(v) if v else None}


def takeover(sim, pg, nodes, ids, kills, rng):
    times, problems = [], []
    by_name = {n.name: n for n in nodes}
    for k in range(kills):
        sid = rng.choice(ids)
        # Owned, and flowing (a stream may be between owners after the previous kill's restart).
        owner = wait_until(lambda: pg.sql("SELECT owner_node FROM rtms.streams WHERE rtms_stream_id = '%s' AND state = 'owned'" % sid), 15, 0.05)
        node = by_name.get(owner)
        if node is None:
            problems.append("kill %d: stream %s has no owner (%r)" % (k, sid, owner))
            continue
        t = now_ms()
        node.kill()
        back = audio_back_after(sim, sid, t, 20)
        if back is None:
            problems.append("kill %d: %s not flowing again within 20 s" % (k, sid))
        else:
            times.append(back - t)
        # The node comes back under its id (it waits out its old lease) before the next kill.
        node.start()
        node.ready()
        wait_until(lambda: '"status":"ok"' in node.get("/healthz"), 30, 0.05)
        print("  takeover %d/%d: %s ms (killed %s)" % (k + 1, kills, times[-1] if back else "-", node.name), flush=True)
    return {"kills": kills, "median_ms": statistics.median(times) if times else None, "max_ms": max(times) if times else None,
            "min_ms": min(times) if times else None, "problems": problems, "lease_ms": LEASE_MS}


def scale(sim, pg, nodes, streams, seconds, rng):
    t0 = time.time()
    ids = []
    for i in range(streams):
        body = sim.meeting(3_600_000, 50_000 + i)
        ids.append(body["payload"]["rtms_stream_id"])
        if post_signed(rng.choice(nodes).webhook, body) != 200:
            raise SystemExit("fleet bench: a webhook was not accepted")
    joined = wait_until(lambda: int(pg.sql("SELECT count(*) FROM rtms.streams WHERE state = 'owned'")) >= streams and all(
        sim.report(s).get("started_ms", 0) for s in ids[-20:]), max(60, streams / 5), 0.5)
    setup_s = time.time() - t0
    time.sleep(2)
    held = {n.name: json.loads(n.get("/healthz") or "{}").get("streams", 0) for n in nodes}
    pg_pids = pg.server_pids()
    db = pg.sql("SELECT current_database()")

    def db_tx():
        return int(pg.sql("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '%s'" % db))
    cpu0 = {n.name: cpu_seconds(n.proc.pid) for n in nodes}
    sim0, pg0, tx0 = cpu_seconds(sim.proc.pid), sum(cpu_seconds(p) for p in pg_pids), db_tx()
    drops0 = sum(n.metric("rtms_fleet_drops_total") for n in nodes)
    w0 = time.time()
    time.sleep(seconds)
    w = time.time() - w0
    cpu = {n.name: (cpu_seconds(n.proc.pid) - cpu0[n.name]) / w for n in nodes}
    sim_cpu, pg_cpu, tx = (cpu_seconds(sim.proc.pid) - sim0) / w, (sum(cpu_seconds(p) for p in pg_pids) - pg0) / w, (db_tx() - tx0) / w
    conns = int(pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'" % db))
    drops = sum(n.metric("rtms_fleet_drops_total") for n in nodes) - drops0
    total = sum(cpu.values())
    return {"streams": streams, "all_joined": bool(joined), "setup_s": round(setup_s, 1), "window_s": round(w, 1), "held": held,
            "node_cpu_cores": {k: round(v, 3) for k, v in cpu.items()}, "nodes_cpu_cores": round(total, 3),
            "cpu_per_stream_pct_core": round(100 * total / streams, 3), "simulator_cpu_cores": round(sim_cpu, 3),
            "postgres_cpu_cores": round(pg_cpu, 3), "db_transactions_per_s": round(tx, 1), "db_connections": conns,
            "drops": drops}


def set_lease(lease, renew, margin):
    global LEASE_MS, RENEW_MS, MARGIN_MS
    LEASE_MS, RENEW_MS, MARGIN_MS = lease, renew, margin


# What every node records (rtms serve --media). transcript alone leaves out audio's 50 messages a
# second per stream: what remains is the fleet's own cost per stream (lease, rows, connections).
MEDIA = "audio,transcript"


def main():
    global MEDIA
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="seconds: a few meetings, two kills, 30 streams")
    ap.add_argument("--only", help="comma-separated workload names (prefixes): latency, takeover, scale")
    ap.add_argument("--meetings", type=int, default=100, help="latency: meetings posted (default 100)")
    ap.add_argument("--kills", type=int, default=20, help="takeover: kills (default 20)")
    ap.add_argument("--streams", type=int, default=1000, help="scale: streams over the three nodes (default 1000)")
    ap.add_argument("--seconds", type=float, default=20, help="scale: the measured window (default 20)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lease-ms", type=int, default=3000, help="the nodes' lease (default 3000: the fleet tests'; rtms serve's is 10000)")
    ap.add_argument("--renew-ms", type=int, default=500, help="renewal period (default 500; rtms serve's 2000)")
    ap.add_argument("--margin-ms", type=int, default=1000, help="lease margin (default 1000; rtms serve's 2000)")
    ap.add_argument("--media", default=MEDIA, help="what the nodes record (default audio,transcript; transcript alone "
                    "measures the fleet's own cost per stream at a scale the machine's media would saturate)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, recordings)")
    ap.add_argument("--out", help="write the results as JSON here")
    a = ap.parse_args()
    set_lease(a.lease_ms, a.renew_ms, a.margin_ms)
    MEDIA = a.media
    if a.smoke:
        a.meetings, a.kills, a.streams, a.seconds = 6, 2, 30, 3
    only = [s.strip() for s in (a.only or "latency,takeover,scale").split(",") if s.strip()]
    want = lambda name: any(name.startswith(o) for o in only)
    rng = random.Random(a.seed)
    rtms, sim_path = binary("RTMS_BIN", "rtms"), binary("RTMS_SIM", "rtms-sim")
    work = tempfile.mkdtemp(prefix="openrtms-fleet-bench-")
    os.chmod(work, 0o755)   # PostgreSQL runs as its own user when we are root (scripts/pg-test.sh)
    results = {"binaries": {"rtms": os.path.relpath(rtms, ROOT), "rtms-sim": os.path.relpath(sim_path, ROOT)},
               "lease_ms": LEASE_MS, "renew_ms": RENEW_MS, "margin_ms": MARGIN_MS, "media": MEDIA, "cores": os.cpu_count()}
    problems = []
    pg = Postgres(work)
    sim = Sim(sim_path)
    per_node = max(10, a.streams)   # room for every stream on any node: the spread is the claimers' doing
    nodes = []
    try:
        nodes = [Node(rtms, n, pg.url, work, per_node) for n in ("A", "B", "C")]
        for n in nodes:
            n.ready()
        started = time.time()
        ids = []
        if want("latency") or want("takeover"):
            ids, r = latency(sim, nodes, a.meetings, rng)
            results["latency"] = r
            print("latency: %s" % json.dumps(r), flush=True)
            if r["joined"] != a.meetings or r["signaling_connections"] != a.meetings:
                problems.append("latency: %d of %d meetings joined, %d signaling connections" % (r["joined"], a.meetings, r["signaling_connections"]))
        if want("takeover"):
            r = takeover(sim, pg, nodes, ids, a.kills, rng)
            results["takeover"] = r
            print("takeover: %s" % json.dumps(r), flush=True)
            problems += r["problems"]
            if r["max_ms"] is not None and r["max_ms"] > max(5000, LEASE_MS + 2000):
                problems.append("takeover: media back only %d ms after a kill (target 5 s)" % r["max_ms"])
        if want("scale"):
            r = scale(sim, pg, nodes, a.streams, a.seconds, rng)
            results["scale"] = r
            print("scale: %s" % json.dumps(r), flush=True)
            if not r["all_joined"]:
                problems.append("scale: not every stream joined")
            if r["drops"]:
                problems.append("scale: %d drops" % r["drops"])
        results["elapsed_s"] = round(time.time() - started, 1)
    except Exception as e:   # a workload that broke is a result too: report it, tear down, fail
        problems.append("%s: %s" % (type(e).__name__, e))
    finally:
        for n in nodes:
            n.close()
        sim.close()
        pg.close()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)   # recordings: gigabytes at scale
        else:
            print("fleet bench: kept %s" % work)
    results["problems"] = problems
    if a.out:
        with open(a.out, "w") as f:
            json.dump(results, f, indent=2)
    if problems:
        print("fleet bench: FAILED: " + "; ".join(problems))
        sys.exit(1)
    print("fleet bench: ok (%s s)" % results.get("elapsed_s"))


if __name__ == "__main__":
    main()
