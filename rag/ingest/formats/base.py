"""What every format reader returns: the file's text per page, plus what happened on the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RawFile:
    """A file's text before cleaning: one string per page (a single page for non-PDF files).

    `pages` are already Unicode NFC (legacy fonts converted) and free of page furniture; pages
    that could not be read (a scan without OCR) are empty strings and listed in
    `skipped_pages`, so page numbers of the others stay right.
    """

    path: Path
    pages: list[str]
    is_pdf: bool
    ocr_pages: list[int] = field(default_factory=list)  # 1-based page numbers read by OCR
    skipped_pages: list[int] = field(default_factory=list)  # 1-based, left out with a warning
    encoding: str | None = None  # legacy encoding found: "tcvn3", "vni", "viscii", "mixed:…"
    extractor: str = ""  # "pypdf", "pypdfium2", "python-docx", "antiword", …
    warnings: list[str] = field(default_factory=list)

    @property
    def text_pages(self) -> int:
        """Pages with text that did not need OCR."""
        return sum(1 for i, p in enumerate(self.pages, 1) if p.strip() and i not in self.ocr_pages)
