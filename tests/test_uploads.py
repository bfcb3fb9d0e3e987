"""Uploads from the UI: clear refusals, atomic index updates, answerable at once, and a
long-lived pipeline that sees index versions written by others."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rag.app.uploads import add_upload, safe_filename, uploads_dir
from rag.errors import InputError
from rag.pipeline import Pipeline
from rag.store import index as idx

FIXTURES = Path(__file__).parent / "fixtures"

DIEN_BIEN = "\n".join([
    "Điện Biên đẩy mạnh sử dụng chữ ký số",
    "Cập nhật: 12/09/2024 08:00",
    "Tính đến hết tháng 8 năm 2024, tỉnh Điện Biên đã cấp 4.321 chứng thư chữ ký số cho cán bộ, công chức, "
    "viên chức các cấp, giúp việc xử lý văn bản điện tử nhanh và an toàn hơn.",
]) + "\n"

SON_LA = "\n".join([
    "Sơn La mở rộng thanh toán không dùng tiền mặt",
    "Cập nhật: 03/06/2024 10:00",
    "Trong 5 tháng đầu năm 2024, tỉnh Sơn La có 2.718 hộ kinh doanh tại các chợ truyền thống áp dụng thanh "
    "toán bằng mã QR, gấp đôi so với cùng kỳ năm trước.",
]) + "\n"


@pytest.fixture
def pipeline(make_corpus, settings_for, fake_embedder):
    pipe = Pipeline(settings_for(make_corpus()), embedder=fake_embedder)
    pipe.ensure_index()
    return pipe


@pytest.mark.parametrize("name, data, message", [
    ("rong.txt", b"", "rỗng"),
    ("trang.txt", b"  \n\t \n", "rỗng"),
    ("bang.xlsx", b"PK\x03\x04 not a spreadsheet we read", "không được hỗ trợ"),
    ("khong-duoi", b"Lao Cai", "không được hỗ trợ"),
    ("trung-quoc.txt", ("数字化转型政策文件，不是越南语。" * 5).encode("gbk"), "không phải UTF-8"),
    ("nhi-phan.txt", b"\x00\x01\x02abc" * 50, "nhị phân"),
    ("gia.pdf", b"hello, I am not a PDF", "không phải PDF"),
    ("scan.pdf", (FIXTURES / "scan_no_text.pdf").read_bytes(), "không có chữ"),
    ("hong.pdf", (FIXTURES / "corrupt.pdf").read_bytes(), "PDF"),
])
def test_bad_uploads_are_refused_clearly_and_change_nothing(pipeline, name, data, message):
    before = idx.current_version(pipeline.settings.index_dir)
    with pytest.raises(InputError) as e:
        add_upload(pipeline, name, data)
    text = str(e.value)
    assert message in text and name in text
    assert "incoming" not in text  # the user sees their file name, not our temporary one
    assert idx.current_version(pipeline.settings.index_dir) == before
    folder = uploads_dir(pipeline.settings.index_dir)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_upload_is_answerable_at_once(pipeline):
    res = add_upload(pipeline, "dien_bien.txt", DIEN_BIEN.encode("utf-8"))
    assert res.title == "Điện Biên đẩy mạnh sử dụng chữ ký số" and res.chunks == 1 and not res.replaced
    assert res.path.read_text(encoding="utf-8") == DIEN_BIEN
    meta = idx.read_meta(pipeline.settings.index_dir)
    assert res.doc_id in meta.documents and len(meta.documents) == 4  # the corpus stays
    ans = pipeline.ask("Điện Biên đã cấp bao nhiêu chứng thư chữ ký số?")
    assert ans.found and "4.321" in ans.answer and ans.citations[0].doc == "dien_bien.txt"
    assert "1.305" in pipeline.ask("Lào Cai tích hợp bao nhiêu dịch vụ công?").answer
    again = add_upload(pipeline, "dien_bien.txt", DIEN_BIEN.replace("4.321", "4.500").encode())
    assert again.replaced and "4.500" in pipeline.ask("Điện Biên đã cấp bao nhiêu chứng thư chữ ký số?").answer
    assert len(idx.read_meta(pipeline.settings.index_dir).documents) == 4


def test_pdf_upload(pipeline):
    res = add_upload(pipeline, "Báo cáo Hòa Bình.pdf", (FIXTURES / "baocao_hoabinh.pdf").read_bytes())
    assert res.path.name == "Báo cáo Hòa Bình.pdf" and res.chunks >= 1


@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("C:\\Users\\cb\\Báo cáo Q1.TXT", "Báo cáo Q1.txt"),
    ("a<b>:c?.pdf", "a_b_c.pdf"),
    (".txt", "tai-lieu.txt"),
])
def test_safe_filename(name, safe):
    assert safe_filename(name) == safe


def test_another_pipeline_sees_new_versions(make_corpus, settings_for, fake_embedder):
    """A long-lived UI process notices an index written by another process (or tab) and reloads."""
    settings = settings_for(make_corpus())
    ui = Pipeline(settings, embedder=fake_embedder)
    assert not ui.ask("Điện Biên đã cấp bao nhiêu chứng thư chữ ký số?").found
    other = Pipeline(settings, embedder=fake_embedder)
    add_upload(other, "dien_bien.txt", DIEN_BIEN.encode())
    ans = ui.ask("Điện Biên đã cấp bao nhiêu chứng thư chữ ký số?")
    assert ans.found and "4.321" in ans.answer
    assert ui.ensure_index().path == idx.current_version(settings.index_dir)


def test_concurrent_uploads_from_two_tabs_both_land(make_corpus, settings_for, fake_embedder):
    settings = settings_for(make_corpus())
    Pipeline(settings, embedder=fake_embedder).ensure_index()
    errors: list[BaseException] = []

    def upload(name: str, text: str) -> None:
        try:
            add_upload(Pipeline(settings, embedder=fake_embedder), name, text.encode())
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=upload, args=a)
               for a in [("dien_bien.txt", DIEN_BIEN), ("son_la.txt", SON_LA)]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    loaded = idx.load_index(settings.index_dir)
    assert {"dien_bien.txt", "son_la.txt"} <= set(loaded.meta.documents)
    assert len(loaded.meta.documents) == 5
    pipe = Pipeline(settings, embedder=fake_embedder)
    assert "2.718" in pipe.ask("Sơn La có bao nhiêu hộ kinh doanh thanh toán bằng mã QR?").answer
    assert "4.321" in pipe.ask("Điện Biên đã cấp bao nhiêu chứng thư chữ ký số?").answer
