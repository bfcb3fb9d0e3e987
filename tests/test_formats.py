"""Format readers on tiny inline fixtures: Markdown, HTML, .docx, legacy .txt, missing .doc tool."""

from __future__ import annotations

import pytest

from rag.errors import InputError
from rag.ingest.files import collect_paths, read_file
from rag.ingest.formats.html import html_to_text
from rag.ingest.formats.markdown import strip_markdown


def test_markdown_escapes_and_markup_removed(tmp_path):
    p = tmp_path / "nq.md"
    p.write_text("# Nghị quyết số 57\\-NQ/TW\n\n**Thay mặt Bộ Chính trị** kỷ nguyên mới \\- kỷ nguyên "
                 "vươn mình\n\n1\\. Phát triển [khoa học](http://x.vn/a) \\& công nghệ\n", encoding="utf-8")
    raw = read_file(p)
    text = raw.pages[0]
    assert "Nghị quyết số 57-NQ/TW" in text
    assert "Thay mặt Bộ Chính trị kỷ nguyên mới - kỷ nguyên vươn mình" in text
    assert "1. Phát triển khoa học & công nghệ" in text
    assert "\\" not in text and "**" not in text and "](" not in text


def test_markdown_table_rows_become_lines():
    assert strip_markdown("| STT | Tên |\n|---|---|\n| 1 | Lệ phí |") == "STT | Tên\n\n1 | Lệ phí"


HTML = """<html><head><title>Tin tức - Cổng TTĐT tỉnh</title><script>var x=1;</script></head><body>
<div class="header"><ul class="menu"><li><a href="/">Trang chủ</a></li><li><a href="/t">Tin tức</a></li></ul></div>
<div id="content"><h1>Tỉnh triển khai Đề án 06</h1>
<p>Ngày 10/5, Ủy ban nhân dân tỉnh đã ban hành kế hoạch triển khai Đề án 06 về phát triển ứng dụng dữ liệu dân cư.</p>
<p>Theo kế hoạch, đến hết năm 2024 toàn tỉnh cung cấp 100% dịch vụ công trực tuyến toàn trình đủ điều kiện.</p>
<table><tr><td>Chỉ tiêu</td><td>Kết quả</td></tr><tr><td>Hồ sơ trực tuyến</td><td>58,2%</td></tr></table>
</div><div class="sidebar"><a href="/1">Tin liên quan 1</a><a href="/2">Tin liên quan 2</a></div>
<footer>Bản quyền thuộc Cổng thông tin điện tử tỉnh</footer></body></html>"""


def test_html_main_text_only(tmp_path):
    title, text = html_to_text(HTML)
    assert title.startswith("Tin tức")
    assert text.split("\n")[0] == "Tỉnh triển khai Đề án 06"
    assert "Hồ sơ trực tuyến | 58,2%" in text
    for noise in ("Trang chủ", "Tin liên quan", "Bản quyền", "var x"):
        assert noise not in text
    p = tmp_path / "tin.html"
    p.write_text(HTML, encoding="utf-8")
    assert read_file(p).pages[0] == text


def test_docx_paragraphs_and_table_rows(tmp_path):
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_paragraph("QUYẾT ĐỊNH")
    d.add_paragraph("Về việc công bố thủ tục hành chính mới ban hành")
    t = d.add_table(rows=2, cols=3)
    for r, row in enumerate([("STT", "Tên thủ tục", "Lệ phí"), ("1", "Cấp giấy phép lao động", "600.000 đồng")]):
        for c, value in enumerate(row):
            t.cell(r, c).text = value
    d.add_paragraph("Điều 2. Quyết định có hiệu lực kể từ ngày ký.")
    p = tmp_path / "qd.docx"
    d.save(str(p))
    raw = read_file(p)
    lines = [x for x in raw.pages[0].split("\n") if x]
    assert lines == ["QUYẾT ĐỊNH", "Về việc công bố thủ tục hành chính mới ban hành", "STT | Tên thủ tục | Lệ phí",
                     "1 | Cấp giấy phép lao động | 600.000 đồng", "Điều 2. Quyết định có hiệu lực kể từ ngày ký."]
    assert raw.extractor == "python-docx" and raw.encoding is None


def test_legacy_txt_bytes_are_converted(tmp_path):
    tcvn3 = "QuyÕt ®Þnh cña Thñ t­íng ChÝnh phñ vÒ viÖc söa ®æi, bæ sung Quy chÕ thµnh lËp, tæ chøc vµ ho¹t ®éng"
    p = tmp_path / "cu.txt"
    p.write_bytes(tcvn3.encode("latin-1"))
    raw = read_file(p)
    assert raw.encoding == "tcvn3"
    assert raw.pages[0].startswith("Quyết định của Thủ tướng Chính phủ về việc sửa đổi")


def test_undecodable_txt_is_a_clear_error(tmp_path):
    p = tmp_path / "x.txt"
    p.write_bytes(b"\x81\x8d\x8f\x90\x9d" * 20)
    with pytest.raises(InputError, match="UTF-8"):
        read_file(p)


def test_doc_without_antiword_says_how_to_install(tmp_path, monkeypatch):
    import rag.ingest.formats.doc as doc

    monkeypatch.setattr(doc.shutil, "which", lambda _name: None)
    p = tmp_path / "cu.doc"
    p.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 600)
    with pytest.raises(InputError, match="antiword"):
        read_file(p)


def test_collect_paths_knows_every_format(tmp_path):
    for name in ("a.pdf", "b.docx", "c.doc", "d.md", "e.txt", "f.html", "g.htm", "h.xlsx", "~$lock.docx"):
        (tmp_path / name).write_text("x")
    names = [p.name for p in collect_paths([tmp_path])]
    assert names == ["a.pdf", "b.docx", "c.doc", "d.md", "e.txt", "f.html", "g.htm"]
