"""The accounts as a front end opens them from `Settings`: the store, the session signer, and
who a session token or a bearer token stands for. The UI, the API and the CLI call these, so
the three agree on where accounts live and how long a login lasts."""

from __future__ import annotations

from ..config import Settings
from .sessions import SessionSigner, load_secret
from .users import Account, AccountStore


def open_accounts(settings: Settings) -> AccountStore:
    """In the shared PostgreSQL store when RAG_STORE names one (every server sees the same
    users), else in the feedback SQLite file."""
    where = settings.store or settings.feedback_path
    return AccountStore(where, settings.login_max_failures, settings.login_lockout_minutes)


def session_signer(settings: Settings) -> SessionSigner:
    return SessionSigner(load_secret(settings.secret_path), settings.session_hours)


def session_account(store: AccountStore, signer: SessionSigner, token: str | None) -> Account | None:
    """The account a chat session token signs in, or None: bad or expired token, removed user,
    or a password changed since it was issued."""
    session = signer.verify(token)
    if session is None:
        return None
    account = store.account(session.user)
    return account if account is not None and account.password_tag == session.tag else None
