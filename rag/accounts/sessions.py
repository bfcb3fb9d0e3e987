"""Signed, expiring session tokens for the chat page, and the secret that signs them.

A session token is `<payload>.<signature>`: the payload (user, expiry, the password tag) in
base64url JSON, signed with HMAC-SHA256 under a 256-bit secret. The secret is generated on first
use into a file of the data folder (next to the accounts database, never in the repository) with
0600 permissions, written whole before it is visible (a temporary file linked into place), so
concurrent first starts agree on one secret. A token dies when it expires, when the user is
removed, or when their password changes (the tag no longer matches).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

log = logging.getLogger(__name__)

SECRET_BYTES = 32


def load_secret(path: Path) -> bytes:
    """The signing secret in `path`, created (0600) on first use."""
    path = Path(path)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(SECRET_BYTES) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if another process made it first: theirs is used
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        os.chmod(path, 0o600)  # someone loosened it: a readable secret lets anyone forge a login
        log.warning("Đã đặt lại quyền 0600 cho / reset permissions to 0600 on %s", path)
    raw = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        secret = bytes.fromhex(raw)
    except ValueError:
        secret = b""
    if len(secret) < 16:
        raise InputError(f"Tệp khóa phiên hỏng / session secret file damaged: {path} (xóa tệp để tạo lại; "
                         "mọi phiên đăng nhập sẽ kết thúc / delete it to make a new one, every session ends)")
    return secret


@dataclass(frozen=True)
class Session:
    user: str
    expires: float
    tag: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    def __init__(self, secret: bytes, hours: float) -> None:
        self._secret = secret
        self.hours = hours

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, user: str, tag: str, clock: float | None = None) -> str:
        expires = (time.time() if clock is None else clock) + self.hours * 3600
        payload = _b64(json.dumps({"u": user, "e": int(expires), "t": tag}, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str | None, clock: float | None = None) -> Session | None:
        """The session a token carries, or None: forged, altered, malformed or expired."""
        if not token or token.count(".") != 1:
            return None
        payload, sig = token.split(".")
        try:
            if not hmac.compare_digest(sig.encode("ascii"), self._sign(payload).encode("ascii")):
                return None
            body = json.loads(_unb64(payload))
        except (UnicodeEncodeError, ValueError, binascii.Error):
            return None
        if not isinstance(body, dict) or not {"u", "e", "t"} <= set(body):
            return None
        if (time.time() if clock is None else clock) >= body["e"]:
            return None
        return Session(str(body["u"]), float(body["e"]), str(body["t"]))
