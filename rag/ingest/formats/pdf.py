"""PDF: pypdf first, pypdfium2 when pypdf cannot read the file or a page holds a ruled table (its
cell geometry gives one line per row, see pdf_tables); then, page by page, legacy fonts
converted, scanned or garbage pages OCR'd (or skipped with a warning), page furniture removed and
words that extraction split re-joined.

Order matters: the legacy-encoding check sees the extractor's raw output (TCVN3's "ư" is a soft
hyphen or a minus sign that any cleanup would destroy), and the garbage check runs after
conversion so a TCVN3 page is not mistaken for a bad OCR layer.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ...errors import InputError
from ...vi.legacy_encoding import convert_pages, dominant, join_split_syllables
from ...vi.syllables import marked_share, syllable_share, tokens
from ...vi.text import nfc
from . import ocr
from .base import RawFile
from .page_furniture import remove_furniture
from .pdf_tables import drop_repeated_rows, page_text_with_tables, repair_hyphens

log = logging.getLogger(__name__)

_MIN_LETTERS = 20  # fewer letters than this on a page: no text layer worth keeping
_MIN_SYLLABLE_SHARE = 0.5  # real Vietnamese pages measured ≥ 0.66, tables included
_MIN_MARKED_SHARE = 0.1  # real pages ≥ 0.44; a text layer that lost every mark sits near 0
_MIN_TOKENS_FOR_SHARE = 15


def text_layer_problem(text: str) -> str | None:
    """Why a page's text layer is unusable ("no text", "garbage text"), or None if it is fine."""
    if sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        return "no text"
    if len(tokens(text)) >= _MIN_TOKENS_FOR_SHARE and (
            syllable_share(text) < _MIN_SYLLABLE_SHARE or marked_share(text) < _MIN_MARKED_SHARE):
        return "garbage text"
    return None


def _with_pypdf(path: Path) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return [page.extract_text() or "" for page in reader.pages]


