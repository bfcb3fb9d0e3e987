"""`rag user`, `rag collection`, `rag audit`: accounts, access lists and the audit log (issue #14).

Whoever runs these commands has the server's files, so they act as the administrator ("cli" in
the audit log). Passwords are typed at a hidden prompt (twice) or read from stdin with
`--password-stdin`; never from an option, which would show in `ps` and the shell history.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from ..accounts.access import open_accounts
from ..accounts.audit import parse_since
from ..accounts.users import ROLES
from ..config import load_settings
from ..errors import InputError


def _store(ctx: click.Context):
    settings = load_settings(**{k: v for k, v in (ctx.obj or {}).items() if k in ("index_dir", "store")})
    return open_accounts(settings)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InputError("Không đọc được mật khẩu từ stdin / no password on stdin")
        return line.rstrip("\r\n")
    return click.prompt("Mật khẩu / password", hide_input=True, confirmation_prompt=
                        "Nhập lại mật khẩu / repeat the password")


@click.group()
def user() -> None:
    """Tài khoản cán bộ: reader (hỏi), editor (thêm/gỡ tài liệu trong bộ sưu tập của mình), admin.

    \b
    Ví dụ:
      rag user add quantri --role admin
      rag user add lan --role editor --collection noi-bo
      rag user add minh --role reader --collection noi-bo --group vanphong
      rag user token lan          # mã truy cập API (hiện một lần)
    """


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="Vai trò.")
@click.option("--collection", "collections", multiple=True,
              help="Bộ sưu tập được đọc (reader) hoặc sửa (editor); lặp lại được. Editor không nêu: chung.")
@click.option("--group", "groups", multiple=True, help="Nhóm (quyền cấp cho @nhóm áp dụng cho người này).")
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ dòng đầu của stdin (cho script).")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, collections: tuple[str, ...], groups: tuple[str, ...],
             password_stdin: bool) -> None:
    """Thêm người dùng (mật khẩu nhập ẩn, hai lần)."""
    store = _store(ctx)
    store.add_user(name, role, _password(password_stdin), list(collections), list(groups))
    click.echo(f"Đã thêm / added: {name} ({role})"
               + (f", bộ sưu tập / collections: {', '.join(collections)}" if collections else ""))


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ dòng đầu của stdin.")
@click.pass_context
def user_passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Đổi mật khẩu; các phiên đăng nhập đang mở của người này kết thúc."""
    _store(ctx).set_password(name, _password(password_stdin))
    click.echo(f"Đã đổi mật khẩu / password changed: {name}")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.pass_context
def user_role(ctx: click.Context, name: str, role: str) -> None:
    """Đổi vai trò."""
    store = _store(ctx)
    store.set_role(name, role)
    click.echo(f"Đã đổi vai trò / role changed: {name} → {role}")
    account = store.account(name)
    if account is not None and role == "editor" and not account.edit:
        click.echo(f"Chưa được sửa bộ sưu tập nào / may edit no collection yet: rag collection grant TÊN {name} "
                   "--edit", err=True)


@user.command("group")
@click.argument("name")
@click.argument("group")
@click.option("--remove", is_flag=True, help="Đưa ra khỏi nhóm.")
@click.pass_context
def user_group(ctx: click.Context, name: str, group: str, remove: bool) -> None:
    """Thêm người dùng vào nhóm (quyền cấp cho @nhóm áp dụng cho họ), hoặc --remove."""
    changed = _store(ctx).set_group(name, group, member=not remove)
    verb = ("đã rời / left" if remove else "đã vào / joined") if changed else "không đổi / unchanged"
    click.echo(f"{name}: {verb} @{group}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="In JSON.")
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """Liệt kê người dùng, vai trò, nhóm, bộ sưu tập."""
    rows = _store(ctx).users()
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows], ensure_ascii=False))
        return
    if not rows:
        click.echo("Chưa có người dùng / no users (rag user add TÊN --role admin)")
    for r in rows:
        read = ", ".join(c for c in r.read if c not in r.edit)
        click.echo(f"{r.name:20} {r.role:7} đọc/read: chung{', ' + read if read else ''}"
                   + (f"; sửa/edit: {', '.join(r.edit)}" if r.edit else "")
                   + (f"; nhóm/groups: {', '.join(r.groups)}" if r.groups else "")
                   + (f"; {r.tokens} mã API" if r.tokens else ""))


