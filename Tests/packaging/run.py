#!/usr/bin/env python3
"""The packages of scripts/package.sh, installed where there is no Swift and nothing of the
repository, and used against the simulator.

    python3 Tests/packaging/run.py DIR        (DIR: what `bash scripts/package.sh DIR` wrote)

What it checks, one PASS/FAIL line each, then "N passed, N failed":

  The wheel (DIR/rtms-*.whl): named rtms-<header version>-py3-none-manylinux_2_<N>_<arch>, N the
  newest glibc symbol version the library inside needs (the oldest manylinux policy it fits);
  its files are the package's modules, py.typed and librtms.so and its metadata, nothing else;
  the metadata (version, License-Expression MIT, the LICENSE file (the repository's, which
  bindings/python/LICENSE and bindings/node/LICENSE copy), Requires-Python, classifiers,
  project URLs, the same as the Node package's); the library inside passes
  scripts/build-lib.sh --check (only rtms_* exported, no Swift runtime needed) and is stripped.
  The Node package (DIR/openrtms-*.tgz): its files are exactly what runs (index.js, index.mjs,
  rtms.d.ts, build/rtms.node, build/librtms.so) plus package.json, README.md and LICENSE;
  package.json's version, license, engines, os, cpu, libc, URLs; the same library as the wheel's,
  byte for byte; `npm pack --dry-run` of bindings/node packs nothing outside that list.

  Installed: for every Python version the classifiers name (3.9 ... 3.13: each must be found on
  this machine, as python3.X on PATH or under pyenv), a new venv, `pip install --no-index` of the
  wheel (no configuration, no index); Python 3.8 (when present) must be refused by
  requires-python. A new folder with `npm install --offline` of the tarball (its own empty
  cache). Each install then runs a program (all at once, each on a meeting of its own of one
  simulator) in a scratch folder with an environment without Swift
  (every PATH entry holding a `swift` removed), without RTMS_*, OPENRTMS_*, ZM_*, PYTHONPATH,
  NODE_PATH, LD_LIBRARY_PATH, under `python -I`: it joins a seeded meeting of the simulator (ws://),
  and must see the join confirmed (0), every audio frame (20 ms of 16 kHz mono 16-bit PCM, not
  silence) and every transcript line the simulator reports having sent, the same transcript in
  every install (text, speaker), then leave(6) when the meeting ends; the loaded librtms (read
  from /proc/self/maps) is the one inside the venv / node_modules, and the package imported is the
  installed one (Node: also through `import` from an ES module).

  `pip install ./bindings/python` without OPENRTMS_LIB and without Swift on PATH fails, saying
  that it needs Swift. With RTMS_TEST_PACKAGE_SOURCE_BUILD=1 it is also installed with Swift:
  setup.py runs scripts/build-lib.sh (quick when .build-release is already built, as after
  Tests/c/run.sh; minutes from cold), and that install joins the simulator like the others.

Environment: RTMS_SIM (rtms-sim, default .build/debug/rtms-sim), PACKAGING_WORK (scratch, default
.ci-work/packaging; emptied at the start), RTMS_TEST_PACKAGE_SOURCE_BUILD=1 (above).
"""

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python", "tests"))
from simulator import CLIENT_ID, CLIENT_SECRET, Simulator  # noqa: E402

WORK = os.environ.get("PACKAGING_WORK", os.path.join(ROOT, ".ci-work", "packaging"))
SEED = 7
MEETING_S = 4
TRANSCRIPT = re.compile(r"^(I think the|Let's look at the|Can we revisit the|Quick update on the|We should finalise the"
                        r"|Good point about the|My concern is the|Next step for the) [a-z]+ and the [a-z]+\.$")
NODE_FILES = {"package.json", "README.md", "LICENSE", "index.js", "index.mjs", "rtms.d.ts", "build/rtms.node",
              "build/librtms.so"}

passed = failed = 0


