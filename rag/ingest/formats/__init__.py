"""One reader per file format; `reader_for` picks it by suffix.

Each reader turns a file into a `RawFile` of Unicode pages: legacy font encodings converted,
page furniture removed, scans OCR'd where the OCR extra is installed. Cleaning proper (boilerplate,
paragraphs, title) stays in `rag.clean`, the same for every format.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .base import RawFile

Reader = Callable[[Path], RawFile]


def _readers() -> dict[str, Reader]:
    from . import doc, docx, html, markdown, pdf, text

    return {".txt": text.read, ".md": markdown.read, ".markdown": markdown.read,
            ".html": html.read, ".htm": html.read, ".docx": docx.read, ".doc": doc.read,
            ".pdf": pdf.read}


SUPPORTED = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".doc", ".pdf"})


def reader_for(path: Path) -> Reader | None:
    return _readers().get(path.suffix.lower())


__all__ = ["SUPPORTED", "RawFile", "reader_for"]
