"""Files → raw text pages. Reading only; cleaning happens in `clean`.

Supported: .txt, .md (UTF-8) and .pdf (pypdf, one entry per page so page numbers survive).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED = TEXT_SUFFIXES | PDF_SUFFIXES


@dataclass
class RawFile:
    """A file's text before cleaning: one string per page (a single page for text files)."""

    path: Path
    pages: list[str]
    is_pdf: bool


def collect_paths(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their supported files (sorted); a missing path is an error."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise InputError(f"Không tìm thấy đường dẫn / path not found: {p}")
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED))
        elif p.suffix.lower() in SUPPORTED:
            out.append(p)
        else:
            raise InputError(
                f"Định dạng không hỗ trợ / unsupported file type '{p.suffix}': {p} "
                f"(hỗ trợ: {', '.join(sorted(SUPPORTED))})"
            )
    return out


def read_file(path: Path) -> RawFile:
    """Read one file; raise InputError with a clear message when it cannot be used."""
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        return RawFile(path, _read_pdf(path), True)
    if suffix in TEXT_SUFFIXES:
        return RawFile(path, [_read_text(path)], False)
    raise InputError(f"Định dạng không hỗ trợ / unsupported file type: {path}")


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"Tệp không phải UTF-8 / file is not UTF-8 text: {path} (byte {e.start}); "
            "hãy lưu lại dưới dạng UTF-8"
        ) from None
    if "\x00" in text:
        raise InputError(f"Tệp nhị phân, không phải văn bản / binary file, not text: {path}")
    if not text.strip():
        raise InputError(f"Tệp rỗng / empty file: {path}")
    return text


def _read_pdf(path: Path) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise InputError(f"PDF hỏng hoặc không đọc được / corrupt PDF: {path} ({e})") from None
    except Exception as e:  # pypdf raises assorted errors on damaged files
        raise InputError(f"PDF không đọc được / unreadable PDF: {path} ({type(e).__name__}: {e})") from None
    if not any(p.strip() for p in pages):
        raise InputError(
            f"PDF không có chữ trích xuất được (có thể là bản scan) / PDF has no extractable text "
            f"(scanned?): {path}"
        )
    return pages


def read_all(paths: Iterable[Path]) -> Iterator[tuple[Path, RawFile | InputError]]:
    """Read many files; a bad file yields its error instead of stopping the others."""
    for p in collect_paths(paths):
        try:
            yield p, read_file(p)
        except InputError as e:
            log.warning("%s", e)
            yield p, e