def record(ok, name, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print("%s %s%s" % ("PASS" if ok else "FAIL", name, " (%s)" % detail if detail else ""), flush=True)
    return ok


def check(name, fn):
    """Runs fn() -> detail text; an AssertionError (or any error) is a FAIL with its message."""
    try:
        detail = fn()
    except Exception as e:  # noqa: BLE001: every failure is reported, the run goes on
        return record(False, name, "%s: %s" % (type(e).__name__, e))
    return record(True, name, detail or "")


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(cmd, **kw)


# --------------------------------------------------------------------------------------------
# What the repository says
# --------------------------------------------------------------------------------------------

def header_version():
    with open(os.path.join(ROOT, "include", "openrtms.h"), encoding="utf-8") as f:
        return re.search(r'^#define OPENRTMS_VERSION_STRING "([^"]+)"', f.read(), re.M).group(1)


def pyproject():
    with open(os.path.join(ROOT, "bindings", "python", "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    project = re.search(r"^\[project\]\s*$(.*?)(?=^\[(?!project\.)|\Z)", text, re.M | re.S).group(1)
    requires = re.search(r'^requires-python\s*=\s*"([^"]+)"', project, re.M).group(1)
    versions = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', project)
    return requires, versions


def bare_env(extra_path=()):
    """The environment of a machine without Swift or anything of OpenRTMS."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RTMS_", "OPENRTMS_", "ZM_", "PIP_", "npm_", "NPM_"))
           and k not in ("PYTHONPATH", "PYTHONHOME", "NODE_PATH", "LD_LIBRARY_PATH", "LD_PRELOAD", "SWIFT",
                         "VIRTUAL_ENV", "CONDA_PREFIX")}
    path = [p for p in env.get("PATH", "").split(os.pathsep)
            if p and not os.path.exists(os.path.join(p, "swift"))]
    env["PATH"] = os.pathsep.join(list(extra_path) + path)
    env["PIP_CONFIG_FILE"] = os.devnull  # no machine-wide find-links or index settings
    return env


def find_python(minor):
    """An interpreter of Python 3.<minor> that runs: under pyenv, else python3.<minor> on PATH
    (pyenv's shims answer for versions that are not selected, and fail)."""
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    cands = sorted(glob.glob(os.path.join(pyenv, "versions", "3.%d.*" % minor, "bin", "python3.%d" % minor)))
    cands += [p for p in [shutil.which("python3.%d" % minor)] if p]
    for cand in cands:
        p = run([cand, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        if p.returncode == 0 and p.stdout.strip() == "3.%d" % minor:
            return cand
    return None


def glibc_floor(so):
    """The newest GLIBC_2.N symbol version the library needs: N."""
    out = run(["objdump", "-T", so]).stdout
    return max(int(m) for m in re.findall(r"\bGLIBC_2\.(\d+)\b", out))


def stripped(so):
    return ".symtab" not in run(["readelf", "-S", "-W", so]).stdout


def build_check(so):
    p = run(["bash", os.path.join(ROOT, "scripts", "build-lib.sh"), "--check", so])
    assert p.returncode == 0, (p.stdout + p.stderr)[-1500:]
    return p.stdout.strip().splitlines()[-1]


# --------------------------------------------------------------------------------------------
# The artifacts
# --------------------------------------------------------------------------------------------

def check_wheel(wheel, version, node_pkg):
    name = os.path.basename(wheel)
    arch = os.uname().machine
    lib = os.path.join(WORK, "wheel-librtms.so")
    with zipfile.ZipFile(wheel) as z:
        names = {n for n in z.namelist() if not n.endswith("/")}
        with open(lib, "wb") as f:
            f.write(z.read("rtms/librtms.so"))
        dist_info = "rtms-%s.dist-info/" % version
        meta = z.read(dist_info + "METADATA").decode()
        wheel_info = z.read(dist_info + "WHEEL").decode()
        license_text = z.read(dist_info + "licenses/LICENSE")

    def tag():
        floor = glibc_floor(lib)
        want = "rtms-%s-py3-none-manylinux_2_%d_%s.whl" % (version, floor, arch)
        assert name == want, "%s, expected %s (GLIBC_2.%d is the newest the library needs)" % (name, want, floor)
        assert "Tag: py3-none-manylinux_2_%d_%s" % (floor, arch) in wheel_info, wheel_info
        assert "Root-Is-Purelib: false" in wheel_info, wheel_info
        return name

    def files():
        modules = {"rtms/" + os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "bindings/python/rtms/*.py"))}
        want = modules | {"rtms/py.typed", "rtms/librtms.so"} | {dist_info + n for n in (
            "METADATA", "WHEEL", "RECORD", "top_level.txt", "licenses/LICENSE")}
        assert names == want, "extra %s, missing %s" % (sorted(names - want), sorted(want - names))
        return "%d files: the modules, py.typed, librtms.so, metadata" % len(names)

    def metadata():
        requires, versions = pyproject()
        fields = {}
        for line in meta.split("\n\n", 1)[0].splitlines():
            k, _, v = line.partition(": ")
            fields.setdefault(k, []).append(v)
        assert fields["Name"] == ["rtms"] and fields["Version"] == [version], (fields["Name"], fields["Version"])
        assert fields.get("License-Expression") == ["MIT"], fields.get("License-Expression")
        assert fields.get("License-File") == ["LICENSE"], fields.get("License-File")
        with open(os.path.join(ROOT, "LICENSE"), "rb") as f:
            assert license_text == f.read(), "the wheel's LICENSE is not the repository's"
        assert license_text.startswith(b"MIT License"), license_text[:40]
        assert fields.get("Requires-Python") == [requires], fields.get("Requires-Python")
        assert requires == ">=" + versions[0], "requires-python %s, oldest classifier %s" % (requires, versions[0])
        tested = ["Programming Language :: Python :: " + v for v in versions]
        assert [c for c in fields["Classifier"] if re.match(r"Programming Language :: Python :: 3\.\d+$", c)] == tested
        urls = dict(u.split(", ", 1) for u in fields.get("Project-URL", []))
        assert set(urls) == {"Homepage", "Source", "Issues", "Documentation"}, urls
        assert urls["Issues"] == node_pkg["bugs"]["url"], (urls["Issues"], node_pkg["bugs"])
        assert node_pkg["repository"]["url"] == "git+%s.git" % urls["Source"], (node_pkg["repository"], urls["Source"])
        assert all(u.startswith("https://") for u in urls.values()), urls
        assert "Typing :: Typed" in fields["Classifier"]
        assert fields.get("Description-Content-Type") == ["text/markdown"], fields.get("Description-Content-Type")
        return "%s, License-Expression MIT, Requires-Python %s, Python %s" % (version, requires, " ".join(versions))

    def library():
        detail = build_check(lib)
        assert stripped(lib), "the library in the wheel is not stripped"
        return detail.replace("build-lib.sh: check: ", "")

    check("wheel: name and tag (the oldest manylinux policy the library satisfies)", tag)
    check("wheel: contents", files)
    check("wheel: metadata", metadata)
    check("wheel: librtms.so inside passes build-lib.sh --check, stripped", library)
    return lib


def check_tarball(tgz, version, wheel_lib):
    lib = os.path.join(WORK, "npm-librtms.so")
    with tarfile.open(tgz) as t:
        members = {m.name[len("package/"):]: m for m in t.getmembers() if m.isfile()}
        pkg = json.loads(t.extractfile(members["package.json"]).read())
        license_text = t.extractfile(members["LICENSE"]).read()
        with open(lib, "wb") as f:
            f.write(t.extractfile(members["build/librtms.so"]).read())

    def name():
        assert os.path.basename(tgz) == "openrtms-%s.tgz" % version, os.path.basename(tgz)
        return os.path.basename(tgz)

    def files():
        assert set(members) == NODE_FILES, "extra %s, missing %s" % (sorted(set(members) - NODE_FILES),
                                                                     sorted(NODE_FILES - set(members)))
        return ", ".join(sorted(members))

    def package_json():
        assert pkg["name"] == "openrtms" and pkg["version"] == version, (pkg["name"], pkg["version"])
        assert pkg["license"] == "MIT", pkg["license"]
        with open(os.path.join(ROOT, "LICENSE"), "rb") as f:
            assert license_text == f.read(), "the package's LICENSE is not the repository's"
        node = run(["node", "-p", "process.versions.node + ' ' + process.arch"]).stdout.split()
        lower = re.fullmatch(r">=(\d+)", pkg["engines"]["node"])
        assert lower and int(node[0].split(".")[0]) >= int(lower.group(1)), (pkg["engines"], node)
        assert pkg["os"] == ["linux"] and pkg["cpu"] == [node[1]] and pkg["libc"] == ["glibc"], (pkg["os"], pkg["cpu"])
        wanted = {"index.js", "index.mjs", "rtms.d.ts", "build/rtms.node", "build/librtms.so"}
        assert set(pkg["files"]) == wanted, pkg["files"]
        for entry in (pkg["main"], pkg["types"], *pkg["exports"]["."].values()):
            assert os.path.normpath(entry) in members, entry
        assert pkg["homepage"].startswith("https://") and pkg["bugs"]["url"].startswith("https://"), pkg["homepage"]
        return "openrtms %s, MIT, engines node %s (tested with %s), %s/%s/glibc" % (
            version, pkg["engines"]["node"], node[0], pkg["os"][0], pkg["cpu"][0])

    def library():
        with open(lib, "rb") as a, open(wheel_lib, "rb") as b:
            assert hashlib.sha256(a.read()).digest() == hashlib.sha256(b.read()).digest(), "differs from the wheel's"
        return "the wheel's librtms.so, byte for byte"

    def addon():
        p = run(["readelf", "-d", "-W", os.path.join(WORK, "npm-tree", "package", "build", "rtms.node")])
        assert "[librtms.so]" in p.stdout and "[$ORIGIN]" in p.stdout, p.stdout[-800:]
        return "rtms.node needs librtms.so, found through $ORIGIN"

    def dry_run():
        # What `npm pack` takes from the source folder: nothing outside the list (the build
        # output may be missing there, or be a debug library under another name, unpacked).
        p = run(["npm", "pack", "--dry-run", "--json", "--offline", "--ignore-scripts"],
                cwd=os.path.join(ROOT, "bindings", "node"), env=bare_env())
        assert p.returncode == 0, p.stderr[-800:]
        listed = {f["path"] for f in json.loads(p.stdout)[0]["files"]}
        assert listed <= NODE_FILES, "would also pack %s" % sorted(listed - NODE_FILES)
        assert {"index.js", "index.mjs", "rtms.d.ts", "package.json", "README.md", "LICENSE"} <= listed, listed
        return "%d files, all from the list" % len(listed)

    check("npm: name", name)
    check("npm: contents: what runs, package.json, README.md, LICENSE", files)
    check("npm: package.json", package_json)
    os.makedirs(os.path.join(WORK, "npm-tree"), exist_ok=True)
    with tarfile.open(tgz) as t:
        if hasattr(tarfile, "data_filter"):
            t.extractall(os.path.join(WORK, "npm-tree"), filter="data")
        else:
            t.extractall(os.path.join(WORK, "npm-tree"))
    check("npm: the addon loads the library next to it", addon)
    check("npm: librtms.so is the wheel's", library)
    check("npm: npm pack --dry-run of bindings/node packs only the list", dry_run)


# --------------------------------------------------------------------------------------------
# Installed, joined
# --------------------------------------------------------------------------------------------

PY_PROGRAM = r'''
import importlib.metadata, json, os, shutil, sys, threading
import rtms
rtms.configure_logger({"enabled": False})
a = json.loads(sys.argv[1])
out = {"python": "%d.%d" % sys.version_info[:2], "module": rtms.__file__, "version": importlib.metadata.version("rtms"),
       "core": rtms._native.rtms_version().decode(), "swift": shutil.which("swift"),
       "env": sorted(k for k in os.environ if k.startswith(("RTMS_", "OPENRTMS_", "ZM_"))),
       "join": [], "leave": [], "audio": 0, "audio_sizes": [], "audio_loud": 0, "transcripts": []}
done = threading.Event()
c = rtms.Client()
c.set_audio_params(rtms.AudioParams(2, 1, 1, 1, 1, 20, 320))  # raw L16, 16 kHz, mono, mixed, 20 ms
c.on_join_confirm(lambda r: out["join"].append(r))
def audio(data, size, ts, md):
    out["audio"] += 1
    if size not in out["audio_sizes"]:
        out["audio_sizes"].append(size)
    if any(data[i] for i in range(0, len(data), 2)):
        out["audio_loud"] += 1
c.on_audio_data(audio)
c.on_transcript_data(lambda data, size, ts, md: out["transcripts"].append([md.userName, data.decode()]))
def left(r):
    out["leave"].append(r)
    done.set()
c.on_leave(left)
c.join(a["payload"], client=a["client"], secret=a["secret"])
done.wait(60)
c.leave()
with open("/proc/self/maps") as f:
    out["loaded"] = sorted({l.split(None, 5)[5].strip() for l in f if "librtms" in l and len(l.split(None, 5)) == 6})
print(json.dumps(out))
'''

NODE_PROGRAM = r'''
'use strict';
const fs = require('node:fs');
const rtms = require('openrtms');
rtms.configureLogger({ enabled: false });
const a = JSON.parse(process.argv[2]);
const which = (n) => process.env.PATH.split(':').some((d) => d && fs.existsSync(d + '/' + n));
const out = { node: process.versions.node, module: require.resolve('openrtms'), version: require('openrtms/package.json').version,
  core: rtms.version(), swift: which('swift') ? 'on PATH' : null,
  env: Object.keys(process.env).filter((k) => /^(RTMS_|OPENRTMS_|ZM_)/.test(k)).sort(),
  join: [], leave: [], audio: 0, audio_sizes: [], audio_loud: 0, transcripts: [] };
const c = new rtms.Client();
c.setAudioParams({ contentType: 2, codec: 1, sampleRate: 1, channel: 1, dataOpt: 1, duration: 20, frameSize: 320 });
c.onJoinConfirm((r) => out.join.push(r));
c.onAudioData((buf, size) => {
  out.audio += 1;
  if (!out.audio_sizes.includes(size)) out.audio_sizes.push(size);
  for (let i = 0; i < buf.length; i += 2) if (buf[i]) { out.audio_loud += 1; break; }
});
c.onTranscriptData((buf, size, ts, md) => out.transcripts.push([md.userName, buf.toString('utf8')]));
c.onLeave((r) => {
  out.leave.push(r);
  c.leave();
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('librtms'));
  out.loaded = [...new Set(maps.map((l) => l.split(/\s+/).slice(5).join(' ').trim()))].sort();
  console.log(JSON.stringify(out));
});
c.join({ ...a.payload, client: a.client, secret: a.secret });
'''

ESM_PROGRAM = r'''
import rtms, { Client, version } from 'openrtms';
import { createRequire } from 'node:module';
const resolved = createRequire(import.meta.url).resolve('openrtms');
console.log(JSON.stringify({ client: typeof Client === 'function' && rtms.Client === Client, core: version(), resolved }));
'''


class Install:
    """One installed package and how to run the join program with it."""

    def __init__(self, label, cmd, cwd, inside, lib_rel="librtms.so"):
        self.label, self.cmd, self.cwd, self.inside, self.lib_rel = label, cmd, cwd, inside, lib_rel
        self.result = None   # (output of the program, what the simulator sent) or an exception

    def join(self, sim):
        """Runs the join program on a new seeded meeting (on a thread: every install at once)."""
        try:
            body = sim.meeting(duration=MEETING_S, seed=SEED, participants=3)
            stream = body["payload"]["rtms_stream_id"]
            arg = json.dumps({"payload": body["payload"], "client": CLIENT_ID, "secret": CLIENT_SECRET})
            p = run(self.cmd + [arg], cwd=self.cwd, env=bare_env(), timeout=90)
            assert p.returncode == 0 and p.stdout.strip(), "exit %d: %s" % (p.returncode, (p.stderr or p.stdout)[-1500:])
            out = json.loads(p.stdout.strip().splitlines()[-1])
            sent = {}
            for _ in range(50):   # the report settles once the stream has ended
                sent = sim.report(stream).get("sent", {})
                if sent.get("transcript"):
                    break
                time.sleep(0.1)
            self.result = (out, sent)
        except Exception as e:  # noqa: BLE001: reported by verify()
            self.result = e

    def verify(self, reference):
        """What the program saw against what the simulator sent; the transcript against the first install's."""
        if isinstance(self.result, Exception):
            raise self.result
        out, sent = self.result
        assert out["swift"] is None and not out["env"], "swift %s, variables %s" % (out["swift"], out["env"])
        assert out["version"] == out["core"] == header_version(), (out["version"], out["core"])
        assert os.path.realpath(out["module"]).startswith(os.path.realpath(self.inside) + os.sep), out["module"]
        # The one librtms mapped is the package's own: next to the module (Python), in build/ (Node).
        want_lib = os.path.join(os.path.dirname(os.path.realpath(out["module"])), self.lib_rel)
        assert [os.path.realpath(x) for x in out["loaded"]] == [want_lib], "loaded %s, not %s" % (out["loaded"], want_lib)
        assert out["join"] == [0], "join_confirm %s" % out["join"]
        assert out["leave"] == [6], "leave %s" % out["leave"]
        assert out["audio_sizes"] == [640], "audio frame sizes %s (20 ms of 16 kHz mono L16: 640)" % out["audio_sizes"]
        assert out["audio"] == sent.get("audio") and out["audio"] > 100, "audio %d, sent %s" % (out["audio"], sent)
        assert out["audio_loud"] > out["audio"] // 2, "%d of %d audio frames silent" % (
            out["audio"] - out["audio_loud"], out["audio"])
        texts = out["transcripts"]
        assert len(texts) == sent.get("transcript") and texts, "transcript %d, sent %s" % (len(texts), sent)
        bad = [t for _, t in texts if not TRANSCRIPT.match(t)]
        assert not bad, "unexpected transcript text %s" % bad
        assert all(who for who, _ in texts), texts
        if reference:
            assert texts == reference[0], "transcript differs from %s's:\n%s\n%s" % (reference[1], texts, reference[0])
        else:
            reference.extend([texts, self.label])
        return "joined, %d audio frames (%d not silent), %d transcript lines (%s: \"%s\"), leave 6, library %s" % (
            out["audio"], out["audio_loud"], len(texts), texts[0][0], texts[0][1], os.path.relpath(want_lib, WORK))


def python_installs(wheel):
    requires, versions = pyproject()
    env = bare_env()
    scratch = os.path.join(WORK, "scratch")
    os.makedirs(scratch, exist_ok=True)
    with open(os.path.join(scratch, "join_py.py"), "w") as f:
        f.write(PY_PROGRAM)
    installs = []

    def install(minor):
        exe = find_python(minor)
        assert exe, "no Python 3.%d here (python3.%d on PATH or under pyenv): the classifiers claim it" % (minor, minor)
        venv = os.path.join(WORK, "venv-3.%d" % minor)
        p = run([exe, "-m", "venv", venv], env=env)
        assert p.returncode == 0, p.stderr[-800:]
        p = run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q", "--no-index",
                 "--disable-pip-version-check", wheel], env=env)
        assert p.returncode == 0, (p.stdout + p.stderr)[-1500:]
        installs.append(Install("Python 3.%d" % minor, [os.path.join(venv, "bin", "python"), "-I",
                                                        os.path.join(scratch, "join_py.py")], scratch, venv))
        return os.path.relpath(exe, os.path.expanduser("~")) if exe.startswith(os.path.expanduser("~")) else exe

    for v in versions:
        minor = int(v.split(".")[1])
        check("wheel: pip install --no-index into a new Python 3.%d venv" % minor, lambda: install(minor))

    below = int(versions[0].split(".")[1]) - 1
    exe = find_python(below)
    if exe:
        def refused():
            venv = os.path.join(WORK, "venv-3.%d" % below)
            run([exe, "-m", "venv", venv], env=env, check=True)
            p = run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--no-index",
                     "--disable-pip-version-check", wheel], env=env)
            assert p.returncode != 0 and "requires a different Python" in p.stdout + p.stderr, (p.stdout + p.stderr)[-800:]
            return "pip refuses it: Requires-Python %s" % requires
        check("wheel: Python 3.%d (below requires-python) is refused" % below, refused)
    else:
        print("SKIP wheel: no Python 3.%d here to check that requires-python refuses it" % below)
    return installs


