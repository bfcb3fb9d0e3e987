"""Running headers, footers and page numbers of PDF pages.

A line that sits at the top or bottom of most pages (digits aside: "Trang 3", "Công báo số 12")
is page furniture, not content: kept once where it first appears (a table header repeated on
every page still tells what the columns are), dropped from the other pages. Page numbers are
numbers at the top or bottom of pages that follow the page order, including numbers glued to
the end of the last line ("…năm 2025. 2").
"""

from __future__ import annotations

import re
from collections import Counter

from ...vi.text import squash_spaces

_TOP, _BOTTOM = 6, 4  # lines looked at on each edge of a page
_NUM_LINE_RE = re.compile(r"^[-–\s]*(?:trang|page)?\s*(\d{1,4})\s*(?:/\s*\d{1,4})?[-–\s]*$", re.IGNORECASE)
_GLUED_NUM_RE = re.compile(r"^(.*\S)\s+(\d{1,4})\s*$")


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", squash_spaces(line.lower()))


def _edges(lines: list[str]) -> list[int]:
    idx = [i for i, x in enumerate(lines) if x.strip()]
    return sorted(set(idx[:_TOP] + idx[-_BOTTOM:]))


def _page_number_offset(pages_lines: list[list[str]]) -> int | None:
    """The constant (printed number − page index) most pages agree on, if any."""
    offsets: Counter[int] = Counter()
    for i, lines in enumerate(pages_lines, 1):
        seen = set()
        for j in _edges(lines):
            m = _NUM_LINE_RE.match(lines[j]) or _GLUED_NUM_RE.match(lines[j])
            if m:
                seen.add(int(m.group(m.lastindex or 1)) - i)
        offsets.update(seen)
    with_text = sum(1 for lines in pages_lines if any(x.strip() for x in lines))
    if not offsets or with_text < 2:
        return None
    off, n = offsets.most_common(1)[0]
    return off if n >= max(2, with_text // 2) else None


def remove_furniture(pages: list[str]) -> list[str]:
    """Pages without repeated headers/footers (after their first appearance) and page numbers."""
    pages_lines = [p.split("\n") for p in pages]
    with_text = [i for i, lines in enumerate(pages_lines) if any(x.strip() for x in lines)]
    if len(with_text) < 2:
        return pages
    offset = _page_number_offset(pages_lines)
    counts: Counter[str] = Counter()
    for lines in pages_lines:
        counts.update({_key(lines[j]) for j in _edges(lines)})
    need = max(3, (len(with_text) + 1) // 2) if len(with_text) >= 3 else 2
    repeated = {k for k, n in counts.items() if n >= need and re.search(r"[^\W\d_]", k)}
    seen: set[str] = set()
    out = []
    for i, lines in enumerate(pages_lines, 1):
        edges = set(_edges(lines))
        kept = []
        for j, line in enumerate(lines):
            if j in edges:
                if offset is not None:
                    m = _NUM_LINE_RE.match(line)
                    if m and int(m.group(1)) - i == offset:
                        continue
                    g = _GLUED_NUM_RE.match(line)
                    if g and int(g.group(2)) - i == offset and j == max(edges):
                        line = g.group(1)
                k = _key(line)
                if k in repeated:
                    if k in seen:
                        continue
                    seen.add(k)
            kept.append(line)
        out.append("\n".join(kept))
    return out
