"""Word (.docx) via python-docx: paragraphs and tables in document order.

Table rows become one line each ("cell | cell | cell") so a row stays together in one chunk.
Legacy-font text typed in Word (.VnTime, VNI-Times) is converted like any other source.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import InputError
from ...vi.legacy_encoding import to_unicode
from .base import RawFile


def _iter_blocks(document):
    """Paragraphs and tables of the body in the order they appear."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            yield Paragraph(child, document)
        elif tag == "tbl":
            yield Table(child, document)


def _row_text(row) -> str:
    cells, seen = [], set()
    for cell in row.cells:
        if id(cell._tc) in seen:  # a merged cell repeats across the columns it spans
            continue
        seen.add(id(cell._tc))
        text = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
        if text:
            cells.append(text)
    return " | ".join(cells)


def read(path: Path) -> RawFile:
    try:
        import docx
    except ImportError:
        raise InputError("Cần gói python-docx để đọc .docx / install python-docx: "
                         "pip install python-docx") from None
    try:
        document = docx.Document(str(path))
    except Exception as e:  # python-docx raises assorted errors on damaged packages
        raise InputError(f"Tệp Word hỏng hoặc không đọc được / unreadable .docx: {path} "
                         f"({type(e).__name__})") from None
    lines: list[str] = []
    for block in _iter_blocks(document):
        if hasattr(block, "rows"):
            lines.extend(t for t in (_row_text(r) for r in block.rows) if t)
            lines.append("")
        else:
            lines.append(block.text)
    text = "\n".join(lines)
    if not text.strip():
        raise InputError(f"Tệp Word rỗng / empty .docx: {path}")
    conv = to_unicode(text)
    return RawFile(path, [conv.text], False, encoding=conv.encoding, extractor="python-docx")
