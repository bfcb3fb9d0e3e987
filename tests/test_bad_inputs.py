"""Bad inputs that used to break a run or give a wrong or unclear result (#11 part B): each
test failed before its fix. The question path's fuzz tests are in test_fuzz_question.py."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from conftest import CORPUS, FakeEmbedder, write_files
from test_cli import _write, run

from rag.app.uploads import add_upload
from rag.errors import InputError
from rag.ingest.files import read_file
from rag.pipeline import Pipeline


@pytest.fixture
def env(tmp_path, monkeypatch, make_corpus):
    """As in test_cli: RAG_* into tmp_path, the fake embedder behind Pipeline, the tiny corpus."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_CORPUS", str(make_corpus()))
    monkeypatch.setenv("RAG_SHOW_PROGRESS", "0")
    emb = FakeEmbedder()
    monkeypatch.setattr("rag.pipeline.load_embedder", lambda settings: emb)
    return {"tmp": tmp_path, "index": tmp_path / "index", "embedder": emb}


GOOD = ["Lào Cai tích hợp bao nhiêu dịch vụ công?",
        "Cổng Dịch vụ công quốc gia cung cấp bao nhiêu dịch vụ công trực tuyến?"]


# ------------------------------------------------------------------ rag ask --file (case 6)


def test_ask_file_with_one_bad_line_answers_the_others_and_names_it(env) -> None:
    qfile = _write(env["tmp"] / "q.txt", "\n".join([GOOD[0], "Lào Cai " * 2500, "???", GOOD[1]]) + "\n")
    res = run("ask", "--json", "--file", str(qfile))
    assert res.exit_code == 1
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(objs) == 4  # one JSON line per question, in order, the bad ones included
    assert [o["found"] for o in objs] == [True, False, False, True]
    assert "1.305" in objs[0]["answer"] and "3.552" in objs[3]["answer"]
    assert [o.get("line") for o in objs] == [None, 2, 3, None]
    assert "quá dài" in objs[1]["error"] and "không có chữ hay số" in objs[2]["error"]
    assert f"{qfile}:2: Câu hỏi quá dài" in res.stderr and f"{qfile}:3: Câu hỏi không có chữ" in res.stderr
    assert "2/4" in res.stderr.splitlines()[-1] and "Traceback" not in res.stderr


def test_ask_file_human_output_continues_past_a_bad_line(env) -> None:
    qfile = _write(env["tmp"] / "q.txt", "\n".join([GOOD[0], "x" * 20000, GOOD[1]]) + "\n")
    res = run("ask", "--file", str(qfile))
    assert res.exit_code == 1
    assert "1.305" in res.stdout and "3.552" in res.stdout
    assert f"{qfile}:2:" in res.stderr


def test_ask_file_not_utf8_names_the_line(env) -> None:
    qfile = _write(env["tmp"] / "q.txt", GOOD[0].encode() + b"\nc\xe2u h\xf4i\n")
    res = run("ask", "--file", str(qfile))
    assert res.exit_code == 1 and "dòng / line 2" in res.stderr and res.stdout == ""


# ------------------------------------------------------------------ files (cases 10, 12)

FIXTURES = Path(__file__).parent / "fixtures"


def _encrypted_pdf(path: Path, user_password: str) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=FIXTURES / "baocao_hoabinh.pdf")
    writer.encrypt(user_password, owner_password="chu-so-huu", algorithm="RC4-128")
    writer.write(path)
    return path


def test_password_protected_pdf_is_named_as_such(tmp_path) -> None:
    path = _encrypted_pdf(tmp_path / "mat-khau.pdf", "bi-mat")
    with pytest.raises(InputError, match="PDF có mật khẩu / password-protected PDF") as e:
        read_file(path)
    assert "corrupt" not in str(e.value)


def test_pdf_that_only_restricts_printing_is_read(tmp_path) -> None:
    raw = read_file(_encrypted_pdf(tmp_path / "han-che-in.pdf", ""))  # owner password only
    assert "Hòa Bình" in "\n".join(raw.pages)


