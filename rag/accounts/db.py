"""Where the accounts tables live: the feedback SQLite file, or the shared PostgreSQL store.

Why the same place as the rest: the issue asks accounts to live "in the same database as
feedback (SQLite by default; the PostgreSQL store when that is configured)" — one file, or one
database, to back up, and with RAG_STORE=postgresql://… every server behind a load balancer
sees the same users. Each `connect()` is one short transaction (committed or rolled back whole),
so a user is never half-added (a user row without its grants). The SQL the account code writes
is the dialect both understand (`?` placeholders are turned into psycopg's `%s`).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from ..config import STORE_SCHEMES
from ..errors import InputError

_TABLES = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('reader', 'editor', 'admin')),
    password TEXT NOT NULL,          -- argon2id hash, never the password
    created TEXT NOT NULL,
    changed TEXT NOT NULL,
    session_gen TEXT NOT NULL DEFAULT ''  -- changed by sign-out: every session issued before ends
);
CREATE TABLE IF NOT EXISTS user_groups (
    username TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    grp TEXT NOT NULL,
    PRIMARY KEY (username, grp)
);
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY,
    created TEXT NOT NULL
);
-- principal: a user name, or "@group"; can_edit implies read
CREATE TABLE IF NOT EXISTS grants (
    collection TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
    principal TEXT NOT NULL,
    can_edit INTEGER NOT NULL CHECK (can_edit IN (0, 1)),
    PRIMARY KEY (collection, principal)
);
CREATE TABLE IF NOT EXISTS api_tokens (
    hash TEXT PRIMARY KEY,           -- sha256 of the token: a stolen database gives no token
    username TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    label TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id {serial},
    at TEXT NOT NULL,                -- UTC, ISO 8601 with seconds: sorts as text
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    ok INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS audit_user_action ON audit (username, action, at);
"""
SQLITE_SCHEMA = _TABLES.replace("{serial}", "INTEGER PRIMARY KEY AUTOINCREMENT")
POSTGRES_SCHEMA = _TABLES.replace("{serial}", "bigserial PRIMARY KEY")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def open_database(where: Path | str) -> SqliteDatabase | PostgresDatabase:
    """A `postgresql://` URL: that database; anything else: the SQLite file at that path."""
    if isinstance(where, str) and where.startswith(STORE_SCHEMES):
        return PostgresDatabase(where)
    return SqliteDatabase(Path(where))


class SqliteDatabase:
    """The SQLite file and its schema, created on first use (WAL: the chat's readers go on while
    an admin writes)."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        if self.path.is_dir():
            raise InputError(f"Đường dẫn CSDL tài khoản là thư mục / accounts db path is a folder: {self.path}")
        self._ready = False

    def exists(self) -> bool:
        """Whether there can be accounts at all (checking must not create the file)."""
        return self.path.is_file()

    def _init(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=self.timeout)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SQLITE_SCHEMA)
        self._ready = True

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction on a fresh connection (sqlite3 connections must not cross threads)."""
        try:
            if not self._ready:
                self._init()
            with closing(sqlite3.connect(self.path, timeout=self.timeout)) as conn:
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.row_factory = sqlite3.Row
                with conn:
                    yield conn
        except sqlite3.DatabaseError as e:
            raise InputError(f"Không ghi/đọc được CSDL tài khoản / accounts database error at "
                             f"{self.path}: {e}") from None


class _Row(tuple):
    """A result row readable by position and by column name, as `sqlite3.Row` is."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        return super().__getitem__(self.names[key] if isinstance(key, str) else key)


def _row_factory(cursor: Any):
    names = {c.name: i for i, c in enumerate(cursor.description or [])}

    def make(values: Sequence[Any]) -> _Row:
        row = _Row(values)
        row.names = names
        return row
    return make


class _PgConnection:
    """The few calls the account code makes, on a psycopg connection: `?` becomes `%s`."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @staticmethod
    def _sql(sql: str) -> str:
        return re.sub(r"\?", "%s", sql)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self._conn.execute(self._sql(sql), tuple(args))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(self._sql(sql), [tuple(r) for r in rows])


class PostgresDatabase:
    """The accounts tables in the PostgreSQL database of the shared store (created on first use,
    under an advisory lock so concurrent first starts take turns)."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise InputError("Thiếu thư viện PostgreSQL / PostgreSQL client missing: "
                             "pip install 'hoi-dap-cds[postgres]'") from None
        self._psycopg = psycopg
        self.url = url
        self._ready = False

    def exists(self) -> bool:
        return True

    def _shown(self) -> str:
        return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", self.url)

    @contextmanager
    def connect(self) -> Iterator[_PgConnection]:
        psycopg = self._psycopg
        try:
            with psycopg.connect(self.url, connect_timeout=10, row_factory=_row_factory) as conn:
                if not self._ready:
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(hashtext('rag_accounts_schema'))")
                        conn.execute(POSTGRES_SCHEMA)
                    self._ready = True
                with conn.transaction():
                    yield _PgConnection(conn)
        except psycopg.Error as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise InputError(f"Không ghi/đọc được CSDL tài khoản / accounts database error at "
                             f"{self._shown()}: {first}") from None
