"""The audit log: who signed in (or failed to), who asked what, who added or removed which
document, and every change to accounts — one row each in the accounts database.

Rows are only ever appended. A question's text is recorded unless `Settings.audit_questions` is
off (a ministry may not want staff questions kept); the fact that someone asked always is.
Passwords and tokens are never written here (`tests/test_accounts.py` greps the file).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from ..errors import InputError
from .db import PostgresDatabase, SqliteDatabase, now, stamp

MAX_DETAIL_CHARS = 2000


@dataclass
class AuditEntry:
    id: int
    at: str
    user: str
    action: str
    detail: str
    ok: bool


class AuditLog:
    def __init__(self, db: SqliteDatabase | PostgresDatabase) -> None:
        self.db = db

    def record(self, user: str, action: str, detail: str = "", ok: bool = True) -> None:
        with self.db.connect() as conn:
            conn.execute("INSERT INTO audit (at, username, action, detail, ok) VALUES (?, ?, ?, ?, ?)",
                         (now(), user or "-", action, " ".join(detail.split())[:MAX_DETAIL_CHARS], int(ok)))

    def count(self, user: str, action: str, since: str) -> int:
        if not self.db.exists():
            return 0
        with self.db.connect() as conn:
            return conn.execute("SELECT COUNT(*) FROM audit WHERE username = ? AND action = ? AND at >= ?",
                                (user, action, since)).fetchone()[0]

    def entries(self, since: str | None = None, user: str | None = None,
                action: str | None = None) -> list[AuditEntry]:
        if not self.db.exists():
            return []
        sql, args = "SELECT id, at, username, action, detail, ok FROM audit WHERE 1 = 1", []
        for column, value in (("at >=", since), ("username =", user), ("action =", action)):
            if value is not None:
                sql += f" AND {column} ?"
                args.append(value)
        with self.db.connect() as conn:
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
        return [AuditEntry(r["id"], r["at"], r["username"], r["action"], r["detail"], bool(r["ok"])) for r in rows]


_AGO = re.compile(r"(\d+)\s*([mhd])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?Z?)?")


def parse_since(text: str, clock: float | None = None) -> str:
    """`rag audit --since`: an ISO date or date-time (UTC), or an age such as 30m, 24h, 7d."""
    text = text.strip()
    if m := _AGO.fullmatch(text):
        seconds = int(m.group(1)) * {"m": 60, "h": 3600, "d": 86400}[m.group(2)]
        return stamp((time.time() if clock is None else clock) - seconds)
    if _DATE.fullmatch(text):
        day, _, rest = text.replace(" ", "T").partition("T")
        rest = rest.rstrip("Z")
        return f"{day}T{rest + ':00' if len(rest) == 5 else rest or '00:00:00'}Z"
    raise InputError(f"--since không hợp lệ / invalid --since {text!r}: ví dụ / e.g. 2026-11-01, "
                     "2026-11-01T08:00, 24h, 7d, 30m")
