"""A real PostgreSQL 15 for the tests: one server per test session (per xdist worker), one fresh database
per test.

The server runs as the ``postgres`` user (PostgreSQL refuses to run as root) from Debian's binaries, in a
temporary folder owned by that user, on a free loopback port with its unix socket in the same folder, with
trust authentication for the superuser ``zt``. Import the fixtures into a test module::

    from pgserver import pg_server, pg_dsn  # noqa: F401
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path("/usr/lib/postgresql/15/bin")
USER = "zt"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """One PostgreSQL cluster in ``root``: ``start``, ``stop``, ``dsn``, ``pg_dump``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "log"
        self.port = free_port()

    def _as_postgres(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True,
                              check=check, timeout=120, cwd=self.root)

    def init(self) -> None:
        """Create the cluster (trust authentication, superuser ``zt``; no fsync: a test cluster is thrown away)."""
        self._as_postgres(str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", USER, "-E", "UTF8", "-N")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = self._as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                                 "-t", "60", "-o", options, "start", check=False)
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr} {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """Stop the server (fast: connected sessions are cut)."""
        self._as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def dsn(self, database: str = "postgres") -> str:
        """A libpq URI for ``database`` over loopback TCP."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with the real psql client; its output."""
        done = subprocess.run([str(BIN / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d",
                               self.dsn(database), "-c", sql], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout

    def pg_dump(self, database: str) -> bytes:
        """The whole database as ``pg_dump`` writes it (plain SQL)."""
        done = subprocess.run([str(BIN / "pg_dump"), "-d", self.dsn(database)], capture_output=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"pg_dump failed: {done.stderr.decode(errors='replace')}")
        return done.stdout


def _postgres_owned_folder() -> Path:
    """A fresh folder under /tmp that the postgres user owns (its parents are world-traversable)."""
    root = Path(tempfile.mkdtemp(prefix="zt-pg-", dir="/tmp"))
    entry = pwd.getpwnam("postgres")
    os.chown(root, entry.pw_uid, entry.pw_gid)
    root.chmod(0o700)
    return root


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A running PostgreSQL 15 for this test session; skipped where the Debian binaries are missing."""
    if not (BIN / "initdb").exists() or os.geteuid() != 0:
        pytest.skip("needs root and Debian's postgresql 15 (.ci/install-postgres)")
    root = _postgres_owned_folder()
    server = PgServer(root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> Iterator[str]:
    """The DSN of a new, empty database of its own for this test; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    pg_server.psql(f"CREATE DATABASE {name}")
    yield pg_server.dsn(name)
    try:
        pg_server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except RuntimeError:
        pass  # the server may be down after a failed restart test; the session fixture removes it all
