"""OCR of a scanned PDF (2 pages) with Tesseract's Vietnamese model; skipped when not installed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.ingest.chunking import build_document, chunk_document
from rag.ingest.files import read_file
from rag.ingest.formats import ocr
from rag.ingest.formats.pdf import text_layer_problem

FIX = Path(__file__).parent / "fixtures"
SCAN = Path(__file__).resolve().parents[1].parent / "shared" / "realdocs" / "pdf" / "qd-1360-ttg-scan.pdf"


def test_garbage_text_layer_is_detected():
    garbage = ("CQNG HOA XA HQI CHU NGHIA VIPT NAM Doc lap - Tu do - Hanh phtic UY BAN NHAN DAN "
               "THANH PHO HO CHI MINH SO TU PHAP KE HOACH Thyc hign cong tac phd bign giao dyc")
    assert text_layer_problem(garbage) == "garbage text"
    assert text_layer_problem("  \n 3 \n") == "no text"
    good = ("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Hội đồng nhân dân "
            "tỉnh quyết nghị ban hành mức thu lệ phí cấp giấy phép lao động cho người nước ngoài.")
    assert text_layer_problem(good) is None


def test_without_ocr_scanned_pages_are_skipped_with_a_warning(monkeypatch):
    monkeypatch.setenv("RAG_OCR", "0")
    assert not ocr.available()
    assert "RAG_OCR=0" in (ocr.unavailable_reason() or "")


@pytest.mark.skipif(not SCAN.exists(), reason="real documents folder not beside the clone")
@pytest.mark.skipif(not ocr.available(), reason=f"OCR not installed: {ocr.unavailable_reason()}")
def test_scan_is_ocred_marked_and_accurate():
    from bench.ocr_accuracy import _norm, best_window, edit_distance

    raw = read_file(SCAN)
    assert raw.ocr_pages == [1, 2] and raw.extractor == "pypdf+tesseract"
    truth = _norm((FIX / "qd-1360-ttg-scan.p2.txt").read_text(encoding="utf-8"))
    got = best_window(_norm(raw.pages[1]), truth)
    assert 1 - edit_distance(got, truth) / len(truth) >= 0.95
    doc = build_document(raw)
    assert doc.doc_number and re.fullmatch(r"1360/QĐ-TTg", doc.doc_number)
    chunks = chunk_document(doc)
    assert chunks and all(c.ocr for c in chunks)
