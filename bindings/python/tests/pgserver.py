"""A throwaway PostgreSQL for the fleet tests: scripts/pg-test.sh (initdb into a temporary
directory, a free port on 127.0.0.1), or the server RTMS_TEST_DATABASE_URL names. Each test gets a
fresh database. Queries go through psql."""

import os
import shutil
import subprocess
import tempfile
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "..", "scripts", "pg-test.sh")
SKIPPED = ("no PostgreSQL binaries found: apt-get install postgresql (scripts/test.sh does), set PG_BINDIR, "
           "or give RTMS_TEST_DATABASE_URL; the fleet tests are skipped")


class PgServer:
    def __init__(self) -> None:
        self.dir = None
        given = os.environ.get("RTMS_TEST_DATABASE_URL")
        if given:
            self.url = given
            self.psql = shutil.which("psql")
            if not self.psql:
                raise unittest.SkipTest("RTMS_TEST_DATABASE_URL is set but psql is not on PATH; the fleet tests are skipped")
            return
        if not os.path.exists(SCRIPT):
            raise unittest.SkipTest("scripts/pg-test.sh not found next to the bindings; the fleet tests are skipped")
        r = subprocess.run(["bash", SCRIPT, "bindir"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise unittest.SkipTest(SKIPPED)
        bindir = r.stdout.strip()
        self.psql = os.path.join(bindir, "psql") if os.path.exists(os.path.join(bindir, "psql")) else shutil.which("psql")
        if not self.psql:
            raise unittest.SkipTest("PostgreSQL found but not psql; the fleet tests are skipped")
        # A short path the server's own user can reach (the socket path is limited to 107 bytes).
        base = "/tmp" if os.path.isdir("/tmp") else None
        self.dir = tempfile.mkdtemp(prefix="openrtms-pg-py-", dir=base)
        os.rmdir(self.dir)   # pg-test.sh creates it with the right owner
        r = subprocess.run(["bash", SCRIPT, "start", self.dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=120)
        if r.returncode != 0:
            raise RuntimeError("scripts/pg-test.sh start failed: %s %s" % (r.stdout, r.stderr))
        self.url = r.stdout.strip().splitlines()[-1]

    def database(self, tag: str = "py") -> str:
        """A fresh, empty database; its URL."""
        name = "rtms_%s_%s" % (tag, uuid.uuid4().hex[:10])
        self.query(self.url, "CREATE DATABASE %s" % name)
        base, _, _ = self.url.rpartition("/")
        return "%s/%s" % (base, name)

    def query(self, url: str, sql: str) -> list:
        """Rows of a statement, each a list of column texts."""
        r = subprocess.run([self.psql, url, "-X", "-At", "-F", "|", "-c", sql], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("psql: %s" % r.stderr)
        return [line.split("|") for line in r.stdout.splitlines() if line]

    def stop(self) -> None:
        if self.dir:
            subprocess.run(["bash", SCRIPT, "stop", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            self.dir = None
