"""Command line: `rag index`, `rag ask`. Errors print one line and exit 1, never a traceback."""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
from pathlib import Path

import click

from ..config import BACKENDS, load_settings
from ..errors import IndexStateError, RagError


def _pipeline(ctx: click.Context, **overrides: object):
    from ..pipeline import Pipeline

    settings = load_settings(**(ctx.obj or {}), **overrides)
    return Pipeline(settings)


class _Group(click.Group):
    """Turns RagError into a clean one-line message."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RagError as e:
            click.echo(f"Lỗi / error: {e}", err=True)
            ctx.exit(1)
        except BrokenPipeError:  # `rag ask ... | head`: the reader left; nothing to report
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
            ctx.exit(0)
        except OSError as e:  # disk full, permissions, a folder where a file should be...
            full = e.errno in (errno.ENOSPC, errno.EDQUOT)
            click.echo("Lỗi / error: không đủ dung lượng đĩa / disk full: " if full else
                       "Lỗi hệ thống tệp / file system error: ", nl=False, err=True)
            click.echo(str(e), err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Đã dừng / interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group)
@click.option("--index-dir", type=click.Path(path_type=Path), help="Thư mục chỉ mục (RAG_INDEX_DIR).")
@click.option("--model", help="Mô hình nhúng: mặc định e5 đóng gói, hoặc tên/thư mục sentence-transformers.")
@click.option("--backend", type=click.Choice(list(BACKENDS)))
@click.option("--store", metavar="URL",
              help="Kho chỉ mục PostgreSQL dùng chung (RAG_STORE), ví dụ postgresql://rag@127.0.0.1:5432/rag; "
                   "mặc định: thư mục chỉ mục.")
@click.option("--store-read", metavar="URL",
              help="Bản sao đọc của kho PostgreSQL (RAG_STORE_READ): câu hỏi đọc từ đây, ghi vẫn vào --store.")
@click.option("--quiet", "-q", is_flag=True, help="Không in tiến trình ra stderr.")
@click.pass_context
def main(ctx: click.Context, index_dir: Path | None, model: str | None, backend: str | None,
         store: str | None, store_read: str | None, quiet: bool) -> None:
    """Hỏi đáp chính sách chuyển đổi số, có trích dẫn nguồn.

    \b
    Ví dụ:
      rag ask "Lào Cai tích hợp bao nhiêu dịch vụ công?"
      rag index tai-lieu/ --rebuild
    """
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    ctx.obj = {"index_dir": index_dir, "model": model, "backend": backend, "store": store,
               "store_read": store_read}
    if quiet:
        ctx.obj["show_progress"] = False


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Xây lại từ đầu chỉ với các đường dẫn đã cho.")
@click.option("--sync", is_flag=True,
              help="Đồng bộ với thư mục: tài liệu có tệp đã xóa khỏi thư mục bị gỡ khỏi chỉ mục; "
                   "tệp đổi tên được trỏ lại, không nhúng lại.")
@click.option("--repair", is_flag=True,
              help="Sửa chỉ mục hỏng: chọn phiên bản đầy đủ mới nhất, dọn phần dở dang.")
@click.option("--check", "check_only", is_flag=True,
              help="Kiểm tra toàn bộ chỉ mục (băm lại mọi tệp); thoát mã 1 nếu hỏng.")
@click.option("--report", "show_report", is_flag=True,
              help="In bảng từng tệp: số trang, trang có chữ, trang OCR, mã hoá cũ, số đoạn, cảnh báo.")
@click.option("--collection", metavar="TÊN",
              help="Bộ sưu tập của các tài liệu này (mặc định: giữ như cũ; tài liệu mới vào 'chung').")
@click.pass_context
def index(ctx: click.Context, paths: tuple[Path, ...], rebuild: bool, sync: bool, repair: bool,
          check_only: bool, show_report: bool, collection: str | None) -> None:
    """Lập chỉ mục tài liệu (.pdf, .docx, .doc, .md, .txt, .html): mặc định thư mục seeds/.

    Không có --rebuild: thêm/cập nhật các tài liệu đã cho, đoạn không đổi không nhúng lại.

    \b
    Ví dụ: rag index                 # seeds/
           rag index bao-cao.pdf     # thêm một tài liệu
           rag index van-ban/ --report
           rag index --sync van-ban/ # gỡ tài liệu đã xóa khỏi van-ban/
           rag index --check         # kiểm tra từng byte
           rag index --repair        # sau mất điện / tệp CURRENT hỏng
           rag index noi-bo/ --collection noi-bo   # chỉ người được cấp quyền mới đọc được
    """
    from ..errors import InputError

    if (repair or check_only) and (paths or rebuild or sync or (repair and check_only)):
        raise InputError("--repair và --check dùng riêng / --repair and --check take no paths "
                         "and no other option")
    if sync and rebuild:
        raise InputError("--sync và --rebuild không dùng cùng nhau / use --sync or --rebuild")
    settings = load_settings(**(ctx.obj or {}))
    if repair or check_only:
        from ..pipeline import REPAIR_HINT, Pipeline

        if repair:
            version, removed = Pipeline(settings).repair()
            click.echo(f"Đã sửa / repaired: CURRENT → {version.name}"
                       + (f"; đã dọn / removed {', '.join(removed)}" if removed else ""))
            return
        version, problems, warnings, meta = Pipeline(settings).check()
        for w in warnings:
            click.echo(f"Cảnh báo / warning: {w}", err=True)
        if problems:
            for p in problems:
                click.echo(f"Hỏng / damaged: {p}", err=True)
            raise IndexStateError(f"chỉ mục {version} không nguyên vẹn / index is damaged: "
                                  f"{REPAIR_HINT}")
        click.echo(f"Chỉ mục {'đọc được' if warnings else 'nguyên vẹn'} / index "
                   f"{'loads (unverified)' if warnings else 'OK'}: {version} ({len(meta.documents)} "
                   f"tài liệu, {meta.n_chunks} đoạn, {len(meta.files)} tệp đã kiểm tra)")
        return
    if sync and not paths:
        raise InputError("--sync cần thư mục / --sync needs the folder: rag index --sync THƯ_MỤC")
    if collection is not None:
        from ..accounts.users import check_name

        collection = check_name(collection, "tên bộ sưu tập / collection name")
        if not paths:
            raise InputError("--collection cần đường dẫn / --collection needs the paths it applies to")
    report = _pipeline(ctx).index(list(paths) or None, rebuild=rebuild, sync=sync, collection=collection)
    _audit(settings, "index", f"{len(report.files)} tệp / files" + (f" collection={collection}" if collection else "")
           + "".join(f" {f.path}" for f in report.files if f.status == "indexed")[:1500]
           + (f" removed={','.join(report.removed)}" if report.removed else ""))
    if show_report:
        from .report import format_report

        click.echo(format_report(report.files))
    else:
        from ..pipeline import shown

        for path, reason in report.skipped:
            click.echo(f"Cảnh báo / warning: bỏ qua {shown(path)}: {reason}", err=True)
        for path, kept in report.duplicates:
            click.echo(f"Cảnh báo / warning: {shown(path)} trùng với {kept}, chỉ lập chỉ mục một lần", err=True)
    for old, new in report.renamed:
        click.echo(f"Đổi tên / renamed: {old} → {new} (không nhúng lại / not re-embedded)")
    for doc in report.removed:
        if not any(doc == old for old, _ in report.renamed):
            click.echo(f"Đã gỡ / removed: {doc}")
    if report.missing:
        click.echo(f"Cảnh báo / warning: {len(report.missing)} tài liệu không còn tệp trong thư mục, vẫn "
                   f"trong chỉ mục / documents whose file is gone stay indexed: {', '.join(report.missing[:5])}"
                   f" — gỡ bằng / remove with: rag index --sync {' '.join(map(str, paths)) or settings.corpus}",
                   err=True)
    for doc in report.dropped:
        click.echo(f"Cảnh báo / warning: {doc}: tệp không còn, đã bỏ / file gone, dropped", err=True)
    if report.path is None:  # a first run that found the index built meanwhile
        return
    click.echo(f"Đã lập chỉ mục {report.documents} tài liệu, {report.chunks} đoạn "
               f"(nhúng mới {report.embedded}, dùng lại {report.reused}) → {report.path}")


@main.command()
@click.argument("documents", nargs=-1, required=True)
@click.pass_context
def remove(ctx: click.Context, documents: tuple[str, ...]) -> None:
    """Gỡ tài liệu khỏi chỉ mục (theo mã, tên tệp hoặc đường dẫn): không còn trong câu trả lời,
    nguồn trích dẫn hay danh sách tài liệu. Tệp gốc không bị xóa (trừ bản tải lên qua giao diện).

    \b
    Ví dụ: rag remove bao-cao-cu.pdf
           rag remove 2023/bao_cao.txt /du-lieu/van-ban/quyet-dinh.pdf
    """
    from .uploads import remove_documents

    pipe = _pipeline(ctx)
    report, removed = remove_documents(pipe, list(documents))
    _audit(pipe.settings, "remove", " ".join(report.removed))
    for doc in report.removed:
        rec = removed.get(doc)
        click.echo(f"Đã gỡ / removed: {doc}" + (f" ({rec.title or rec.source})" if rec else
                                                 " (bản sao / a copy of another document)"))
    click.echo(f"Còn / left: {report.documents} tài liệu, {report.chunks} đoạn → {report.path}")


def _audit(settings, action: str, detail: str) -> None:
    """Documents added or removed from the command line go in the audit log too, under the
    operating-system user who ran it — once accounts exist (the single-user tool keeps none)."""
    from ..accounts.access import open_accounts
    from ..accounts.users import actor

    store = open_accounts(settings)
    if store.has_accounts():
        store.audit.record(actor(None), action, detail)


def _print_answer(ans, show_related: bool = True) -> None:
    if getattr(ans, "fallback_reason", None):
        click.echo(f"Không dùng câu trả lời của LLM / LLM answer not used: {ans.fallback_reason} "
                   "→ câu trích nguyên văn / extractive answer", err=True)
    if ans.rewritten_question:
        click.echo(f"(Hiểu câu hỏi là: {ans.rewritten_question})")
    click.echo(ans.answer)
    if ans.citations:
        click.echo("\nNguồn:")
        for c in ans.citations:
            date = f", {c.date}" if c.date else ""
            page = f", trang {c.page}" if c.page else ""
            ocr = " (OCR)" if getattr(c, "ocr", False) else ""
            legal = " — ".join(x for x in (getattr(c, "doc_type", None), getattr(c, "doc_number", None),
                                           getattr(c, "issuer", None)) if x)
            legal = f" [{legal}]" if legal else ""
            click.echo(f"  [{c.n}] {c.title}{legal} ({c.doc}{date}{page}){ocr}")
            if getattr(c, "also_in", None):
                click.echo(f"      cũng có trong / also in: {', '.join(c.also_in)}")
            click.echo(f"      “{c.quote}”")
    elif show_related and ans.related:
        click.echo("\nĐoạn liên quan nhất:")
        for c in ans.related[:3]:
            click.echo(f"  - {c.title} ({c.doc}): {c.text[:160]}…")


@main.command()
@click.argument("question", required=False)
@click.option("-k", type=click.IntRange(1, 50), help="Số đoạn truy xuất (mặc định 5).")
@click.option("--json", "as_json", is_flag=True, help="In JSON (một đối tượng; với --file: JSON Lines).")
@click.option("--file", "qfile", type=click.Path(path_type=Path),
              help="Tệp câu hỏi, mỗi dòng một câu (mô hình nạp một lần).")
@click.option("--answerer", type=click.Choice(["extractive", "llm"]),
              help="Cách trả lời: trích nguyên văn (mặc định) hoặc mô hình ngôn ngữ qua API OpenAI (RAG_ANSWERER).")
@click.option("--as", "as_user", metavar="TÊN",
              help="Trả lời như người dùng này thấy: chỉ từ các bộ sưu tập họ được đọc (kiểm tra quyền).")
@click.pass_context
def ask(ctx: click.Context, question: str | None, k: int | None, as_json: bool,
        qfile: Path | None, answerer: str | None, as_user: str | None) -> None:
    """Trả lời câu hỏi từ tài liệu, kèm trích dẫn.

    \b
    Ví dụ:
      rag ask "Lào Cai tích hợp bao nhiêu dịch vụ công?"
      rag ask "lao cai tich hop bao nhieu dich vu cong" --json
      rag ask --file cau-hoi.txt --json > tra-loi.jsonl
      rag ask --as minh "…"     # chỉ từ các bộ sưu tập minh được đọc
      RAG_LLM_BASE_URL=http://127.0.0.1:8000/v1 rag ask --answerer llm "Lào Cai tích hợp bao nhiêu dịch vụ công?"
    """
    from ..errors import InputError
    from ..pipeline import validate_question

    if qfile is not None:
        if question:
            raise InputError("Dùng câu hỏi hoặc --file, không dùng cả hai / "
                             "give a question or --file, not both")
        lines = _read_questions(qfile)
    else:
        lines = [(0, validate_question(question))]
    pipe = _pipeline(ctx, answerer=answerer)
    readable = None
    if as_user:
        from ..accounts.access import open_accounts

        account = open_accounts(pipe.settings).account(as_user)
        if account is None:
            raise InputError(f"Không có người dùng / no such user: {as_user}")
        readable = account.readable
    if len(lines) > 1:
        pipe.expect_many_questions()
    bad: list[int] = []
    for n, raw in lines:
        try:
            q = validate_question(raw)
        except InputError as e:
            # one bad line is named and skipped; the others are still answered, in order
            bad.append(n)
            click.echo(f"Lỗi / error: {qfile}:{n}: {e}", err=True)
            if as_json:
                click.echo(json.dumps({"question": raw[:200], "answer": "", "found": False, "citations": [],
                                       "related": [], "line": n, "error": str(e)}, ensure_ascii=False))
            continue
        ans = pipe.ask(q, k=k, readable=readable)
        if as_json:
            click.echo(json.dumps(ans.to_json_dict(), ensure_ascii=False))
        else:
            if len(lines) > 1:
                click.echo(f"\n❓ {q}")
            _print_answer(ans)
    sys.stdout.flush()
    if bad:
        click.echo(f"Lỗi / error: {len(bad)}/{len(lines)} câu hỏi không trả lời được / questions not "
                   f"answered: {qfile} dòng / line {', '.join(map(str, bad))}", err=True)
        ctx.exit(1)


@main.command(name="eval")
@click.option("--set", "eval_set", type=click.Path(path_type=Path), help="Bộ câu hỏi (mặc định eval/qa.jsonl).")
@click.option("--corpus", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Thư mục tài liệu của bộ câu hỏi; chỉ mục riêng được xây lần đầu "
                   "(trong thư mục cache, hoặc --index-dir).")
@click.option("--limit", type=click.IntRange(1), help="Chỉ chấm N câu đầu.")
@click.option("--sample", type=click.IntRange(1), help="Chấm N câu chọn ngẫu nhiên (hạt giống cố định).")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Thư mục lịch sử và báo cáo (mặc định eval/history[/TÊN_BỘ], RAG_EVAL_DIR).")
@click.option("--report", is_flag=True, help="Viết báo cáo Markdown + biểu đồ xu hướng.")
@click.option("--thresholds", type=click.Path(path_type=Path), help="Ngưỡng (mặc định eval/thresholds.json).")
@click.option("--fail-on-regression", is_flag=True, help="Thoát mã 3 nếu điểm giảm so với lần trước.")
@click.option("-k", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--answerer", type=click.Choice(["extractive", "llm"]),
              help="Chấm cách trả lời này (mặc định RAG_ANSWERER hoặc extractive).")
@click.pass_context
def eval_cmd(ctx: click.Context, eval_set: Path | None, corpus: Path | None, limit: int | None,
             sample: int | None, as_json: bool, out_dir: Path | None, report: bool,
             thresholds: Path | None, fail_on_regression: bool, k: int, answerer: str | None) -> None:
    """Chấm điểm hệ thống trên bộ câu hỏi đánh giá; ghi lịch sử; thoát mã 2 nếu dưới ngưỡng.

    \b
    Ví dụ:
      rag eval                    # in điểm, ghi eval/history/history.jsonl
      rag eval --report           # thêm eval/history/report.md và trend.png
      rag eval --answerer llm     # câu trả lời của mô hình ngôn ngữ (có kiểm tra căn cứ)
      rag eval --set ../shared/devsets/viquad/qa.jsonl --corpus ../shared/devsets/viquad/corpus
      rag eval --set ... --corpus ... --sample 200   # chạy nhanh, không ghi lịch sử
    """
    from .cli_eval import run_eval_command

    run_eval_command(ctx, eval_set=eval_set, corpus=corpus, limit=limit, sample=sample,
                     as_json=as_json, out_dir=out_dir, report=report, thresholds=thresholds,
                     fail_on_regression=fail_on_regression, k=k, answerer=answerer)


def _read_questions(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every non-blank line; each is validated when it is asked, so one
    bad line does not cost the others."""
    from ..errors import InputError

    if not path.is_file():
        raise InputError(f"Không tìm thấy tệp câu hỏi / questions file not found: {path}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InputError(f"Tệp câu hỏi không phải UTF-8 / questions file is not UTF-8: {path} "
                         f"(dòng / line {line}, byte 0x{data[e.start]:02x})") from None
    questions = [(n, ln) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    if not questions:
        raise InputError(f"Tệp câu hỏi trống / no questions in {path}")
    return questions


from .cli_accounts import audit, collection, user  # noqa: E402
from .cli_serve import serve  # noqa: E402
from .cli_ui import feedback, ui  # noqa: E402

main.add_command(user)
main.add_command(collection)
main.add_command(audit)
main.add_command(ui)
main.add_command(feedback)
main.add_command(serve)


if __name__ == "__main__":
    main()
