"""`rag ui` (the Streamlit chat) and `rag feedback export` (👎 answers → eval-set lines)."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import click

from ..config import REPO_ROOT, in_checkout, load_settings
from ..errors import InputError

# ui/app.py in a checkout; an installed wheel carries it as rag/_ui/app.py (setup.py)
APP = REPO_ROOT / "ui" / "app.py" if in_checkout() else Path(__file__).resolve().parents[1] / "_ui" / "app.py"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _settings_env(ctx: click.Context) -> dict[str, str]:
    """The global options (--index-dir, --model, --backend) as RAG_* variables for a child process."""
    env = {}
    for name, value in (ctx.obj or {}).items():
        if value is not None and name != "show_progress":
            env[f"RAG_{name.upper()}"] = str(Path(value).resolve()) if name == "index_dir" else str(value)
    return env


def check_bind_address(settings, host: str) -> None:
    """Open by default only on this machine (issue #14): without accounts the chat page and the
    API have no login (the single-user tool), so `rag ui` or `rag serve` listening on any other
    address needs at least one admin account first — then every visitor must sign in."""
    if host in LOCAL_HOSTS:
        return
    from ..accounts.access import open_accounts

    if not open_accounts(settings).has_admin():
        raise InputError(f"Chưa có tài khoản quản trị: không mở ra {host} khi chưa có đăng nhập / "
                         f"no admin account: refusing to listen on {host} without logins. Tạo trước / "
                         "create one first: rag user add TÊN --role admin (xem README, Cài đặt cho một cơ quan)")


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--host", default="localhost", show_default=True,
              help="Địa chỉ lắng nghe; mặc định chỉ máy này (localhost).")
@click.option("--open-browser/--no-open-browser", default=False, show_default=True,
              help="Mở trình duyệt khi khởi động.")
@click.pass_context
def ui(ctx: click.Context, port: int, host: str, open_browser: bool) -> None:
    """Mở giao diện chat trên trình duyệt (Streamlit): hỏi đáp có nguồn, thêm tài liệu, góp ý.

    \b
    Ví dụ:
      rag ui                 # http://localhost:8501
      rag ui --port 8600
    """
    try:
        import streamlit  # noqa: F401
    except ImportError:
        raise InputError("Chưa cài streamlit / streamlit is not installed: bash install.sh") from None
    if not APP.is_file():
        raise InputError(f"Không tìm thấy giao diện / UI script not found: {APP}")
    settings = load_settings(**{k: v for k, v in (ctx.obj or {}).items() if k in ("index_dir", "store")})
    check_bind_address(settings, host)
    # the uploader states Streamlit's own limit (200 MB by default): make it ours
    upload_mb = max(1, math.ceil(settings.max_file_mb)) if settings.max_file_mb > 0 else 200
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP),
           "--server.address", host, "--server.port", str(port),
           "--server.maxUploadSize", str(upload_mb),
           "--server.headless", "false" if open_browser else "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
           "--client.toolbarMode", "viewer"]
    env = {**os.environ, **_settings_env(ctx)}
    click.echo(f"Giao diện chat / chat UI: http://{host}:{port}  (Ctrl+C để dừng)", err=True)
    sys.stderr.flush()
    # become the Streamlit server (same pid), so signals and exit codes reach it directly
    os.execve(sys.executable, cmd, env)


@click.group()
def feedback() -> None:
    """Góp ý 👍/👎 của người dùng trên giao diện chat (SQLite, RAG_FEEDBACK_DB)."""


@feedback.command()
@click.option("--out", "out", type=click.Path(path_type=Path),
              help="Tệp JSON Lines để ghi (mặc định in ra stdout).")
@click.option("--db", type=click.Path(path_type=Path),
              help="CSDL góp ý (mặc định <index-dir>/feedback.sqlite3 hoặc RAG_FEEDBACK_DB).")
@click.option("--user", "as_user", metavar="TÊN",
              help="Chỉ xuất câu trả lời mà người dùng này được đọc mọi nguồn (bộ sưu tập của họ).")
@click.pass_context
def export(ctx: click.Context, out: Path | None, db: Path | None, as_user: str | None) -> None:
    """Xuất các câu trả lời bị 👎 theo định dạng bộ đánh giá (eval/README.md) để xem lại.

    Mỗi dòng: id, question, doc, evidence (từ đoạn được trích), facts=[] và needs_review=true;
    người duyệt điền facts, bỏ cờ needs_review rồi mới thêm vào eval/qa.jsonl.

    \b
    Ví dụ:
      rag feedback export --out eval/feedback-review.jsonl
      rag feedback export --user lan --out lan.jsonl   # chỉ nguồn lan được đọc
    """
    from .feedback import FeedbackStore, export_negative

    settings = load_settings(**{k: v for k, v in (ctx.obj or {}).items() if k != "show_progress"})
    path = db or settings.feedback_path
    if not path.is_file():
        raise InputError(f"Chưa có góp ý nào / no feedback store at {path}")
    allowed = None
    if as_user:
        from ..accounts.access import open_accounts
        from ..pipeline import Pipeline

        account = open_accounts(settings).account(as_user)
        if account is None:
            raise InputError(f"Không có người dùng / no such user: {as_user}")
        allowed = {r.source for r in Pipeline(settings).documents(account.readable).values()}
    items = export_negative(FeedbackStore(path), out, allowed)
    if out is None:
        for item in items:
            click.echo(json.dumps(item, ensure_ascii=False))
    click.echo(f"Đã xuất {len(items)} câu 👎" + (f" → {out}" if out else ""), err=True)
