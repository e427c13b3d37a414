"""Builds the rtms package with librtms inside it: rtms/_native.py loads the librtms.so next to
its modules. Where that library comes from, first match:

  1. OPENRTMS_LIB=<path>: that file (built by scripts/build-lib.sh). scripts/package.sh passes
     its stripped shipping library, so building the wheel never runs Swift.
  2. rtms/librtms.so (or librtms.dylib) already in the package source.
  3. The OpenRTMS repository this directory belongs to: scripts/build-lib.sh builds it there
     (release, Swift runtime linked statically, only rtms_* exported), which needs Swift 6.3 on
     PATH (or SWIFT=<driver>). Without Swift the install stops and says what to do instead.

A wheel with the library inside is a platform wheel tagged py3-none-<platform>: there is no
Python extension, so one wheel serves every Python 3 version. scripts/package.sh then gives it
its manylinux tag with auditwheel.
"""

import os
import shutil
import subprocess
import tempfile

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))  # the repository, when this is bindings/python
LIB_NAMES = ("librtms.so", "librtms.dylib")


def build_library(dest_dir):
    """Runs scripts/build-lib.sh in the repository and copies its librtms.so into dest_dir."""
    script = os.path.join(ROOT, "scripts", "build-lib.sh")
    if not (os.path.isfile(script) and os.path.isfile(os.path.join(ROOT, "Package.swift"))):
        raise SystemExit(
            "rtms: no librtms to put in the package, and this source is not inside the OpenRTMS repository "
            "(no ../../scripts/build-lib.sh) to build one from. Install the wheel, which has the library "
            "inside (bash scripts/package.sh DIR), or set OPENRTMS_LIB to a librtms.so built by "
            "scripts/build-lib.sh.")
    swift = os.environ.get("SWIFT") or "swift"
    if not shutil.which(swift):
        raise SystemExit(
            "rtms: no librtms to put in the package, and building it needs Swift 6.3, which is not on PATH "
            "(%r not found). Either install the Swift toolchain (swift.org) and run pip again, or install "
            "the wheel that has the library inside (bash scripts/package.sh DIR, on a machine with Swift), "
            "or set OPENRTMS_LIB to a librtms.so built by scripts/build-lib.sh." % swift)
    prefix = tempfile.mkdtemp(prefix="rtms-lib-")
    try:
        print("rtms: building librtms with scripts/build-lib.sh (release; minutes when nothing is built yet)",
              flush=True)
        # STRIP_LIB=1: the installed library without its debug symbols, as in the wheel.
        env = dict(os.environ, STRIP_LIB="1")
        rc = subprocess.call(["bash", script, prefix], cwd=ROOT, env=env)
        built = os.path.join(prefix, "lib", "librtms.so")
        if rc != 0 or not os.path.isfile(built):
            raise SystemExit("rtms: scripts/build-lib.sh failed (exit %d); its output is above" % rc)
        shutil.copy2(built, os.path.join(dest_dir, "librtms.so"))
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        target_dir = os.path.join(self.build_lib, "rtms")
        lib = os.environ.get("OPENRTMS_LIB")
        in_source = [n for n in LIB_NAMES if os.path.isfile(os.path.join(HERE, "rtms", n))]
        if in_source and not lib:
            return  # copied by build_py as package data
        # A library left in build/ by an earlier build is not this one.
        for n in LIB_NAMES:
            stale = os.path.join(target_dir, n)
            if os.path.exists(stale):
                os.remove(stale)
        if lib:
            if not os.path.isfile(lib):
                raise SystemExit("rtms: OPENRTMS_LIB=%s: no such file" % lib)
            shutil.copy2(lib, os.path.join(target_dir, "librtms.dylib" if lib.endswith(".dylib") else "librtms.so"))
        else:
            build_library(target_dir)


class WithNativeCode(Distribution):
    """librtms is native code: installed into platlib, and the wheel is for this platform."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    """...but not for one Python version or ABI: ctypes loads the library."""

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(distclass=WithNativeCode, cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel})
