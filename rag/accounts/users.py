"""Users, roles, groups, collections with access lists, API tokens and password logins.

Roles: `reader` asks; `editor` also adds, replaces and removes documents in the collections it
may edit; `admin` does everything (users, collections, every document). Every account reads
the default collection `chung`; other collections are read or edited by the users and `@groups`
their access list names. Passwords are hashed with argon2id (argon2-cffi, the algorithm that won
the Password Hashing Competition and OWASP's first choice); API tokens are random 256-bit strings
stored as their SHA-256 (a token has full entropy, so a slow hash adds nothing but latency to every
request). Logins are rate-limited per user name from the audit log, so the limit holds across
processes and restarts.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import AccessError, InputError
from ..types import DEFAULT_COLLECTION
from .audit import AuditLog
from .db import now, open_database, stamp

ROLES = ("reader", "editor", "admin")
MIN_PASSWORD_CHARS = 8
TOKEN_PREFIX = "rag_"
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_HASHER = PasswordHasher()
#: verified when the user does not exist, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _HASHER.hash("not-a-password-" + secrets.token_hex(8))


def check_name(name: str, what: str = "tên người dùng / user name") -> str:
    """Lower-case ASCII letters, digits, '.', '_', '-' (1–64): safe in URLs, logs and SQL."""
    name = (name or "").strip()
    if not _NAME.fullmatch(name):
        raise InputError(f"{what} không hợp lệ / invalid: {name!r} (chữ thường không dấu, số, '.', '_', '-'; "
                         "tối đa 64 ký tự / lower-case ASCII letters, digits, '.', '_', '-', up to 64)")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"Vai trò không hợp lệ / invalid role {role!r}: {' | '.join(ROLES)}")
    return role


def check_password(name: str, password: str) -> None:
    if len(password or "") < MIN_PASSWORD_CHARS:
        raise InputError(f"Mật khẩu quá ngắn / password too short: cần ít nhất / at least "
                         f"{MIN_PASSWORD_CHARS} ký tự / characters")
    if password.strip().lower() == name.lower():
        raise InputError("Mật khẩu không được trùng tên người dùng / password must differ from the user name")


def actor(by: str | None) -> str:
    """Who made a change, for the audit log: the signed-in user, or the operating-system account
    that ran the command on the server ("cli:root")."""
    if by:
        return by
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"cli:uid{os.getuid()}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class Account:
    """A signed-in user and what they may do. `read`/`edit`: collections granted to the user or
    one of their groups (an edit grant also reads)."""

    name: str
    role: str
    groups: frozenset[str] = frozenset()
    read: frozenset[str] = frozenset()
    edit: frozenset[str] = frozenset()
    password_tag: str = ""  # changes with the password and on sign-out: sessions issued before end

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def readable(self) -> frozenset[str] | None:
        """Collections this account's questions search; None for an admin (all of them)."""
        return None if self.is_admin else self.read | self.edit | {DEFAULT_COLLECTION}

    @property
    def editable(self) -> frozenset[str] | None:
        """Collections whose documents this account may add, replace or remove (None: all)."""
        if self.is_admin:
            return None
        return self.edit if self.role == "editor" else frozenset()

    def may_read(self, collection: str) -> bool:
        return self.readable is None or collection in self.readable

    def may_edit(self, collection: str) -> bool:
        return self.editable is None or collection in self.editable

    @property
    def may_edit_any(self) -> bool:
        return self.editable is None or bool(self.editable)


@dataclass
class UserRow:
    """`rag user list`: one line per user."""

    name: str
    role: str
    groups: list[str]
    read: list[str]
    edit: list[str]
    tokens: int
    created: str


@dataclass
class CollectionRow:
    name: str
    readers: list[str]
    editors: list[str]
    created: str