def test_random_bytes_saved_as_html_are_refused(tmp_path) -> None:
    path = tmp_path / "trang.html"
    path.write_bytes(random.Random(7).randbytes(6000))
    with pytest.raises(InputError, match="không chứa văn bản đọc được"):
        read_file(path)


def test_english_html_page_is_still_read(tmp_path) -> None:
    path = tmp_path / "en.html"
    path.write_text("<html><body><article><p>" + "The national public service portal now provides more "
                    "than three thousand online services to citizens and businesses. " * 4
                    + "</p></article></body></html>", encoding="utf-8")
    assert "portal" in read_file(path).pages[0]


def _prefixed_pdf() -> bytes:
    return b"\x00\x01junk before the header\r\n" + (FIXTURES / "baocao_hoabinh.pdf").read_bytes()


def test_pdf_with_junk_before_header_is_read_by_cli_and_ui_alike(tmp_path, make_corpus, settings_for,
                                                                 fake_embedder) -> None:
    path = tmp_path / "tien-to.pdf"
    path.write_bytes(_prefixed_pdf())
    assert read_file(path).pages  # `rag index`
    pipe = Pipeline(settings_for(make_corpus()), embedder=fake_embedder)
    res = add_upload(pipe, "tien-to.pdf", _prefixed_pdf())  # the UI
    assert res.chunks > 0
    for reader in (lambda: read_file(_w(tmp_path / "gia.pdf", b"<html>not a pdf</html>")),
                   lambda: add_upload(pipe, "gia.pdf", b"<html>not a pdf</html>")):
        with pytest.raises(InputError, match="không phải PDF"):
            reader()


