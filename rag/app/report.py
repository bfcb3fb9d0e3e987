"""The per-file table of `rag index --report`: what went into the index, and what did not.

Staff upload scans, legacy-font files and duplicates; this table shows, per file, how many pages
had text, how many were OCR'd or skipped, which legacy encoding was converted, how many chunks
were indexed and every warning, so a file that went in as nothing is seen at once.
"""

from __future__ import annotations

from pathlib import Path

from ..ingest.files import shown
from ..pipeline import FileReport

_COLUMNS = ("tệp / file", "trạng thái", "trang", "có chữ", "OCR", "bỏ qua", "mã hoá", "đoạn")


def _status(r: FileReport) -> str:
    if r.status == "duplicate":
        return "trùng / duplicate"
    if r.status == "skipped":
        return "bỏ qua / skipped"
    return "đã lập / indexed"


def format_report(rows: list[FileReport], width: int = 40) -> str:
    """A plain-text table, then the warnings numbered under it."""
    table = [_COLUMNS]
    for r in rows:
        name = shown(Path(r.path).name)
        name = name if len(name) <= width else name[:width - 1] + "…"
        skipped = ",".join(map(str, r.skipped_pages)) if r.skipped_pages else "-"
        table.append((name, _status(r), str(r.pages), str(r.text_pages), str(r.ocr_pages), skipped,
                      r.encoding or "unicode", str(r.chunks)))
    widths = [max(len(row[i]) for row in table) for i in range(len(_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) if i < 2 or i == 6 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [(shown(Path(r.path).name), w) for r in rows for w in r.warnings]
    if notes:
        lines.append("")
        lines.append("Cảnh báo / warnings:")
        lines.extend(f"  {name}: {w}" for name, w in notes)
    return "\n".join(lines)
