"""PDF ingest on small committed fixtures (made with fpdf2 + DejaVu Sans)."""

from pathlib import Path

import pytest

from rag.errors import InputError
from rag.ingest.chunking import build_document, chunk_document
from rag.ingest.files import read_file

FIX = Path(__file__).parent / "fixtures"


def test_text_pdf_keeps_pages_title_and_date():
    raw = read_file(FIX / "baocao_hoabinh.pdf")
    assert raw.is_pdf and len(raw.pages) == 2
    doc = build_document(raw)
    assert doc.title == "Báo cáo chuyển đổi số tỉnh Hòa Bình năm 2024"
    assert doc.date == "2024-03-15"
    chunks = chunk_document(doc)
    by_page = {c.page for c in chunks}
    assert by_page == {1, 2}
    ioc = next(c for c in chunks if "45 tỷ đồng" in c.text)
    assert ioc.page == 2
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)


def test_wrapped_pdf_lines_are_rejoined_into_paragraphs():
    doc = build_document(read_file(FIX / "baocao_hoabinh.pdf"))
    assert "1.234 Tổ công nghệ số cộng đồng với 9.876 thành viên" in doc.text


@pytest.mark.parametrize("name, message", [
    ("scan_no_text.pdf", "không có chữ"),
    ("corrupt.pdf", "hỏng"),
])
def test_unusable_pdfs_raise_clear_errors(name, message):
    with pytest.raises(InputError, match=message):
        read_file(FIX / name)