def _with_pdfium(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return [page_text_with_tables(pdf[i]) or pdf[i].get_textpage().get_text_range()
                for i in range(len(pdf))]
    finally:
        pdf.close()


def _table_pages(path: Path) -> dict[int, str]:
    """Pages (0-based) holding ruled tables, re-read with the cell geometry pypdf does not give.
    Best effort: a file pdfium cannot read keeps pypdf's text."""
    try:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
    except Exception:  # pdfium missing or unable to parse: pypdf's text stands
        return {}
    try:
        return {i: text for i in range(len(pdf)) if (text := page_text_with_tables(pdf[i]))}
    except Exception as e:  # a table heuristic must never cost the document
        log.warning("%s: bảng không đọc được / tables not reconstructed (%s)", path.name, e)
        return {}
    finally:
        pdf.close()


#: Readers accept the "%PDF-" header anywhere in the first 1024 bytes (PDF 32000 annex H); the
#: UI and `rag index` both apply this one rule.
HEADER_WINDOW = 1024


def check_header(path: Path) -> None:
    """A file named .pdf whose first KB holds no PDF header is not a PDF (an HTML error page, a
    renamed Word file): say so, rather than "corrupt"."""
    with open(path, "rb") as fh:
        head = fh.read(HEADER_WINDOW)
    if b"%PDF-" not in head:
        raise InputError(f"Tệp có đuôi .pdf nhưng không phải PDF / not a PDF file: {path}")


def _password_protected(path: Path) -> bool:
    """True when the PDF needs a password to open. Files that only restrict printing or
    copying (an owner password, common in official PDFs) open with the empty one and are read."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        return reader.is_encrypted and not reader.decrypt("")
    except Exception:  # damaged files are reported by the extractors below
        return False


def extract(path: Path) -> tuple[list[str], str, list[str]]:
    """Raw page texts, the extractor that produced them, and warnings. pypdf is the primary
    extractor; any pypdf failure (pypdf 7 refuses the deprecated /Fl filter name, damaged
    cross-reference tables…) falls back to pypdfium2 rather than losing the document."""
    warnings: list[str] = []
    try:
        pages = _with_pypdf(path)
    except Exception as e:  # pypdf raises assorted errors on damaged or unusual files
        if _password_protected(path):
            raise InputError(f"PDF có mật khẩu / password-protected PDF: {path} (hãy gỡ mật khẩu "
                             "rồi thêm lại / remove the password and add it again)") from None
        first = f"{type(e).__name__}: {e}"
    else:
        tables = _table_pages(path)
        for i, text in tables.items():
            pages[i] = text
        return pages, "pypdf" + ("+pypdfium2-tables" if tables else ""), warnings
    try:
        pages = _with_pdfium(path)
    except ImportError:
        raise InputError(f"PDF không đọc được bằng pypdf / pypdf cannot read {path} ({first}); "
                         "cài pypdfium2 để thử cách khác: pip install pypdfium2") from None
    except Exception as e:
        raise InputError(f"PDF hỏng hoặc không đọc được / corrupt PDF: {path} ({first}; "
                         f"pypdfium2: {type(e).__name__})") from None
    warnings.append(f"pypdf lỗi, đọc bằng pypdfium2 / pypdf failed ({first[:120]}), read with pypdfium2")
    return pages, "pypdfium2", warnings


def _pages_label(pages: list[int]) -> str:
    return ", ".join(map(str, pages))


def read(path: Path, use_ocr: bool | None = None) -> RawFile:
    """Read a PDF. `use_ocr` None means: OCR when it is installed."""
    check_header(path)
    raw_pages, extractor, warnings = extract(path)
    raw_pages = [p.replace("\r\n", "\n").replace("\r", "\n") for p in raw_pages]
    pages, encodings = convert_pages(raw_pages)
    # hyphen repairs only once the text is Unicode: in TCVN3 a soft hyphen is the letter "ư"
    pages = [nfc(p if enc else repair_hyphens(p)) for p, enc in zip(pages, encodings)]
    problems = {i: why for i, p in enumerate(pages, 1) if (why := text_layer_problem(p))}
    ocr_pages: list[int] = []
    skipped: list[int] = []
    if problems:
        can_ocr = ocr.available() if use_ocr is None else use_ocr
        if can_ocr:
            for n, text in ocr.ocr_pdf_pages(path, sorted(problems)).items():
                if text_layer_problem(text) == "no text":
                    if problems[n] != "no text":
                        skipped.append(n)  # the text layer was garbage and OCR found nothing
                    pages[n - 1] = ""
                    continue
                pages[n - 1] = join_split_syllables(text)
                ocr_pages.append(n)
        else:
            skipped = sorted(n for n, why in problems.items() if why == "garbage text" or
                             why == "no text")
            for n in skipped:
                pages[n - 1] = ""
            reason = ocr.unavailable_reason() or "OCR tắt / OCR disabled"
            warnings.append(
                f"bỏ qua trang {_pages_label(skipped)} (bản scan hoặc lớp chữ hỏng, chưa có OCR) / "
                f"skipped pages {_pages_label(skipped)} of {path.name}: scanned or garbage text, "
                f"no OCR ({reason}; {ocr.INSTALL_HINT})")
    pages = drop_repeated_rows(remove_furniture(pages))
    pages = [p if enc or (i + 1) in ocr_pages else join_split_syllables(p)
             for i, (p, enc) in enumerate(zip(pages, encodings))]
    if not any(p.strip() for p in pages):
        why = "; ".join(warnings) or "không có lớp chữ / no text layer"
        raise InputError(f"PDF không có chữ trích xuất được (có thể là bản scan) / PDF has no "
                         f"extractable text (scanned?): {path} ({why})")
    for w in warnings:
        log.warning("%s: %s", path.name, w)
    return RawFile(path, pages, True, ocr_pages=ocr_pages, skipped_pages=sorted(skipped),
                   encoding=dominant(encodings), extractor=extractor + ("+tesseract" if ocr_pages else ""),
                   warnings=warnings)