def node_install(tgz):
    folder = os.path.join(WORK, "node-app")
    env = bare_env()
    installs = []

    def install():
        os.makedirs(folder)
        with open(os.path.join(folder, "package.json"), "w") as f:
            json.dump({"name": "packaging-test", "version": "1.0.0", "private": True}, f)
        p = run(["npm", "install", "--offline", "--no-audit", "--no-fund", "--cache", os.path.join(WORK, "npm-cache"),
                 tgz], cwd=folder, env=env)
        assert p.returncode == 0, (p.stdout + p.stderr)[-1500:]
        installed = os.path.join(folder, "node_modules", "openrtms")
        assert os.path.isfile(os.path.join(installed, "build", "librtms.so")) and not os.path.islink(installed), installed
        for name, text in (("join.js", NODE_PROGRAM), ("esm.mjs", ESM_PROGRAM)):
            with open(os.path.join(folder, name), "w") as f:
                f.write(text)
        installs.append(Install("Node", ["node", "join.js"], folder, installed, os.path.join("build", "librtms.so")))
        return "node_modules/openrtms"

    def esm():
        p = run(["node", "esm.mjs"], cwd=folder, env=env)
        assert p.returncode == 0, p.stderr[-800:]
        out = json.loads(p.stdout)
        assert out["client"] and out["core"] == header_version(), out
        assert out["resolved"].startswith(os.path.join(folder, "node_modules", "openrtms") + os.sep), out["resolved"]
        return "import rtms, { Client, version } from 'openrtms'"

    if check("npm: npm install --offline into a new folder", install):
        check("npm: an ES module imports the installed package", esm)
    return installs


