#!/usr/bin/env python3
"""One version string: every place that carries OpenRTMS's version agrees with include/openrtms.h.

  include/openrtms.h             OPENRTMS_VERSION_STRING, _MAJOR/_MINOR/_PATCH, _NUMBER's formula,
                                 and any "x.y.z" in its comments
  Sources/RTMSClient/Client.swift  OpenRTMSVersion.major/minor/patch (the core's copy)
  Sources/RTMSCABI/Exports.swift   rtms_version(), if it spells the version out
  bindings/python/pyproject.toml [project] version (setup.py, if it ever sets one)
  bindings/node/package.json     version
  cmake/*.in                     no version of their own: @OPENRTMS_VERSION@, which
                                 scripts/build-lib.sh fills from the header
Package.swift has no package version (SwiftPM has none); the Swift side is Client.swift.

Run: python3 Tests/consistency/versions.py (exit 1 and a list of disagreements when they differ).
"""

import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SEMVER = r"\d+\.\d+\.\d+"


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def check():
    """(header version, [(place, what it says)] that disagree with it)."""
    bad = []
    h = read("include/openrtms.h")
    m = re.search(r'^#define\s+OPENRTMS_VERSION_STRING\s+"(%s)"' % SEMVER, h, re.M)
    if not m:
        return None, [("include/openrtms.h", "no OPENRTMS_VERSION_STRING \"x.y.z\"")]
    version = m.group(1)
    parts = {}
    for p in ("MAJOR", "MINOR", "PATCH"):
        pm = re.search(r"^#define\s+OPENRTMS_VERSION_%s\s+(\d+)\s*$" % p, h, re.M)
        parts[p] = int(pm.group(1)) if pm else None
    if "%s.%s.%s" % (parts["MAJOR"], parts["MINOR"], parts["PATCH"]) != version:
        bad.append(("include/openrtms.h OPENRTMS_VERSION_MAJOR/MINOR/PATCH", str(parts)))
    if not re.search(r"^#define\s+OPENRTMS_VERSION_NUMBER\s+\(OPENRTMS_VERSION_MAJOR \* 10000 \+ "
                     r"OPENRTMS_VERSION_MINOR \* 100 \+ OPENRTMS_VERSION_PATCH\)", h, re.M):
        bad.append(("include/openrtms.h OPENRTMS_VERSION_NUMBER", "not computed from MAJOR/MINOR/PATCH"))
    for other in set(re.findall(r'"(%s)"' % SEMVER, h)) - {version}:
        bad.append(("include/openrtms.h (a comment)", other))

    swift = read("Sources/RTMSClient/Client.swift")
    sm = re.search(r"enum OpenRTMSVersion\s*\{[^}]*?static let major = (\d+), minor = (\d+), patch = (\d+)", swift, re.S)
    if not sm:
        bad.append(("Sources/RTMSClient/Client.swift", "no OpenRTMSVersion major/minor/patch"))
    elif ".".join(sm.groups()) != version:
        bad.append(("Sources/RTMSClient/Client.swift OpenRTMSVersion", ".".join(sm.groups())))

    exports = read("Sources/RTMSCABI/Exports.swift")
    for line in exports.splitlines():
        if "func rtms_version()" in line:
            for lit in re.findall(r'"(%s)"' % SEMVER, line):
                if lit != version:
                    bad.append(("Sources/RTMSCABI/Exports.swift rtms_version()", lit))

    py = read("bindings/python/pyproject.toml")
    project = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", py, re.M | re.S)
    pm = project and re.search(r'^version\s*=\s*"([^"]*)"', project.group(1), re.M)
    if not pm or pm.group(1) != version:
        bad.append(("bindings/python/pyproject.toml [project] version", pm.group(1) if pm else "missing"))
    if os.path.exists(os.path.join(ROOT, "bindings/python/setup.py")):
        for lit in re.findall(r'version\s*=\s*["\']([^"\']*)["\']', read("bindings/python/setup.py")):
            if lit != version:
                bad.append(("bindings/python/setup.py version", lit))

    node = json.loads(read("bindings/node/package.json")).get("version")
    if node != version:
        bad.append(("bindings/node/package.json version", str(node)))

    for tpl in ("cmake/OpenRTMSConfigVersion.cmake.in", "cmake/openrtms.pc.in"):
        text = read(tpl)
        if "@OPENRTMS_VERSION@" not in text:
            bad.append((tpl, "no @OPENRTMS_VERSION@ placeholder"))
        for lit in re.findall(r"\b%s\b" % SEMVER, text):
            bad.append((tpl, "a version of its own: " + lit))
    build = read("scripts/build-lib.sh")
    if "OPENRTMS_VERSION_STRING" not in build or build.count("@OPENRTMS_VERSION@|$version") < 2:
        bad.append(("scripts/build-lib.sh", "does not fill both cmake templates from OPENRTMS_VERSION_STRING"))
    return version, bad


def main():
    version, bad = check()
    for place, said in bad:
        print("versions: %s says %s, include/openrtms.h says %s" % (place, said, version), file=sys.stderr)
    if bad:
        return 1
    print("versions: %s everywhere (header, Client.swift, pyproject.toml, package.json, cmake templates)" % version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
