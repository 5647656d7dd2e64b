"""A throwaway PostgreSQL server for the `postgres` orders store tests:
Debian's postgresql package (binaries under /usr/lib/postgresql/N/bin), a
cluster in a temporary directory, listening only on a unix socket there
(listen_addresses=''), stopped and removed at the end.

    pg = PgServer(template).start()      # or the `pg` fixture below
    pg.conninfo                          # "host=/tmp/redress-pg-… port=… dbname=redress user=postgres"
    pg.psql("SELECT count(*) FROM refunds")   # → "0" (psql -At, stripped)
    pg.stop(); pg.start()                # same data, same socket

initdb refuses to run as root (tests run as root in CI): as root, every
server-side command runs as the `postgres` system user (runuser) on
directories it owns; otherwise as the current user. initdb runs once per
session (the `pg_template` fixture: schema loaded, server stopped); each test
gets a copy of that data directory, so a test costs a copy and a start.

Only the standard library and the postgresql package: usable by hand too.
"""
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "demo" / "postgres-schema.sql"
FIXTURES = REPO / "demo" / "postgres-fixtures.sql"
AS_ROOT = os.geteuid() == 0
DB = "redress"


def pg_bin():
    """Directory of initdb/pg_ctl: $PG_BIN, else the newest /usr/lib/postgresql/N/bin."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not found:
        pytest.fail("PostgreSQL server binaries not found (apt-get install postgresql, "
                    "or set PG_BIN)")
    return Path(found[-1]).parent


def _owner():
    """(uid, gid) the server runs as."""
    if AS_ROOT:
        pw = pwd.getpwnam("postgres")
        return pw.pw_uid, pw.pw_gid
    return os.getuid(), os.getgid()


def _as_server(cmd):
    return ["runuser", "-u", "postgres", "--", *map(str, cmd)] if AS_ROOT else list(map(str, cmd))


def _chown_tree(path):
    uid, gid = _owner()
    if not AS_ROOT:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)


def _run(cmd, timeout=60, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n"
                           f"{proc.stdout}\n{proc.stderr}")
    return proc


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """One cluster in its own temporary directory (data/, the socket, log)."""

    def __init__(self, template=None):
        self.bin = pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="redress-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = _free_port()  # names the socket file: .s.PGSQL.<port>
        if template:
            shutil.copytree(template, self.data, symlinks=True)
        _chown_tree(self.dir)
        if not template:
            _run(_as_server([self.bin / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                             "-E", "UTF8", "--locale=C", "-N"]))

    @property
    def conninfo(self):
        return f"host={self.dir} port={self.port} dbname={DB} user=postgres"

    def start(self, timeout=30):
        opts = f"-k {self.dir} -c listen_addresses='' -p {self.port} -c fsync=off"
        _run(_as_server([self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-o", opts,
                         "-w", "-t", str(timeout), "start"]), timeout=timeout + 10)
        return self

    def running(self):
        return (self.data / "postmaster.pid").exists()

    def stop(self, mode="fast", timeout=30):
        """pg_ctl stop (fast: clients are disconnected); never raises."""
        if not self.running():
            return
        try:
            _run(_as_server([self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t",
                             str(timeout), "stop"]), timeout=timeout + 10)
        except (RuntimeError, subprocess.TimeoutExpired):
            pid = (self.data / "postmaster.pid").read_text().split()[0]
            os.kill(int(pid), signal.SIGKILL)

    def cleanup(self):
        self.stop(mode="immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def psql_cmd(self, db=DB):
        return ["psql", "-X", "-h", str(self.dir), "-p", str(self.port), "-U", "postgres",
                "-d", db, "-v", "ON_ERROR_STOP=1", "-At"]

    def psql(self, sql, db=DB, timeout=30):
        """Run sql (one or more statements); stdout stripped. Raises on error."""
        return _run(self.psql_cmd(db) + ["-c", sql], timeout=timeout).stdout.strip()

    def psql_file(self, path, db=DB):
        _run(self.psql_cmd(db) + ["-f", str(path)])

    def session(self):
        """A psql child reading statements from its stdin, for holding a
        transaction open: write(sql) then close()."""
        return subprocess.Popen(self.psql_cmd(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture(scope="session")
def pg_template():
    """A data directory with the demo schema loaded (server stopped)."""
    tpl = PgServer()
    try:
        tpl.start()
        tpl.psql(f"CREATE DATABASE {DB}", db="postgres")
        tpl.psql_file(SCHEMA)
        tpl.stop()
        yield tpl.data
    finally:
        tpl.cleanup()


@pytest.fixture
def pg(pg_template):
    """A started server (copy of the template) with the demo orders loaded."""
    server = PgServer(pg_template)
    try:
        server.start()
        server.psql_file(FIXTURES)
        yield server
    finally:
        server.cleanup()


def wait_until(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # noqa: BLE001 - not yet
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not true after {timeout} s")
        time.sleep(interval)
