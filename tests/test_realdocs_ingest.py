"""Every real document in ../shared/realdocs through ingestion, with its expected outcome.

The folder sits beside the clone (CI has it there); without it these tests skip. OCR is turned off
here (RAG_OCR=0) so the scanned files must come out as warned skips; `test_ocr.py` covers OCR on
two pages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import InputError
from rag.ingest.chunking import build_document, chunk_document
from rag.ingest.files import collect_paths, read_file
from rag.vi.syllables import syllable_share

REALDOCS = Path(__file__).resolve().parents[1].parent / "shared" / "realdocs"
pytestmark = pytest.mark.skipif(not REALDOCS.is_dir(), reason=f"real documents not found at {REALDOCS}")


# file → (encoding, pages, pages skipped without OCR, a phrase the text must contain)
EXPECTED = {
    "pdf/nq33-2022-hdnd-caobang.pdf": (None, 4, [], "lệ phí cấp giấy phép lao động"),
    "pdf/nq33-2022-hdnd-caobang-ban2.pdf": (None, 5, [], "lệ phí cấp giấy phép lao động"),
    "pdf/qd-2093-byt-2025.pdf": (None, 170, [], "thủ tục hành chính"),
    "pdf/qd-1629-ubnd-laichau-2025.pdf": (None, 6, [1, 2], "thủ tục"),
    "pdf/kehoach-bimson-2024.pdf": (None, 6, [], "Bảo vệ Bí mật Nhà nước"),
    "pdf/danhmuc-vbqppl-2021-bang.pdf": (None, 52, [], "Hiệu lực thi"),
    "pdf/2006-19412_QD115.04TTg_BLTch_DNNVV.pdf": ("tcvn3", 2, [], "Thủ tướng Chính phủ"),
    "pdf/2007-1AF57_02-2007.pdf": ("tcvn3", 4, [], "doanh nghiệp nhà nước"),
    "pdf/2006-1E499_ND109veDKKD_dacotrenmucPTDNN-V.pdf": ("tcvn3", 30, [], "NGHỊ ĐỊNH CỦA CHÍNH PHỦ"),
    "office/2003-02144qd.doc": ("tcvn3", 1, [], "thuế nhập khẩu ưu đãi"),
    "office/2006-quydinhkiemtra02.doc": ("vni", 1, [], "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    "office/2008-23.QD-991-UBND.doc": ("vni", 1, [], "TỈNH BÌNH PHƯỚC"),
    "office/LUATANNINHMANG.docx": (None, 1, [], "Luật An ninh mạng"),
    "office/LUATANTOANTHONGTINMANG.docx": (None, 1, [], "an toàn thông tin mạng"),
    "office/LUATCONGNGHETHONGTIN.docx": (None, 1, [], "CÔNG NGHỆ THÔNG TIN"),
    "text/nq-57-ntw-2024.md": (None, 1, [], "kỷ nguyên mới - kỷ nguyên vươn mình"),
    "text/nq-03-ncp-2025.md": (None, 1, [], "Chương trình hành động"),
}
# files whose every page is a scan: without OCR they are a clear error, never garbage in the index
UNREADABLE_WITHOUT_OCR = {"pdf/qd-1360-ttg-scan.pdf": [1, 2], "pdf/kehoach-stp-hcm-2021-ocr-hong.pdf": [1, 2]}

_cache: dict[str, object] = {}


@pytest.fixture
def no_ocr(monkeypatch):
    monkeypatch.setenv("RAG_OCR", "0")


def _read(rel: str):
    if rel not in _cache:
        _cache[rel] = read_file(REALDOCS / rel)
    return _cache[rel]


def test_every_real_document_has_an_expected_outcome():
    files = {str(p.relative_to(REALDOCS)) for p in collect_paths([REALDOCS / d for d in ("pdf", "office", "text")])}
    assert files == set(EXPECTED) | set(UNREADABLE_WITHOUT_OCR)


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_real_document_reads_as_expected(rel, no_ocr):
    if rel.endswith(".doc") and not _has_doc_tool():
        pytest.skip("antiword/catdoc not installed (bash install.sh --dev)")
    encoding, n_pages, skipped, phrase = EXPECTED[rel]
    raw = _read(rel)
    assert raw.encoding == encoding
    assert len(raw.pages) == n_pages
    assert raw.skipped_pages == skipped
    assert raw.ocr_pages == []
    if skipped:
        assert any("skipped pages " + ", ".join(map(str, skipped)) in w for w in raw.warnings)
        assert all(not raw.pages[n - 1] for n in skipped)
    text = "\n".join(raw.pages)
    assert phrase in text
    for page in raw.pages:  # no garbage went through: every kept page reads as Vietnamese
        if len(page.split()) > 30:
            assert syllable_share(page) > 0.6
    doc = build_document(raw)
    chunks = chunk_document(doc)
    assert chunks and all(doc.text[c.start:c.end] == c.text for c in chunks)


@pytest.mark.parametrize("rel", sorted(UNREADABLE_WITHOUT_OCR))
def test_scans_without_ocr_are_a_clear_error(rel, no_ocr):
    with pytest.raises(InputError, match="skipped pages 1, 2") as e:
        read_file(REALDOCS / rel)
    assert Path(rel).name in str(e.value)


def test_pypdf_failure_falls_back_to_pdfium(no_ocr):
    raw = _read("pdf/2006-1E499_ND109veDKKD_dacotrenmucPTDNN-V.pdf")
    assert raw.extractor == "pypdfium2"
    assert any("pypdfium2" in w for w in raw.warnings)


def test_legacy_garble_never_survives(no_ocr):
    for rel, (encoding, *_rest) in EXPECTED.items():
        if encoding and (not rel.endswith(".doc") or _has_doc_tool()):
            text = "\n".join(_read(rel).pages)
            assert "®" not in text and "Õ" not in text and "\u2212" not in text, rel


def _has_doc_tool() -> bool:
    import shutil

    return bool(shutil.which("antiword") or shutil.which("catdoc"))


def test_page_numbers_glued_to_line_ends_are_removed(no_ocr):
    raw = _read("pdf/qd-2093-byt-2025.pdf")
    last_lines = [p.rstrip().split("\n")[-1] for p in raw.pages[1:20]]
    assert not any(line.rstrip().endswith(f" {i + 2}") for i, line in enumerate(last_lines))


def test_repeated_table_header_kept_once(no_ocr):
    raw = _read("pdf/danhmuc-vbqppl-2021-bang.pdf")
    text = "\n".join(raw.pages)
    assert text.count("Tình trạng ban") == 1


def test_legal_metadata_on_chunks(no_ocr):
    doc = build_document(_read("pdf/nq33-2022-hdnd-caobang.pdf"))
    assert (doc.doc_number, doc.doc_type, doc.date) == ("33/2022/NQ-HĐND", "Nghị quyết", "2022-07-15")
    assert doc.issuer == "HỘI ĐỒNG NHÂN DÂN TỈNH CAO BẰNG"
    chunk = chunk_document(doc)[0]
    assert chunk.doc_number == "33/2022/NQ-HĐND" and chunk.issuer == doc.issuer


def test_legacy_conversion_accuracy_at_least_99_percent(no_ocr):
    if not _has_doc_tool():
        pytest.skip("antiword/catdoc not installed (bash install.sh --dev)")
    from bench.legacy_accuracy import find_pairs, measure

    pairs = find_pairs(REALDOCS)
    assert len(pairs) == 6
    for src, transcript in pairs:
        row = measure(src, transcript)
        assert row["recall_repaired_truth"] >= 0.99, row
        assert row["encoding"] in ("tcvn3", "vni"), row


def test_duplicate_rendering_indexed_once(tmp_path, no_ocr, fake_embedder):
    import shutil

    from rag.app.report import format_report
    from rag.config import Settings
    from rag.store.build import build

    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("nq33-2022-hdnd-caobang.pdf", "nq33-2022-hdnd-caobang-ban2.pdf", "qd-1360-ttg-scan.pdf"):
        shutil.copy(REALDOCS / "pdf" / name, folder / name)
    settings = Settings(corpus=folder, index_dir=tmp_path / "index", show_progress=False)
    report = build(settings, fake_embedder)
    assert report.documents == 1
    rows = {Path(r.path).name: r for r in report.files}
    kept = rows["nq33-2022-hdnd-caobang-ban2.pdf"]
    dup = rows["nq33-2022-hdnd-caobang.pdf"]
    assert (kept.status, dup.status, dup.duplicate_of) == ("indexed", "duplicate", "nq33-2022-hdnd-caobang-ban2.pdf")
    assert rows["qd-1360-ttg-scan.pdf"].status == "skipped"
    from rag.store.index import load_index

    loaded = load_index(settings.index_dir)
    assert all(c.also_in == ["nq33-2022-hdnd-caobang.pdf"] for c in loaded.chunks)
    table = format_report(report.files)
    assert "trùng / duplicate" in table and "skipped pages 1, 2" in table
    # indexing again (incremental) keeps one document and the duplicate link
    again = build(settings, fake_embedder, [folder / "nq33-2022-hdnd-caobang.pdf"])
    assert again.documents == 1 and again.duplicates
