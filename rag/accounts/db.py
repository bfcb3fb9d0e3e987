"""The accounts tables in the feedback SQLite file: one short connection per operation.

Why the same file as feedback: the issue asks accounts to live "in the same database as
feedback", and one file means one backup. WAL mode lets the chat's readers go on while an
admin writes; each `connect()` is one transaction (committed or rolled back whole), so a user
is never half-added (a user row without its grants).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from ..errors import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('reader', 'editor', 'admin')),
    password TEXT NOT NULL,          -- argon2id hash, never the password
    created TEXT NOT NULL,
    changed TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS user_groups (
    user TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    grp TEXT NOT NULL,
    PRIMARY KEY (user, grp)
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
    user TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    label TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,                -- UTC, ISO 8601 with seconds: sorts as text
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    ok INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS audit_user_action ON audit (user, action, at);
"""


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class Database:
    """The SQLite file and its schema, created on first use."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        if self.path.is_dir():
            raise InputError(f"Đường dẫn CSDL tài khoản là thư mục / accounts db path is a folder: {self.path}")
        self._ready = False

    def exists(self) -> bool:
        return self.path.is_file()

    def _init(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=self.timeout)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
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
