#!/usr/bin/env python3
"""mypy over the Python binding, three checks:

  package    `mypy --strict` on the package source (rtms/) and tests/typed_usage.py, a fully
             annotated program over the public API (its `# type: ignore[...]` lines are mistakes the
             types must catch: an ignore no longer needed is an error under --strict).
  installed  (--installed) `mypy --strict` on typed_usage.py against the package installed in this
             interpreter's site-packages, outside the source tree: mypy reads an installed package's
             inline types only when it ships py.typed, so this fails if the marker is not packaged.
  examples   every ```python block of examples/python.md (extracted by Tests/docs/run_examples.py),
             checked as `--strict` less the flags that require annotations: the examples are written
             as Zoom's documentation writes them, with unannotated functions, so those are allowed
             (--allow-untyped-defs, --allow-incomplete-defs, --allow-untyped-calls) but their
             bodies are checked (--check-untyped-defs); everything else of --strict applies.

Python 3.10 is the floor checked (--python-version 3.10: mypy checks nothing older; Zoom's
package supports 3.10 and later). Needs mypy importable by this interpreter:
    python -m pip install mypy && python bindings/python/tests/typecheck.py [--installed]
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)                      # bindings/python
ROOT = os.path.dirname(os.path.dirname(PACKAGE_ROOT))     # the repository
USAGE = os.path.join(HERE, "typed_usage.py")
DOCS = [os.path.join(ROOT, "examples", "python.md")]

COMMON = ["--python-version", "3.10", "--show-error-codes", "--no-color-output"]
STRICT = ["--strict"]
EXAMPLES = ["--strict", "--allow-untyped-defs", "--allow-incomplete-defs", "--allow-untyped-calls",
            "--check-untyped-defs"]


def mypy(name, flags, targets, cwd, cache, mypypath):
    """Runs mypy; prints its findings and a line for the check; returns the number of errors."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)   # mypy would search it: only MYPYPATH (or site-packages) decides
    env.pop("MYPYPATH", None)
    if mypypath:
        env["MYPYPATH"] = mypypath
    cmd = [sys.executable, "-m", "mypy", "--cache-dir", cache] + COMMON + flags + targets
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = r.stdout.strip()
    summary = out.splitlines()[-1] if out else ""
    m = re.match(r"Found (\d+) errors? in (\d+) files? \(checked (\d+) source files?\)", summary)
    ok = re.match(r"Success: no issues found in (\d+) source files?", summary)
    if ok and r.returncode == 0:
        print("typecheck %s: 0 errors in %s files (%s)" % (name, ok.group(1), " ".join(flags)))
        return 0
    print(out)
    errors = int(m.group(1)) if m else 1
    print("typecheck %s: %d errors (%s; mypy exit %d)" % (name, errors, " ".join(flags), r.returncode))
    return errors


def python_blocks(doc):
    """[(line, code)] of the ```python blocks of a doc, with the runner of the examples' extraction."""
    spec = importlib.util.spec_from_file_location("run_examples", os.path.join(ROOT, "Tests", "docs", "run_examples.py"))
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    return [(line, code) for lang, code, line, _ in runner.blocks(doc) if lang == "python"]


def installed_outside(tmp):
    """The file of the rtms package this interpreter imports from tmp without PYTHONPATH, if it is
    not the source tree's (else None)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    r = subprocess.run([sys.executable, "-c", "import importlib.util as u; print(u.find_spec('rtms').origin)"],
                       cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    path = r.stdout.strip()
    if r.returncode != 0 or not path:
        return None
    return None if os.path.realpath(path).startswith(os.path.realpath(PACKAGE_ROOT) + os.sep) else path


def main(argv):
    installed = "--installed" in argv
    if importlib.util.find_spec("mypy") is None:
        print("typecheck: mypy is not installed for %s (python -m pip install mypy)" % sys.executable)
        return 2
    errors, checks = 0, 0
    tmp = tempfile.mkdtemp(prefix="rtms-typecheck-")
    cache = os.path.join(tmp, "cache")
    try:
        checks += 1
        errors += mypy("package", STRICT, ["rtms", os.path.relpath(USAGE, PACKAGE_ROOT)], PACKAGE_ROOT, cache,
                       PACKAGE_ROOT)

        if installed:
            checks += 1
            where = os.path.join(tmp, "installed")
            os.makedirs(where)
            origin = installed_outside(where)
            if origin is None:
                print("typecheck installed: rtms is not installed in %s's site-packages" % sys.executable)
                errors += 1
            else:
                marker = os.path.join(os.path.dirname(origin), "py.typed")
                if not os.path.exists(marker):
                    print("typecheck installed: %s has no py.typed marker" % os.path.dirname(origin))
                shutil.copy(USAGE, where)
                errors += mypy("installed", STRICT, ["typed_usage.py"], where, cache, None)

        where = os.path.join(tmp, "examples")
        os.makedirs(where)
        files = []
        for doc in DOCS:
            stem = os.path.splitext(os.path.basename(doc))[0]
            for line, code in python_blocks(doc):
                name = "%s_md_line_%d.py" % (stem, line)   # mypy's messages name doc and line
                with open(os.path.join(where, name), "w", encoding="utf-8") as f:
                    f.write(code)
                files.append(name)
        if not files:
            print("typecheck examples: no ```python block in %s" % ", ".join(DOCS))
            errors += 1
        else:
            checks += 1
            errors += mypy("examples", EXAMPLES, sorted(files), where, cache, PACKAGE_ROOT)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("typecheck: %d checks, %d errors" % (checks, errors))
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