@user.command("remove")
@click.argument("name")
@click.pass_context
def user_remove(ctx: click.Context, name: str) -> None:
    """Xóa người dùng: mã API và phiên đăng nhập của họ hết hiệu lực ngay."""
    _store(ctx).remove_user(name)
    click.echo(f"Đã xóa / removed: {name}")


@user.command("token")
@click.argument("name")
@click.option("--label", default="", help="Ghi chú, ví dụ tên hệ thống dùng mã.")
@click.option("--revoke", is_flag=True, help="Thu hồi mọi mã API của người này.")
@click.pass_context
def user_token(ctx: click.Context, name: str, label: str, revoke: bool) -> None:
    """Tạo mã truy cập API (Authorization: Bearer …), hiện một lần; hoặc --revoke để thu hồi."""
    store = _store(ctx)
    if revoke:
        click.echo(f"Đã thu hồi / revoked {store.revoke_tokens(name)} mã của {name}")
        return
    click.echo(store.create_token(name, label))
    click.echo("Lưu mã này ngay: không hiển thị lại / store it now, it is not shown again", err=True)


@click.group()
def collection() -> None:
    """Bộ sưu tập tài liệu và quyền đọc/sửa. `chung`: mọi tài khoản đọc được.

    \b
    Ví dụ:
      rag collection add noi-bo
      rag collection grant noi-bo minh            # minh được đọc
      rag collection grant noi-bo @vanphong --edit
      rag index van-ban-noi-bo/ --collection noi-bo
    """


@collection.command("add")
@click.argument("name")
@click.pass_context
def collection_add(ctx: click.Context, name: str) -> None:
    """Tạo bộ sưu tập."""
    created = _store(ctx).add_collection(name)
    click.echo(f"{'Đã tạo / created' if created else 'Đã có / exists'}: {name}")


@collection.command("grant")
@click.argument("name")
@click.argument("principal")
@click.option("--edit", is_flag=True, help="Được thêm/gỡ tài liệu (vai trò editor), không chỉ đọc.")
@click.pass_context
def collection_grant(ctx: click.Context, name: str, principal: str, edit: bool) -> None:
    """Cho người dùng (hoặc @nhóm) đọc, hoặc sửa, một bộ sưu tập."""
    _store(ctx).grant(name, principal, edit)
    click.echo(f"{principal}: {'đọc và sửa / read and edit' if edit else 'đọc / read'} {name}")


@collection.command("revoke")
@click.argument("name")
@click.argument("principal")
@click.pass_context
def collection_revoke(ctx: click.Context, name: str, principal: str) -> None:
    """Thu hồi quyền của người dùng (hoặc @nhóm) trên một bộ sưu tập."""
    if not _store(ctx).revoke(name, principal):
        raise InputError(f"{principal} không có quyền trên / has no grant on {name}")
    click.echo(f"Đã thu hồi / revoked: {principal} trên {name}")


@collection.command("list")
@click.pass_context
def collection_list(ctx: click.Context) -> None:
    """Các bộ sưu tập: ai được đọc, ai được sửa (* = mọi tài khoản)."""
    for c in _store(ctx).collections():
        click.echo(f"{c.name:20} đọc/read: {', '.join(c.readers) or '-'}; sửa/edit: {', '.join(c.editors) or 'admin'}")


@click.command()
@click.option("--since", default="24h", show_default=True,
              help="Từ lúc nào: ngày giờ UTC (2026-11-01, 2026-11-01T08:00) hoặc khoảng (30m, 24h, 7d).")
@click.option("--user", "who", help="Chỉ người dùng này.")
@click.option("--action", help="Chỉ hành động này (login, login_failed, ask, upload, remove, user_add…).")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines.")
@click.pass_context
def audit(ctx: click.Context, since: str, who: str | None, action: str | None, as_json: bool) -> None:
    """Nhật ký kiểm tra: đăng nhập (cả sai), câu hỏi, thêm/gỡ tài liệu, thay đổi tài khoản.

    \b
    Ví dụ:
      rag audit --since 7d --action login_failed
      rag audit --since 2026-11-01 --user lan --json
    """
    entries = _store(ctx).audit.entries(parse_since(since), who, action)
    for e in entries:
        if as_json:
            click.echo(json.dumps(asdict(e), ensure_ascii=False))
        else:
            click.echo(f"{e.at}  {e.user:16} {e.action:14} {'' if e.ok else '✗ '}{e.detail}")
    if not as_json:
        click.echo(f"{len(entries)} dòng / entries", err=True)
