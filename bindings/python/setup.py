"""Puts librtms inside the package: OPENRTMS_LIB names the library to ship (built by
scripts/build-lib.sh); without it, a librtms.so already in rtms/ is used."""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        lib = os.environ.get("OPENRTMS_LIB")
        target_dir = os.path.join(self.build_lib, "rtms")
        if lib:
            if not os.path.isfile(lib):
                raise SystemExit("OPENRTMS_LIB=%s: no such file" % lib)
            shutil.copy2(lib, os.path.join(target_dir, os.path.basename(lib) if lib.endswith(".dylib") else "librtms.so"))
        elif not any(os.path.exists(os.path.join(target_dir, n)) for n in ("librtms.so", "librtms.dylib")):
            raise SystemExit("rtms: no librtms to package. Build it (bash scripts/build-lib.sh <prefix>) and set "
                             "OPENRTMS_LIB=<prefix>/lib/librtms.so")


setup(cmdclass={"build_py": BuildWithLibrary})