def source_install():
    """pip install ./bindings/python: builds the library with Swift, or says that it needs it."""
    src = os.path.join(ROOT, "bindings", "python")
    if any(os.path.exists(os.path.join(src, "rtms", n)) for n in ("librtms.so", "librtms.dylib")):
        print("SKIP source install: bindings/python/rtms has a library of its own (remove it to test the build step)")
        return []
    py = sys.executable

    def no_swift():
        venv = os.path.join(WORK, "venv-source-noswift")
        run([py, "-m", "venv", venv], check=True)
        env = bare_env()
        # The build requirements (setuptools) come from the index, as pip is set up here.
        env.pop("PIP_CONFIG_FILE")
        env.update((k, v) for k, v in os.environ.items() if k.startswith("PIP_"))
        p = run([os.path.join(venv, "bin", "pip"), "install", "--disable-pip-version-check", src], env=env)
        text = p.stdout + p.stderr
        assert p.returncode != 0, "installed without Swift and without a library"
        assert "building it needs Swift 6.3, which is not on PATH" in text, text[-1500:]
        return "pip fails: \"...building it needs Swift 6.3, which is not on PATH...\""

    check("source: pip install ./bindings/python without Swift says it needs Swift", no_swift)
    if os.environ.get("RTMS_TEST_PACKAGE_SOURCE_BUILD") != "1":
        print("SKIP source: the install that builds librtms with Swift (RTMS_TEST_PACKAGE_SOURCE_BUILD=1 runs it)")
        return []
    venv = os.path.join(WORK, "venv-source")
    installs = []

    def build():
        run([py, "-m", "venv", venv], check=True)
        env = {k: v for k, v in os.environ.items() if k not in ("OPENRTMS_LIB", "RTMS_LIBRARY")}
        t0 = time.time()
        p = run([os.path.join(venv, "bin", "pip"), "install", "-v", "--disable-pip-version-check", src], env=env,
                timeout=3600)
        text = p.stdout + p.stderr
        with open(os.path.join(WORK, "source-install.log"), "w") as f:
            f.write(text)
        assert p.returncode == 0, text[-2000:]
        assert "rtms: building librtms with scripts/build-lib.sh" in text and "build-lib.sh: installed OpenRTMS" in text, \
            "setup.py did not build the library (log: source-install.log)"
        lib = glob.glob(os.path.join(venv, "lib", "python3*", "site-packages", "rtms", "librtms.so"))
        assert len(lib) == 1, lib
        installs.append(Install("the source install", [os.path.join(venv, "bin", "python"), "-I",
                                                       os.path.join(WORK, "scratch", "join_py.py")],
                                os.path.join(WORK, "scratch"), venv))
        return "built and installed in %.0f s; %s" % (time.time() - t0,
                                                     build_check(lib[0]).replace("build-lib.sh: check: ", ""))

    check("source: pip install ./bindings/python builds librtms with scripts/build-lib.sh", build)
    return installs


