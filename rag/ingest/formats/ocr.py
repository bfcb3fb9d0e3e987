"""OCR of PDF pages with Tesseract's Vietnamese model — an optional extra.

Needs the `ocr` extra (`pip install 'hoi-dap-cds[ocr]'`: pytesseract, Pillow) and Debian's
`tesseract-ocr` + `tesseract-ocr-vie` (`bash install.sh --ocr` installs them when run as root).
Pages are rendered with pypdfium2, which the PDF reader already depends on, so poppler is not
needed. Without any of these, `available()` says what is missing and the PDF reader skips scanned
pages with a warning instead of indexing nothing or garbage.
"""

from __future__ import annotations

import logging
import shutil
from functools import lru_cache
from pathlib import Path

from ...config import load_settings
from ...vi.text import nfc

log = logging.getLogger(__name__)

LANG = "vie"
DPI = 300
INSTALL_HINT = ("cài OCR / install OCR: bash install.sh --ocr "
                "(pip install 'hoi-dap-cds[ocr]'; apt-get install tesseract-ocr tesseract-ocr-vie)")


def unavailable_reason() -> str | None:
    """None when OCR can run; otherwise what is missing (or that RAG_OCR=0 turned it off)."""
    if not load_settings().ocr:
        return "OCR tắt bằng RAG_OCR=0 / OCR turned off by RAG_OCR=0"
    return _missing()


@lru_cache(maxsize=1)
def _missing() -> str | None:
    try:
        import PIL  # noqa: F401
        import pytesseract
    except ImportError:
        return "thiếu gói pytesseract/Pillow / pytesseract or Pillow not installed"
    if not shutil.which("tesseract"):
        return "thiếu chương trình tesseract / tesseract not installed"
    try:
        langs = set(pytesseract.get_languages(config=""))
    except Exception as e:  # pytesseract wraps several subprocess failures
        return f"tesseract không chạy / tesseract fails: {type(e).__name__}"
    if LANG not in langs:
        return "thiếu dữ liệu tiếng Việt / tesseract-ocr-vie not installed"
    return None


def available() -> bool:
    return unavailable_reason() is None


def ocr_pdf_pages(path: Path, pages: list[int], dpi: int = DPI) -> dict[int, str]:
    """Text of the given 1-based pages, read by Tesseract (Vietnamese). Raises ImportError with
    an install hint when OCR is not available."""
    reason = unavailable_reason()
    if reason:
        raise ImportError(f"{reason}; {INSTALL_HINT}")
    import pypdfium2 as pdfium
    import pytesseract

    out: dict[int, str] = {}
    pdf = pdfium.PdfDocument(str(path))
    try:
        for n in pages:
            image = pdf[n - 1].render(scale=dpi / 72, grayscale=True).to_pil()
            out[n] = nfc(pytesseract.image_to_string(image, lang=LANG))
    finally:
        pdf.close()
    return out