def _w(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_folder_with_non_utf8_name_and_unreadable_file_indexes_the_rest(env, monkeypatch) -> None:
    folder = env["tmp"] / "docs"
    write_files(folder, CORPUS)
    (folder / "sub").mkdir()
    odd = os.fsdecode(bytes(folder / "sub") + b"/b\xe1o c\xe1o.txt")
    Path(odd).write_text(CORPUS["lao_cai.txt"].replace("Lào Cai", "Yên Bái"), encoding="utf-8")
    locked = folder / "khoa.txt"
    locked.write_text(CORPUS["da_nang.txt"].replace("Đà Nẵng", "Huế"), encoding="utf-8")
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:  # root reads any file: a permission error is simulated
        if self.name == "khoa.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    res = run("index", str(folder))
    assert res.exit_code == 0, res.stderr
    assert "Đã lập chỉ mục 3 tài liệu" in res.stdout
    assert "b\\xe1o c\\xe1o.txt" in res.stderr and "không phải UTF-8" in res.stderr
    assert "khoa.txt" in res.stderr and "Permission denied" in res.stderr
    assert "Traceback" not in res.stderr
    report = run("index", str(folder), "--report")
    assert report.exit_code == 0 and "b\\xe1o c\\xe1o.txt" in report.stdout


# ------------------------------------------------------------------ near-duplicates (case 4)

NOTICE = ("Thông báo kết quả cung cấp dịch vụ công trực tuyến\n"
          "Tính đến ngày 30/6/2024, tỉnh {province} đã tích hợp {n} dịch vụ công trực tuyến lên Cổng Dịch "
          "vụ công quốc gia, đạt tỷ lệ {pct} trên tổng số thủ tục hành chính của tỉnh. Trong thời gian tới, "
          "tỉnh tiếp tục rà soát, tái cấu trúc quy trình và hướng dẫn người dân nộp hồ sơ trực tuyến.\n")


def test_template_notices_differing_in_province_and_figure_both_stay(make_corpus, settings_for,
                                                                     fake_embedder) -> None:
    from rag.ingest.dedup import fingerprint, is_duplicate
    from rag.store.build import build

    a = NOTICE.format(province="Yên Bái", n="1.204", pct="72,5%")
    b = NOTICE.format(province="Hà Giang", n="1.204", pct="72,5%")  # only the province differs
    c = NOTICE.format(province="Yên Bái", n="1.240", pct="72,5%")  # only one figure differs
    assert not is_duplicate(fingerprint(a), fingerprint(b))
    assert not is_duplicate(fingerprint(a), fingerprint(c))
    assert is_duplicate(fingerprint(a), fingerprint(a.replace(". ", ".\n")))  # one notice, rewrapped
    old_format = fingerprint(a)[1:]  # an older index's fingerprint has no key tokens: never merged
    assert not is_duplicate(old_format, old_format)
    settings = settings_for(make_corpus({"yen_bai.txt": a, "ha_giang.txt": b}))
    report = build(settings, fake_embedder)
    assert report.documents == 2 and not report.duplicates
    pipe = Pipeline(settings, embedder=fake_embedder)
    answer = pipe.ask("Hà Giang đã tích hợp bao nhiêu dịch vụ công trực tuyến?")
    assert answer.found and "Hà Giang" in answer.answer and answer.citations[0].doc == "ha_giang.txt"


# ------------------------------------------------------------------ big files (case 14)


def test_file_over_the_size_cap_is_skipped_naming_file_and_setting(env, monkeypatch) -> None:
    folder = write_files(env["tmp"] / "docs", CORPUS)
    log = "".join(f"Nhật ký số {i}: hệ thống ghi nhận {i * 7} lượt truy cập dịch vụ công.\n" for i in range(9000))
    (folder / "nhat-ky.txt").write_text(log, encoding="utf-8")  # ~0.6 MB
    monkeypatch.setenv("RAG_MAX_FILE_MB", "0.5")
    res = run("index", str(folder))
    assert res.exit_code == 0, res.stderr
    assert "Đã lập chỉ mục 3 tài liệu" in res.stdout
    [line] = [ln for ln in res.stderr.splitlines() if "nhat-ky.txt" in ln]
    assert "quá lớn / file too large" in line and "> 0.5 MB" in line and "RAG_MAX_FILE_MB" in line
    assert not any("Nhật ký" in t for t in env["embedder"].embedded_texts)
    monkeypatch.setenv("RAG_MAX_FILE_MB", "0")  # 0 = no cap
    assert "4 tài liệu" in run("index", str(folder)).stdout


def test_upload_over_the_cap_is_refused_with_the_same_rule(make_corpus, settings_for, fake_embedder) -> None:
    pipe = Pipeline(settings_for(make_corpus(), max_file_mb=1), embedder=fake_embedder)
    with pytest.raises(InputError, match="quá lớn / file too large.*RAG_MAX_FILE_MB"):
        add_upload(pipe, "lon.txt", CORPUS["lao_cai.txt"].encode() * 1700)


# ------------------------------------------------------------------ rag eval (case 15)


def test_eval_on_an_empty_set_writes_no_history(env) -> None:
    empty = _write(env["tmp"] / "rong.jsonl", "\n  \n")
    out = env["tmp"] / "history"
    res = run("eval", "--set", str(empty), "--out", str(out))
    assert res.exit_code == 1 and "Bộ đánh giá trống / empty eval set" in res.stderr
    assert not (out / "history.jsonl").exists()


def test_chunking_a_long_pdf_is_not_quadratic_in_its_pages() -> None:
    """Each paragraph's page was found by scanning the page list: 4,000 pages took 5 s of CPU."""
    import time

    from rag.ingest.chunking import build_document, chunk_document
    from rag.ingest.formats.base import RawFile

    pages = ["\n".join(f"Trang {p} đoạn {i}: tỉnh Lào Cai tích hợp {p * i} dịch vụ công." for i in range(10))
             for p in range(4000)]
    doc = build_document(RawFile(Path("dai.pdf"), pages, True))
    start = time.process_time()
    chunks = chunk_document(doc)
    assert time.process_time() - start < 2.0  # ~0.35 s measured; CPU time, not wall clock
    assert chunks[-1].page == 4000 and chunks[0].page == 1