def main():
    if len(sys.argv) != 2:
        print("usage: python3 Tests/packaging/run.py DIR   (DIR: what scripts/package.sh wrote)", file=sys.stderr)
        return 2
    dist = os.path.abspath(sys.argv[1])
    version = header_version()
    wheels = glob.glob(os.path.join(dist, "rtms-*.whl"))
    tgzs = glob.glob(os.path.join(dist, "openrtms-*.tgz"))
    if len(wheels) != 1 or len(tgzs) != 1:
        print("packaging: %s should hold one rtms-*.whl and one openrtms-*.tgz (bash scripts/package.sh %s): %s"
              % (dist, sys.argv[1], sorted(os.listdir(dist)) if os.path.isdir(dist) else "missing"), file=sys.stderr)
        return 1
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    t0 = time.time()
    with tarfile.open(tgzs[0]) as t:
        node_pkg = json.loads(t.extractfile("package/package.json").read())
    wheel_lib = check_wheel(wheels[0], version, node_pkg)
    check_tarball(tgzs[0], version, wheel_lib)
    installs = python_installs(wheels[0]) + node_install(tgzs[0]) + source_install()
    # Every install joins its own meeting of one simulator, all at once.
    sim = Simulator()
    try:
        threads = [threading.Thread(target=i.join, args=(sim,)) for i in installs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sim.close()
    reference = []
    for i in installs:
        check("%s, without Swift, joins the simulator" % i.label, lambda: i.verify(reference))
    print("packaging: %.0f s" % (time.time() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
