"""Document → Chunks by paragraph.

Tiny paragraphs (headings, one-liners) are merged into the next one so they carry context;
over-long ones are split at sentence boundaries to stay under the model's token limit.
Each chunk is an exact slice of the document text, so quotes are verbatim.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable
from pathlib import Path

from ..types import Chunk, Document
from ..vi.text import split_sentences
from .clean import Paragraph, clean, content_hash
from .files import RawFile
from .legal_meta import MOTTO_RE, parse_legal_meta

PARA_SEP = "\n\n"


def estimate_tokens(text: str) -> int:
    """XLM-R pieces per Vietnamese text: measured ≈ 1 per 3 characters on the seeds; errs high."""
    return len(text) // 3 + 2


def build_document(raw: RawFile, doc_id: str | None = None) -> Document:
    """Clean a raw file and lay its paragraphs out as one text with page offsets."""
    cleaned = clean(raw.pages, raw.is_pdf)
    text, pages, offset = [], [], 0
    for p in cleaned.paragraphs:
        if p.page is not None and (not pages or pages[-1][1] != p.page):
            pages.append((offset, p.page))
        text.append(p.text)
        offset += len(p.text) + len(PARA_SEP)
    body = PARA_SEP.join(text)
    meta = parse_legal_meta("\n".join(raw.pages))  # raw lines: the header block is still intact
    title = cleaned.title
    if _is_header_line(title) and (legal_title := meta.title()):
        title = legal_title
    return Document(
        doc_id=doc_id or Path(raw.path).name,
        source=Path(raw.path).name,
        text=body,
        title=title,
        date=cleaned.date or meta.issued,
        pages=pages,
        content_hash=content_hash(body),
        ocr_pages=list(getattr(raw, "ocr_pages", [])),
        doc_number=meta.doc_number,
        doc_type=meta.doc_type,
        issuer=meta.issuer,
    )


def _is_header_line(title: str) -> bool:
    """A legal document's first line is its header block ("BỘ Y TẾ", "UỶ BAN NHÂN DÂN …",
    "Quyết định"), not a title; a news article's first line is a headline worth keeping."""
    return not title or title.isupper() or len(title.split()) <= 3 or bool(MOTTO_RE.search(title))


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for part in text.split(PARA_SEP):
        if part.strip():
            spans.append((pos, pos + len(part)))
        pos += len(part) + len(PARA_SEP)
    return spans


def _split_long(text: str, start: int, end: int, max_tokens: int,
                count: Callable[[str], int]) -> list[tuple[int, int]]:
    """Greedy packing of whole sentences into pieces under `max_tokens`."""
    pieces: list[tuple[int, int]] = []
    cur_s: int | None = None
    cur_e = start
    for s, e in split_sentences(text[start:end]):
        s, e = s + start, e + start
        if cur_s is not None and count(text[cur_s:e]) > max_tokens:
            pieces.append((cur_s, cur_e))
            cur_s = None
        if cur_s is None:
            cur_s = s
        cur_e = e
    if cur_s is not None:
        pieces.append((cur_s, cur_e))
    return pieces


def _page_at(doc: Document, offset: int) -> int | None:
    """The page holding `offset`: a binary search, as it is asked for every paragraph (a scan of
    the page list made chunking a 3,000-page PDF quadratic)."""
    i = bisect.bisect_right(doc.pages, offset, key=lambda p: p[0]) - 1
    return doc.pages[i][1] if i >= 0 else None


def chunk_document(doc: Document, max_tokens: int = 350, min_chars: int = 120,
                   count: Callable[[str], int] = estimate_tokens) -> list[Chunk]:
    """Paragraph chunks with provenance. `min_chars` merges short paragraphs forward."""
    spans = _paragraph_spans(doc.text)
    merged: list[tuple[int, int, int]] = []  # (start, end, first paragraph number)
    pending: tuple[int, int] | None = None  # a short paragraph waiting to join the next one
    for i, (s, e) in enumerate(spans):
        start, first = s, i + 1
        if pending is not None:
            if _page_at(doc, pending[0]) == _page_at(doc, s):
                start, first = pending
            else:  # never merge across a page break: a citation names one page
                merged.append((pending[0], spans[pending[1] - 1][1], pending[1]))
            pending = None
        short = e - start < min_chars
        page = _page_at(doc, start)
        if short and i + 1 < len(spans) and _page_at(doc, spans[i + 1][0]) == page:
            pending = (start, first)
        elif short and merged and _page_at(doc, merged[-1][0]) == page:
            ps, _, pn = merged.pop()  # a short last paragraph joins the previous chunk
            merged.append((ps, e, pn))
        else:
            merged.append((start, e, first))

    chunks: list[Chunk] = []
    for s, e, n in merged:
        pieces = [(s, e)] if count(doc.text[s:e]) <= max_tokens else _split_long(
            doc.text, s, e, max_tokens, count)
        for ps, pe in pieces:
            text = doc.text[ps:pe]
            cid = hashlib.sha256(f"{doc.doc_id}\x00{text}".encode()).hexdigest()[:16]
            page = _page_at(doc, ps)
            chunks.append(Chunk(
                chunk_id=cid, doc_id=doc.doc_id, source=doc.source, title=doc.title,
                date=doc.date, paragraph=n, start=ps, end=pe, text=text, page=page,
                ocr=page is not None and page in doc.ocr_pages, doc_number=doc.doc_number,
                doc_type=doc.doc_type, issuer=doc.issuer,
            ))
    return chunks



__all__ = ["Paragraph", "build_document", "chunk_document", "estimate_tokens"]
