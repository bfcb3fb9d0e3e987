"""Files → raw text pages. Reading only; cleaning happens in `clean`.

Supported: .pdf (pypdf, pypdfium2 fallback, OCR for scans), .docx, .doc (antiword), .md, .txt and
.html. One reader per format lives in `rag.formats`; every reader converts legacy Vietnamese
font encodings and returns one entry per page so page numbers survive.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError
from ..progress import status
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


def shown(path: Path | str) -> str:
    """A path as printable text: bytes of the name that are not UTF-8 written as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def check_size(path: Path, size: int, max_mb: float | None, setting: str = "RAG_MAX_FILE_MB") -> None:
    """Refuse a file over the per-file cap before reading it: a 50 MB text is ~17 million tokens,
    hours of embedding on a laptop, and almost always a mistake (a log, a data dump)."""
    if max_mb is not None and max_mb > 0 and size > max_mb * 2**20:
        raise InputError(f"Tệp quá lớn / file too large: {shown(path)} ({size / 2**20:.1f} MB > "
                         f"{max_mb:g} MB; đổi giới hạn bằng / raise the limit with {setting})")


#: files at least this big get a progress line: reading and cleaning them takes seconds
_ANNOUNCE_BYTES = 5 * 2**20


def read_file(path: Path, max_mb: float | None = None, progress: bool = False) -> RawFile:
    """Read one file; raise InputError with a clear message when it cannot be used: unsupported
    type, missing, unreadable (permissions, I/O error), over `max_mb`, or a name that is not
    UTF-8 (it could be neither shown nor stored in the index)."""
    path = Path(path)
    if shown(path) != str(path):
        raise InputError(f"Tên tệp không phải UTF-8 / file name is not valid UTF-8: {shown(path)} "
                         "(hãy đổi tên tệp / rename the file)")
    reader = reader_for(path)
    if reader is None:
        raise InputError(f"Định dạng không hỗ trợ / unsupported file type: {path}")
    try:
        if not path.is_file():
            raise InputError(f"Không tìm thấy tệp / file not found: {path}")
        size = path.stat().st_size
        check_size(path, size, max_mb)
        if size >= _ANNOUNCE_BYTES:
            status(f"Đang đọc / reading {path.name} ({size / 2**20:.0f} MB)…", progress)
        return reader(path)
    except OSError as e:
        raise InputError(f"Không đọc được tệp / cannot read file: {path} ({e.strerror or e})") from None


__all__ = ["PDF_SUFFIXES", "SUPPORTED", "TEXT_SUFFIXES", "RawFile", "check_size", "collect_paths",
           "read_file", "shown"]
