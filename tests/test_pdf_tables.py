"""Ruled tables → one line per row: grid detection on synthetic rules, then real PDFs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest.chunking import build_document, chunk_document
from rag.ingest.files import read_file
from rag.ingest.formats.pdf_tables import drop_repeated_rows, find_tables, repair_hyphens

REALDOCS = Path(__file__).resolve().parents[1].parent / "shared" / "realdocs"
needs_realdocs = pytest.mark.skipif(not REALDOCS.is_dir(), reason=f"real documents not found at {REALDOCS}")


def _grid(xs, ys, filled_rules=True):
    """Thin rules of a table with column boundaries xs and row boundaries ys (PDF points)."""
    boxes = [(x - 0.25, min(ys), x + 0.25, max(ys), not filled_rules) for x in xs]
    boxes += [(min(xs), y - 0.25, max(xs), y + 0.25, not filled_rules) for y in ys]
    return boxes


def test_grid_of_thin_rules_is_a_table_with_its_cells():
    (table,) = find_tables(_grid([50, 100, 300], [500, 520, 560]))
    assert (table.left, table.right) == (50, 300)
    assert table.cell_at(75, 550) == (0, 1)  # top row, first column
    assert table.cell_at(200, 510) == (1, 2)  # bottom row, second column


def test_shaded_backgrounds_are_not_rows():
    """Word shades each text line of some cells with a filled rectangle; those must not cut a row."""
    shading = [(101, 521 + 12 * i, 299, 532 + 12 * i, False) for i in range(3)]
    (table,) = find_tables(_grid([50, 100, 300], [500, 520, 560]) + shading)
    assert table.ys == [500, 520, 560]


def test_outlined_rectangles_make_a_grid():
    cells = [(x0, y0, x1, y1, True) for x0, x1 in [(50, 100), (100, 300)] for y0, y1 in [(500, 520), (520, 560)]]
    (table,) = find_tables(cells)
    assert table.ys == [500, 520, 560]


def test_underline_and_lone_rules_are_not_tables():
    underline = [(200, 700, 320, 700.5, False)]  # under "Độc lập - Tự do - Hạnh phúc"
    margin_bars = [(40, 100, 40.5, 300, True), (40, 320, 40.5, 500, True)]  # change bars, no rows
    assert find_tables(underline) == []
    assert find_tables(underline + margin_bars) == []


def test_merged_cell_spans_columns_without_a_rule_inside():
    boxes = _grid([50, 100, 300], [500, 520, 560])
    boxes = [b for b in boxes if not (99 < b[0] < 101)]  # drop the middle rule…
    boxes.append((99.75, 500, 100.25, 520, False))  # …and keep it only in the bottom row
    (table,) = find_tables(boxes)
    assert table.cell_at(75, 550) == table.cell_at(200, 550)  # top row: one merged cell
    assert table.cell_at(75, 510) != table.cell_at(200, 510)


def test_header_row_repeated_on_every_page_is_kept_once():
    header = "STT | Tên thủ tục | Cơ quan"
    pages = [f"Phụ lục\n\n{header}\n\n1 | Cấp phép | Sở", f"2\n\n{header}\n\n2 | Gia hạn | Sở"]
    out = drop_repeated_rows(pages)
    assert out[0].count(header) == 1 and header not in out[1] and "2 | Gia hạn | Sở" in out[1]


@needs_realdocs
@pytest.mark.parametrize("rel, row", [
    ("pdf/danhmuc-vbqppl-2021-bang.pdf",
     "1 | Luật Đất đai (số 45/2013/QH13 ngày 29/11/2013) | Toàn bộ văn bản | Khoản 3 Điều 31"),
    ("pdf/qd-2093-byt-2025.pdf",
     "3. | Cấp mới giấy chứng nhận cơ sở xét nghiệm đạt tiêu chuẩn an toàn sinh học cấp III | Phòng bệnh |"),
    ("pdf/qd-1629-ubnd-laichau-2025.pdf",
     "TT | Tên thủ tục hành chính | Thời hạn giải quyết | Địa điểm thực hiện"),
])
def test_real_table_rows_are_one_paragraph(rel, row, monkeypatch):
    monkeypatch.setenv("RAG_OCR", "0")
    raw = read_file(REALDOCS / rel)
    assert "pypdfium2-tables" in raw.extractor
    doc = build_document(raw)
    paragraphs = doc.text.split("\n\n")
    assert any(p.startswith(row) for p in paragraphs)
    assert any(row in c.text for c in chunk_document(doc))


@needs_realdocs
def test_text_pages_without_tables_keep_pypdf(monkeypatch):
    monkeypatch.setenv("RAG_OCR", "0")
    raw = read_file(REALDOCS / "pdf/kehoach-bimson-2024.pdf")  # change bars and shaded lines, no table
    assert raw.extractor == "pypdf" and " | " not in "\n".join(raw.pages)


def test_hyphens_of_document_numbers_are_repaired():
    assert repair_hyphens("số 38/2020/QĐ\ufffe TTg ngày 30/12/2020") == "số 38/2020/QĐ-TTg ngày 30/12/2020"
    assert repair_hyphens("Thông tư số 25/2014/TT -BTNMT") == "Thông tư số 25/2014/TT-BTNMT"
    assert repair_hyphens("Bộ Lao động - Thương binh và Xã hội") == "Bộ Lao động - Thương binh và Xã hội"


@needs_realdocs
@pytest.mark.parametrize("rel", ["pdf/danhmuc-vbqppl-2021-bang.pdf", "pdf/qd-2093-byt-2025.pdf",
                                 "pdf/qd-1629-ubnd-laichau-2025.pdf"])
def test_table_pages_read_as_cleanly_as_pypdf(rel):
    """Cell reconstruction must not split or glue words: the share of valid Vietnamese syllables
    on the table pages is the same as in pypdf's text of those pages."""
    from rag.ingest.formats import pdf
    from rag.vi.syllables import syllable_share

    path = REALDOCS / rel
    base, tables = pdf._with_pypdf(path), pdf._table_pages(path)
    assert tables
    pages = sorted(tables)
    ours = syllable_share("\n".join(tables[i] for i in pages))
    theirs = syllable_share("\n".join(base[i] for i in pages))
    assert ours >= theirs - 0.005, (ours, theirs)


@needs_realdocs
def test_justified_cell_text_keeps_its_words_and_numbers(monkeypatch):
    monkeypatch.setenv("RAG_OCR", "0")
    text = "\n".join(read_file(REALDOCS / "pdf/danhmuc-vbqppl-2021-bang.pdf").pages)
    assert ("9 | Thông tư số 25/2014/TT-BTNMT ngày 19/5/2014 của Bộ Tài nguyên và Môi trường quy định về "
            "bản đồ địa chính. | Toàn bộ văn bản") in text
    assert "Nghị định số 148/2020/NĐ-CP ngày 18/12/2020 của Chính phủ sửa đổi" in text
