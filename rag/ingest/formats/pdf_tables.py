"""Ruled tables in PDFs → one line per row.

Extractors read a table cell by cell ("Thông tư số / 33/2017/TT-BTNMT / ngày 29/9/2019…" each on
its own short line), so a row's facts end up scattered over several paragraphs and chunks. Tables
in government PDFs are ruled: their borders are thin path objects or cell rectangles. From those
we take the row and column boundaries, put every character into its cell, and write each row as
"cell | cell | cell", followed by a blank line so the cleaner keeps it a paragraph of its own.
Text outside the tables keeps its reading order, placed above or below them by position.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from ...vi.text import squash_spaces

_THIN = 2.0  # a border is at most this thick (pt)
_MIN_EDGE = 4.0  # shorter strokes are dots or glyph parts, not borders
_SNAP = 2.0  # boundaries closer than this are one
_MAX_RECT_SEGMENTS = 5  # a rectangle path: move + 3 lines + close
_ROW_SEP = " | "
_WORD_GAP = 0.2  # a gap wider than this share of the glyph height separates two words


@dataclass
class _Table:
    top: float
    bottom: float
    left: float
    right: float
    ys: list[float]  # row boundaries, ascending
    verticals: list[tuple[float, float, float]]  # (x, y0, y1): a merged cell has none inside it
    cells: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    last_glyph: dict[tuple[int, int], tuple[float, float, float, float]] = field(default_factory=dict)
    _columns: dict[int, list[float]] = field(default_factory=dict)

    def contains(self, x: float, y: float) -> bool:
        return self.left - _SNAP <= x <= self.right + _SNAP and self.bottom - _SNAP <= y <= self.top + _SNAP

    def cell_at(self, x: float, y: float) -> tuple[int, int]:
        k = bisect_right(self.ys, y)
        row = len(self.ys) - 1 - k  # row 0 is the top one; -1 is above the table's top rule
        if row not in self._columns:
            lo = self.ys[k - 1] if k else self.bottom
            hi = self.ys[k] if k < len(self.ys) else self.top
            mid = (lo + hi) / 2
            self._columns[row] = _snap([vx for vx, y0, y1 in self.verticals if y0 - _SNAP <= mid <= y1 + _SNAP])
        return row, bisect_right(self._columns[row], x)

    def rows(self) -> list[str]:
        by_row: dict[int, list[str]] = {}
        for (r, _), chars in sorted(self.cells.items()):
            if cell := squash_spaces("".join(chars)):
                by_row.setdefault(r, []).append(cell)
        return [_ROW_SEP.join(cells) for cells in by_row.values()]


_SPACED_CODE_HYPHEN_RE = re.compile(r"(?<=[A-ZĐ0-9]) -(?=[A-ZĐ])|(?<=[A-ZĐ])- (?=[A-ZĐ0-9])")


def repair_hyphens(text: str) -> str:
    """For Unicode text only (formats.pdf applies it after legacy conversion). pdfium marks a
    hyphen that ended a line with U+FFFE ("38/2020/QĐ\ufffe TTg") and may set
    a space beside the hyphen of a document number it re-flowed ("25/2014/TT -BTNMT"); both are
    put back as the plain hyphen they were. Spaced dashes between words ("Lao động - Thương binh")
    stay as they are."""
    return _SPACED_CODE_HYPHEN_RE.sub("-", re.sub(r"\ufffe\s*", "-", text))


def _snap(values: list[float]) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > _SNAP:
            out.append(v)
    return out


Box = tuple[float, float, float, float, bool]  # left, bottom, right, top, stroked


def _edges(boxes: list[Box]):
    """Horizontal edges (y, x0, x1) and vertical edges (x, y0, y1) of rules and outlined
    rectangles. A filled rectangle is a cell or line background, not a border: Word shades
    every line of some cells, which would otherwise cut rows through the middle of text."""
    hs, vs = [], []
    for left, bottom, right, top, stroked in boxes:
        w, h = right - left, top - bottom
        if h <= _THIN and w >= _MIN_EDGE:
            hs.append(((bottom + top) / 2, left, right))
        elif w <= _THIN and h >= _MIN_EDGE:
            vs.append(((left + right) / 2, bottom, top))
        elif w > _THIN and h > _THIN and stroked:
            hs += [(bottom, left, right), (top, left, right)]
            vs += [(left, bottom, top), (right, bottom, top)]
    return hs, vs


def find_tables(boxes: list[Box]) -> list[_Table]:
    """Tables from the bounding boxes of a page's rule-like paths.

    Tables on a page are stacked, so the vertical edges are grouped into bands where they
    overlap; a band is a table if it has at least two columns and one row between rules.
    """
    hs, vs = _edges(boxes)
    if not vs or not hs:
        return []
    bands: list[list[tuple[float, float, float]]] = []
    for v in sorted(vs, key=lambda e: e[1]):
        if bands and v[1] <= max(e[2] for e in bands[-1]) + _SNAP:
            bands[-1].append(v)
        else:
            bands.append([v])
    tables = []
    for band in bands:
        bottom, top = min(e[1] for e in band), max(e[2] for e in band)
        left, right = min(e[0] for e in band), max(e[0] for e in band)
        xs = _snap([e[0] for e in band])
        ys = _snap([y for y, x0, x1 in hs if bottom - _SNAP <= y <= top + _SNAP
                    and x1 > left + _SNAP and x0 < right - _SNAP])
        if len(xs) >= 3 and len(ys) >= 2:
            tables.append(_Table(top, bottom, left, right, ys, band))
    return tables


def _page_rules(page) -> list[Box]:
    import ctypes

    import pypdfium2.raw as pdfium_c

    boxes = []
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=4):
        if pdfium_c.FPDFPath_CountSegments(obj.raw) <= _MAX_RECT_SEGMENTS:
            pdfium_c.FPDFPath_GetDrawMode(obj.raw, ctypes.byref(fill), ctypes.byref(stroke))
            boxes.append((*obj.get_bounds(), bool(stroke.value)))
    return boxes


def page_text_with_tables(page) -> str | None:
    """A pypdfium2 page's text with its ruled tables as rows, or None when it has no table."""
    tables = find_tables(_page_rules(page))
    if not tables:
        return None
    textpage = page.get_textpage()
    n = textpage.count_chars()
    text = textpage.get_text_range(0, n)
    if len(text) != n:  # characters outside the BMP shift indexes; keep the plain extraction
        return None
    # blocks of running text outside tables, each with its top y, in reading order
    blocks: list[tuple[float, list[str]]] = []
    current: list[str] | None = None
    where: _Table | None = None
    cell = (0, 0)
    for i, ch in enumerate(text):
        left, bottom, right, top = textpage.get_charbox(i, loose=True)
        if right > left or top > bottom:  # generated spaces and line breaks have no box
            x, y = (left + right) / 2, (bottom + top) / 2
            where = next((t for t in tables if t.contains(x, y)), None)
            if where is not None:
                cell = where.cell_at(x, y)
            elif current is None:
                current = []
                blocks.append((top, current))
        if where is not None:
            chars = where.cells.setdefault(cell, [])
            # pdfium's own line breaks inside cells are unreliable ("s\r\nố", "Nghị\r\nđịnh"): a
            # word break is read from the glyph positions instead — a new line, or a gap
            if ch not in "\r\n":
                glyph = right > left and not ch.isspace()
                prev = where.last_glyph.get(cell)
                if glyph and prev and chars and chars[-1] != " ":
                    _, p_bottom, p_right, p_top = prev
                    size = max(p_top - p_bottom, top - bottom)
                    if top < p_bottom or left - p_right > _WORD_GAP * size:
                        chars.append(" ")
                chars.append(ch)
                if glyph:
                    where.last_glyph[cell] = (left, bottom, right, top)
            current = None
        elif current is not None:
            current.append(ch)
    parts = [(top, "".join(chars).replace("\r\n", "\n").strip("\n")) for top, chars in blocks]
    parts += [(t.top, "\n\n".join(t.rows())) for t in tables]
    return "\n\n".join(p for _, p in sorted(parts, key=lambda p: -p[0]) if p.strip()) + "\n"


def drop_repeated_rows(pages: list[str]) -> list[str]:
    """A table header repeated at the top of every page is said once: a row (a paragraph with
    cell separators) already seen on an earlier page is dropped."""
    seen: set[str] = set()
    out = []
    for page in pages:
        paras = page.split("\n\n")
        keep = [p for p in paras if _ROW_SEP not in p or p.strip() not in seen]
        seen.update(p.strip() for p in paras if _ROW_SEP in p)
        out.append("\n\n".join(keep))
    return out
