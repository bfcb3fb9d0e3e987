"""Accounts (issue #14): users, roles, hashing, tokens, collections, sessions, audit, rate limit,
and the `rag user` / `rag collection` / `rag audit` commands, on a real SQLite file and a real
PostgreSQL server (tests/pg_server.py)."""

from __future__ import annotations

import os
import stat
import time

import pytest
from click.testing import CliRunner
from pg_server import pg_server, pg_url  # noqa: F401  (fixtures)

from rag.accounts.audit import parse_since
from rag.accounts.sessions import SessionSigner, load_secret
from rag.accounts.users import AccountStore
from rag.app.cli import main
from rag.errors import AccessError, InputError

PW = "mật-khẩu-Đủ-dài-42"


def db_bytes(path) -> bytes:
    """The database file and its write-ahead log: what a thief of the data folder would get."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path) -> AccountStore:
    """The feedback SQLite file (default) and the shared PostgreSQL store (RAG_STORE)."""
    where = tmp_path / "feedback.sqlite3" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    return AccountStore(where, max_failures=3, lockout_minutes=15)


def stored_text(store: AccountStore) -> str:
    """Every value of every accounts table, as text: what anyone reading the database sees."""
    out = []
    with store.db.connect() as conn:
        for table in ("users", "user_groups", "collections", "grants", "api_tokens", "audit"):
            out += [" ".join(map(str, tuple(r))) for r in conn.execute(f"SELECT * FROM {table}").fetchall()]
    return "\n".join(out)


def test_no_database_means_no_accounts_and_nothing_is_created(tmp_path):
    s = AccountStore(tmp_path / "none.sqlite3")
    assert not s.has_accounts() and not s.has_admin() and s.users() == []
    assert s.token_account("rag_whatever") is None
    assert not (tmp_path / "none.sqlite3").exists()


def test_roles_collections_and_groups(store):
    store.add_user("quantri", "admin", PW)
    store.add_user("lan", "editor", PW, collections=["noi-bo"])
    store.add_user("minh", "reader", PW, groups=["vanphong"])
    store.add_user("hoa", "editor", PW)
    store.grant("bao-cao-tinh", "@vanphong")
    admin, lan, minh, hoa = (store.account(n) for n in ("quantri", "lan", "minh", "hoa"))
    assert admin.readable is None and admin.editable is None and admin.may_edit("bat-ky")
    assert lan.readable == {"chung", "noi-bo"} and lan.editable == {"noi-bo"} and not lan.may_edit("chung")
    assert minh.readable == {"chung", "bao-cao-tinh"} and minh.editable == frozenset() and not minh.may_edit_any
    assert hoa.editable == {"chung"}  # an editor with no collection named edits the shared one
    rows = {c.name: c for c in store.collections()}
    assert rows["chung"].readers[0] == "*" and rows["noi-bo"].editors == ["lan"]
    assert rows["bao-cao-tinh"].readers == ["@vanphong"]
    store.add_user("tam", "reader", PW)
    assert store.set_group("tam", "vanphong") and not store.set_group("tam", "vanphong")
    assert store.account("tam").readable == {"chung", "bao-cao-tinh"}
    assert store.set_group("tam", "vanphong", member=False)
    assert store.account("tam").readable == {"chung"}
    assert store.revoke("bao-cao-tinh", "@vanphong")
    assert store.account("minh").readable == {"chung"}


@pytest.mark.parametrize("args, words", [
    (("Lan Anh", "reader", PW), "invalid"),
    (("lan", "boss", PW), "invalid role"),
    (("lan", "reader", "ngắn"), "too short"),
    (("lanlanlan", "reader", "LanLanLan"), "differ from the user name"),
])
def test_bad_user_input_is_refused_with_a_bilingual_message(store, args, words):
    with pytest.raises(InputError, match=words):
        store.add_user(*args)
    assert not store.has_accounts()


def test_duplicate_user_and_last_admin_are_refused(store):
    store.add_user("quantri", "admin", PW)
    with pytest.raises(InputError, match="already exists"):
        store.add_user("quantri", "reader", PW)
    store.add_user("minh", "reader", PW)
    with pytest.raises(InputError, match="last admin"):
        store.remove_user("quantri")
    with pytest.raises(InputError, match="last admin"):
        store.set_role("quantri", "reader")


def test_login_passwords_hashed_and_rate_limited(store, tmp_path):
    store.add_user("lan", "editor", PW)
    assert store.login("LAN ", PW).name == "lan"
    with pytest.raises(AccessError, match="wrong user name or password"):
        store.login("lan", "sai-mat-khau")
    with pytest.raises(AccessError, match="wrong user name or password"):
        store.login("khong-co", PW)  # an unknown name gets the same answer
    with pytest.raises(AccessError):
        store.login("lan", "sai-nua")
    with pytest.raises(AccessError):
        store.login("lan", "sai-lan-ba")
    # three failures within the window: even the right password is refused now
    with pytest.raises(AccessError, match="too many failed logins"):
        store.login("lan", PW)
    actions = [e.action for e in store.audit.entries(user="lan")]
    assert actions.count("login_failed") == 3 and "login_blocked" in actions and "login" in actions
    text = stored_text(store)
    assert PW not in text and "sai-mat-khau" not in text and "$argon2id$" in text
    if (tmp_path / "feedback.sqlite3").exists():  # the file itself, free pages and journal included
        raw = db_bytes(tmp_path / "feedback.sqlite3")
        assert PW.encode() not in raw and b"sai-mat-khau" not in raw and b"$argon2id$" in raw


def test_lockout_ends_after_the_window(tmp_path):
    s = AccountStore(tmp_path / "db.sqlite3", max_failures=1, lockout_minutes=0)
    s.add_user("lan", "reader", PW)
    with pytest.raises(AccessError):
        s.login("lan", "sai-mat-khau")
    time.sleep(1.1)  # window 0: the failure is already outside it
    assert s.login("lan", PW).name == "lan"


def test_tokens_stop_working_when_the_user_is_removed(store, tmp_path):
    store.add_user("quantri", "admin", PW)
    store.add_user("minh", "reader", PW)
    token = store.create_token("minh", "cổng thông tin")
    assert token.startswith("rag_") and store.token_account(token).name == "minh"
    assert store.token_account(token + "x") is None and store.token_account("") is None
    assert token not in stored_text(store)
    store.remove_user("minh")
    assert store.token_account(token) is None
    again = store.create_token("quantri")
    assert store.revoke_tokens("quantri") == 1 and store.token_account(again) is None


def test_secret_file_is_created_once_with_0600(tmp_path):
    path = tmp_path / "data" / "session.key"
    first = load_secret(path)
    assert len(first) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(path) == first
    os.chmod(path, 0o644)  # loosened by hand: tightened again
    assert load_secret(path) == first and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("xx")
    with pytest.raises(InputError, match="damaged"):
        load_secret(path)


def test_sessions_are_signed_and_expire():
    signer = SessionSigner(b"k" * 32, hours=1)
    token = signer.issue("lan", "tag1", clock=1000.0)
    assert signer.verify(token, clock=1001.0).user == "lan"
    assert signer.verify(token, clock=1000.0 + 3600) is None  # expired
    payload, sig = token.split(".")
    assert signer.verify(f"{payload}.{sig[:-2]}AA", clock=1001.0) is None  # altered signature
    assert SessionSigner(b"x" * 32, hours=1).verify(token, clock=1001.0) is None  # another secret
    assert signer.verify("not-a-token") is None and signer.verify(None) is None


def test_session_ends_when_password_changes_or_user_goes(tmp_path):
    from rag.accounts.access import open_accounts, session_account, session_signer
    from rag.config import Settings

    settings = Settings(index_dir=tmp_path / "index", show_progress=False)
    store, signer = open_accounts(settings), session_signer(settings)
    assert settings.secret_path == tmp_path / "index" / "session.key"
    store.add_user("lan", "reader", PW)
    acc = store.login("lan", PW)
    token = signer.issue(acc.name, acc.password_tag)
    assert session_account(store, signer, token).name == "lan"
    store.end_sessions("lan")  # sign-out: a copy of the cookie is dead too
    assert session_account(store, signer, token) is None
    acc = store.login("lan", PW)
    token = signer.issue(acc.name, acc.password_tag)
    store.set_password("lan", PW + "-moi")
    assert session_account(store, signer, token) is None
    acc = store.login("lan", PW + "-moi")
    token = signer.issue(acc.name, acc.password_tag)
    store.remove_user("lan")
    assert session_account(store, signer, token) is None


def test_parse_since():
    assert parse_since("2026-11-01") == "2026-11-01T00:00:00Z"
    assert parse_since("2026-11-01T08:30") == "2026-11-01T08:30:00Z"
    assert parse_since("2h", clock=7200.0) == "1970-01-01T00:00:00Z"
    with pytest.raises(InputError, match="--since"):
        parse_since("hôm qua")


# ------------------------------------------------------------------ the commands

def run(tmp_path, *args, input=None):
    return CliRunner().invoke(main, ["--index-dir", str(tmp_path / "index"), *args], input=input)


def test_user_commands(tmp_path):
    r = run(tmp_path, "user", "add", "quantri", "--role", "admin", input=f"{PW}\n{PW}\n")
    assert r.exit_code == 0, r.output
    assert "added: quantri (admin)" in r.output and PW not in r.output
    r = run(tmp_path, "user", "add", "lan", "--role", "editor", "--collection", "noi-bo", "--password-stdin",
            input=f"{PW}\n")
    assert r.exit_code == 0, r.output
    r = run(tmp_path, "user", "add", "minh", "--role", "reader", input=f"{PW}\nkhac-hoan-toan\n")
    assert r.exit_code != 0 and "minh" not in run(tmp_path, "user", "list").output  # the two differed
    r = run(tmp_path, "user", "list")
    assert "quantri" in r.output and "lan" in r.output and "sửa/edit: noi-bo" in r.output
    r = run(tmp_path, "user", "token", "lan")
    token = r.stdout.strip()
    assert r.exit_code == 0 and token.startswith("rag_")
    r = run(tmp_path, "user", "passwd", "lan", "--password-stdin", input="ngan\n")
    assert r.exit_code == 1 and "too short" in r.output
    assert run(tmp_path, "collection", "grant", "noi-bo", "@vanphong").exit_code == 0
    assert "joined @vanphong" in run(tmp_path, "user", "group", "quantri", "vanphong").output
    assert "@vanphong" in run(tmp_path, "collection", "list").output
    r = run(tmp_path, "user", "remove", "lan")
    assert r.exit_code == 0 and "lan" not in run(tmp_path, "user", "list").output
    r = run(tmp_path, "user", "remove", "khong-co")
    assert r.exit_code == 1 and "no such user" in r.output
    r = run(tmp_path, "audit", "--since", "1h")
    assert r.exit_code == 0 and "user_add" in r.output and "user_remove" in r.output and "token_create" in r.output
    r = run(tmp_path, "audit", "--since", "hôm qua")
    assert r.exit_code == 1 and "--since" in r.output
    db = db_bytes(tmp_path / "index" / "feedback.sqlite3")
    assert PW.encode() not in db and token.encode() not in db and b"$argon2id$" in db


def test_rag_serve_on_another_address_needs_an_admin(tmp_path, monkeypatch):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append(kw["host"]))
    for name in ("RAG_INDEX_DIR", "RAG_MODEL", "RAG_BACKEND", "RAG_STORE"):
        monkeypatch.setenv(name, "")  # `rag serve` exports the global options for its workers
    r = run(tmp_path, "serve", "--host", "0.0.0.0")
    assert r.exit_code == 1 and "no admin account" in r.output and started == []
    assert run(tmp_path, "serve").exit_code == 0 and started == ["127.0.0.1"]
    AccountStore(tmp_path / "index" / "feedback.sqlite3").add_user("quantri", "admin", PW)
    assert run(tmp_path, "serve", "--host", "0.0.0.0").exit_code == 0 and started[-1] == "0.0.0.0"


def test_with_a_shared_store_accounts_live_in_postgresql(pg_url, tmp_path):  # noqa: F811
    """RAG_STORE=postgresql://…: every server pointed at the store sees the same users."""
    from rag.accounts.access import open_accounts
    from rag.config import Settings

    settings = Settings(index_dir=tmp_path / "index", store=pg_url, show_progress=False)
    open_accounts(settings).add_user("quantri", "admin", PW)
    assert not (tmp_path / "index" / "feedback.sqlite3").exists()
    assert AccountStore(pg_url).has_admin() and open_accounts(settings).login("quantri", PW).is_admin
    assert not AccountStore(tmp_path / "other.sqlite3").has_accounts()


def test_the_commands_follow_store_to_postgresql(pg_url, tmp_path):  # noqa: F811
    r = CliRunner().invoke(main, ["--index-dir", str(tmp_path / "index"), "--store", pg_url, "user", "add",
                                  "quantri", "--role", "admin", "--password-stdin"], input=f"{PW}\n")
    assert r.exit_code == 0, r.output
    assert AccountStore(pg_url).has_admin() and not (tmp_path / "index" / "feedback.sqlite3").exists()