class AccountStore:
    """The accounts in the SQLite file at `where` (the feedback database by default), or in the
    PostgreSQL database a `postgresql://` URL names (the shared store, RAG_STORE)."""

    def __init__(self, where: Path | str, max_failures: int = 5, lockout_minutes: float = 15.0) -> None:
        self.db = open_database(where)
        self.audit = AuditLog(self.db)
        self.max_failures = max_failures
        self.lockout_minutes = lockout_minutes

    # ------------------------------------------------------------------ users

    def has_accounts(self) -> bool:
        """Whether any account exists (no database file at all: none, and none is created)."""
        if not self.db.exists():
            return False
        with self.db.connect() as conn:
            return conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def has_admin(self) -> bool:
        if not self.db.exists():
            return False
        with self.db.connect() as conn:
            return conn.execute("SELECT 1 FROM users WHERE role = 'admin' LIMIT 1").fetchone() is not None

    def add_user(self, name: str, role: str, password: str, collections: list[str] | None = None,
                 groups: list[str] | None = None, by: str | None = None) -> None:
        """A new user; an editor's `collections` are granted edit (which reads; none named: edit
        `chung`), a reader's read. A collection named here that does not exist yet is created."""
        name, role = check_name(name), check_role(role)
        check_password(name, password)
        groups = [check_name(g, "tên nhóm / group name") for g in groups or []]
        wanted = [check_name(c, "tên bộ sưu tập / collection name") for c in collections or []]
        if role == "editor" and not wanted:  # an editor with no collection named edits the shared one
            wanted = [DEFAULT_COLLECTION]
        hashed = _HASHER.hash(password)
        with self.db.connect() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise InputError(f"Người dùng đã có / user already exists: {name} (đổi mật khẩu / change the "
                                 f"password: rag user passwd {name})")
            t = now()
            conn.execute("INSERT INTO users (name, role, password, created, changed) VALUES (?, ?, ?, ?, ?)",
                         (name, role, hashed, t, t))
            conn.executemany("INSERT INTO user_groups VALUES (?, ?)", [(name, g) for g in groups])
            for c in wanted:
                self._grant(conn, c, name, edit=role == "editor")
        self.audit.record(actor(by), "user_add", f"{name} role={role} collections={','.join(wanted)}")

    def set_password(self, name: str, password: str, by: str | None = None) -> None:
        """A new password; the user's open sessions end (their tag changes)."""
        check_password(name, password)
        hashed = _HASHER.hash(password)
        with self.db.connect() as conn:
            cur = conn.execute("UPDATE users SET password = ?, changed = ? WHERE name = ?", (hashed, now(), name))
            if cur.rowcount == 0:
                raise InputError(f"Không có người dùng / no such user: {name}")
        self.audit.record(actor(by), "user_passwd", name)

    def set_group(self, name: str, group: str, member: bool = True, by: str | None = None) -> bool:
        """Put `name` in `group` (or take them out); False when nothing changed."""
        group = check_name(group, "tên nhóm / group name")
        with self.db.connect() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is None:
                raise InputError(f"Không có người dùng / no such user: {name}")
            if member:
                changed = conn.execute("INSERT INTO user_groups VALUES (?, ?) ON CONFLICT DO NOTHING",
                                       (name, group)).rowcount > 0
            else:
                changed = conn.execute("DELETE FROM user_groups WHERE username = ? AND grp = ?",
                                       (name, group)).rowcount > 0
        if changed:
            self.audit.record(actor(by), "group_add" if member else "group_remove", f"{name} @{group}")
        return changed

    def end_sessions(self, name: str, by: str | None = None) -> None:
        """Sign-out: every session of `name` issued so far stops working, on every device —
        a copied cookie included (its tag no longer matches)."""
        with self.db.connect() as conn:
            conn.execute("UPDATE users SET session_gen = ? WHERE name = ?", (secrets.token_hex(8), name))
        self.audit.record(actor(by or name), "logout")

    def set_role(self, name: str, role: str, by: str | None = None) -> None:
        check_role(role)
        with self.db.connect() as conn:
            if self._is_last_admin(conn, name) and role != "admin":
                raise InputError("Không thể bỏ quyền quản trị viên cuối cùng / cannot demote the last admin")
            if conn.execute("UPDATE users SET role = ? WHERE name = ?", (role, name)).rowcount == 0:
                raise InputError(f"Không có người dùng / no such user: {name}")
        self.audit.record(actor(by), "user_role", f"{name} role={role}")

    def remove_user(self, name: str, by: str | None = None) -> None:
        """The user, their tokens, groups and grants go in one transaction: their API tokens and
        sessions stop working at once."""
        with self.db.connect() as conn:
            if self._is_last_admin(conn, name) and self._count_users(conn) > 1:
                raise InputError("Không thể xóa quản trị viên cuối cùng khi còn người dùng khác / cannot remove "
                                 "the last admin while other users remain")
            if conn.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise InputError(f"Không có người dùng / no such user: {name}")
            conn.execute("DELETE FROM grants WHERE principal = ?", (name,))
        self.audit.record(actor(by), "user_remove", name)

    @staticmethod
    def _is_last_admin(conn, name: str) -> bool:
        admins = [r[0] for r in conn.execute("SELECT name FROM users WHERE role = 'admin'")]
        return admins == [name]

    @staticmethod
    def _count_users(conn) -> int:
        return conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]

    def users(self) -> list[UserRow]:
        if not self.db.exists():
            return []
        with self.db.connect() as conn:
            rows = conn.execute("SELECT name, role, created FROM users ORDER BY name").fetchall()
            out = []
            for r in rows:
                acc = self._account(conn, r["name"])
                assert acc is not None
                tokens = conn.execute("SELECT COUNT(*) FROM api_tokens WHERE username = ?", (r["name"],)).fetchone()[0]
                out.append(UserRow(r["name"], r["role"], sorted(acc.groups), sorted(acc.read | acc.edit),
                                   sorted(acc.edit), tokens, r["created"]))
        return out

    def account(self, name: str) -> Account | None:
        with self.db.connect() as conn:
            return self._account(conn, name)

    @staticmethod
    def _account(conn, name: str) -> Account | None:
        row = conn.execute("SELECT name, role, password, session_gen FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        groups = frozenset(r[0] for r in conn.execute("SELECT grp FROM user_groups WHERE username = ?", (name,)))
        principals = [name, *(f"@{g}" for g in groups)]
        marks = ",".join("?" * len(principals))
        grants = conn.execute(f"SELECT collection, MAX(can_edit) FROM grants WHERE principal IN ({marks}) "
                              "GROUP BY collection", principals).fetchall()
        read = frozenset(c for c, _ in grants)
        edit = frozenset(c for c, e in grants if e)
        tag = hashlib.sha256(f"{row['password']}|{row['session_gen']}".encode()).hexdigest()[:16]
        return Account(row["name"], row["role"], groups, read, edit, tag)

    # ------------------------------------------------------------------ logging in

    def login(self, name: str, password: str, origin: str = "") -> Account:
        """The account for a correct name and password. Raises AccessError on a wrong one, and
        while the name is locked after `max_failures` failures within `lockout_minutes`; every
        attempt is in the audit log with its `origin` (where from: "ui ip=…"), never the password."""
        name = (name or "").strip().lower()
        shown = name[:64] or "(trống)"
        if not self.has_accounts():
            raise AccessError("Chưa có tài khoản nào / no accounts configured: rag user add TÊN --role admin")
        since = stamp(time.time() - self.lockout_minutes * 60)
        if self.audit.count(shown, "login_failed", since) >= self.max_failures:
            self.audit.record(shown, "login_blocked", origin, ok=False)
            raise AccessError(f"Đăng nhập sai quá {self.max_failures} lần, tạm khóa {self.lockout_minutes:g} phút / "
                              f"too many failed logins: try again in {self.lockout_minutes:g} minutes")
        with self.db.connect() as conn:
            row = conn.execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()
        stored = row["password"] if row else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password or "")
            ok = row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            self.audit.record(shown, "login_failed", origin, ok=False)
            raise AccessError("Sai tên đăng nhập hoặc mật khẩu / wrong user name or password")
        if _HASHER.check_needs_rehash(stored):  # parameters raised since it was hashed
            with self.db.connect() as conn:
                conn.execute("UPDATE users SET password = ? WHERE name = ?", (_HASHER.hash(password), name))
        self.audit.record(name, "login", origin)
        account = self.account(name)
        assert account is not None
        return account

    # ------------------------------------------------------------------ API tokens

    def create_token(self, name: str, label: str = "", by: str | None = None) -> str:
        """A new API token for `name`, shown once: only its hash is kept."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.connect() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is None:
                raise InputError(f"Không có người dùng / no such user: {name}")
            conn.execute("INSERT INTO api_tokens VALUES (?, ?, ?, ?)", (token_hash(token), name, label, now()))
        self.audit.record(actor(by), "token_create", f"{name} {label}".strip())
        return token

    def revoke_tokens(self, name: str, by: str | None = None) -> int:
        with self.db.connect() as conn:
            n = conn.execute("DELETE FROM api_tokens WHERE username = ?", (name,)).rowcount
        self.audit.record(actor(by), "token_revoke", f"{name} ({n})")
        return n

    def token_account(self, token: str) -> Account | None:
        """The account a bearer token belongs to; None for an unknown or revoked token (or one
        of a removed user: its row went with the user)."""
        if not token or not token.startswith(TOKEN_PREFIX) or not self.db.exists():
            return None
        with self.db.connect() as conn:
            row = conn.execute("SELECT username FROM api_tokens WHERE hash = ?", (token_hash(token),)).fetchone()
            return self._account(conn, row["username"]) if row else None

    # ------------------------------------------------------------------ collections

    def add_collection(self, name: str, by: str | None = None) -> bool:
        """Create a collection; False when it already exists."""
        name = check_name(name, "tên bộ sưu tập / collection name")
        with self.db.connect() as conn:
            created = self._ensure_collection(conn, name)
        if created:
            self.audit.record(actor(by), "collection_add", name)
        return created

    @staticmethod
    def _ensure_collection(conn, name: str) -> bool:
        return conn.execute("INSERT INTO collections VALUES (?, ?) ON CONFLICT DO NOTHING", (name, now())).rowcount > 0

    def _grant(self, conn, collection: str, principal: str, edit: bool) -> None:
        self._ensure_collection(conn, collection)
        conn.execute("INSERT INTO grants VALUES (?, ?, ?) ON CONFLICT (collection, principal) "
                     "DO UPDATE SET can_edit = excluded.can_edit", (collection, principal, int(edit)))

    def grant(self, collection: str, principal: str, edit: bool = False, by: str | None = None) -> None:
        """Let a user (or `@group`) read — or, with `edit`, also change — a collection."""
        collection = check_name(collection, "tên bộ sưu tập / collection name")
        is_group = principal.startswith("@")
        check_name(principal[1:] if is_group else principal, "người dùng hoặc @nhóm / user or @group")
        with self.db.connect() as conn:
            if not is_group and conn.execute("SELECT 1 FROM users WHERE name = ?", (principal,)).fetchone() is None:
                raise InputError(f"Không có người dùng / no such user: {principal}")
            self._grant(conn, collection, principal, edit)
        self.audit.record(actor(by), "grant", f"{collection} {principal} {'edit' if edit else 'read'}")

    def revoke(self, collection: str, principal: str, by: str | None = None) -> bool:
        with self.db.connect() as conn:
            gone = conn.execute("DELETE FROM grants WHERE collection = ? AND principal = ?",
                                (collection, principal)).rowcount > 0
        if gone:
            self.audit.record(actor(by), "revoke", f"{collection} {principal}")
        return gone

    def collections(self) -> list[CollectionRow]:
        if not self.db.exists():
            return [CollectionRow(DEFAULT_COLLECTION, ["*"], [], "")]
        with self.db.connect() as conn:
            rows = {r["name"]: r["created"] for r in conn.execute("SELECT name, created FROM collections")}
            grants = conn.execute("SELECT collection, principal, can_edit FROM grants ORDER BY principal").fetchall()
        rows.setdefault(DEFAULT_COLLECTION, "")
        out = []
        for name in sorted(rows):
            mine = [g for g in grants if g["collection"] == name]
            readers = (["*"] if name == DEFAULT_COLLECTION else []) + [g["principal"] for g in mine]
            out.append(CollectionRow(name, readers, [g["principal"] for g in mine if g["can_edit"]], rows[name]))
        return out

    def known_collections(self) -> set[str]:
        return {c.name for c in self.collections()}
