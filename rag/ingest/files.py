"""Files → raw text pages. Reading only; cleaning happens in `clean`.

Supported: .pdf (pypdf, pypdfium2 fallback, OCR for scans), .docx, .doc (antiword), .md, .txt and
.html. One reader per format lives in `rag.formats`; every reader converts legacy Vietnamese
font encodings and returns one entry per page so page numbers survive.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError
from .formats import SUPPORTED, RawFile, reader_for

PDF_SUFFIXES = {".pdf"}
TEXT_SUFFIXES = SUPPORTED - PDF_SUFFIXES


def collect_paths(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their supported files (sorted); a missing path is an error."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise InputError(f"Không tìm thấy đường dẫn / path not found: {p}")
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED
                              and not f.name.startswith(("~$", ".~lock"))))
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
    path = Path(path)
    reader = reader_for(path)
    if reader is None:
        raise InputError(f"Định dạng không hỗ trợ / unsupported file type: {path}")
    if not path.is_file():
        raise InputError(f"Không tìm thấy tệp / file not found: {path}")
    return reader(path)


__all__ = ["PDF_SUFFIXES", "SUPPORTED", "TEXT_SUFFIXES", "RawFile", "collect_paths", "read_file"]
