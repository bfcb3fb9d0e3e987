"""The records that flow between pipeline stages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Protocol, runtime_checkable


@dataclass
class Document:
    """One source file after ingest and cleaning.

    `text` is the cleaned text that chunks point into; offsets in chunks refer to it.
    `pages` holds (start offset, page number) pairs for PDFs so chunks know their page.
    """

    doc_id: str
    source: str
    text: str
    title: str = ""
    date: str | None = None
    pages: list[tuple[int, int]] = field(default_factory=list)
    content_hash: str = ""
    ocr_pages: list[int] = field(default_factory=list)  # pages whose text came from OCR
    doc_number: str | None = None  # legal header fields (rag.ingest.legal_meta): "33/2022/NQ-HĐND"
    doc_type: str | None = None  # "Nghị quyết"
    issuer: str | None = None  # "HỘI ĐỒNG NHÂN DÂN TỈNH CAO BẰNG"


@dataclass
class Chunk:
    """A retrievable passage with provenance; `text == document.text[start:end]`."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    date: str | None
    paragraph: int
    start: int
    end: int
    text: str
    page: int | None = None
    ocr: bool = False  # read by OCR from a scan: quotes may carry recognition errors
    doc_number: str | None = None
    doc_type: str | None = None
    issuer: str | None = None
    also_in: list[str] = field(default_factory=list)  # other files with the same document

    def to_dict(self) -> dict:
        return asdict(self)


@runtime_checkable
class Passages(Protocol):
    """An index's passages as the answerer reads them: by position, by id, by document. A loaded
    index gives `rag.store.chunk_table.ChunkTable`, which decodes a passage only when it is read."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: int) -> Chunk: ...

    def position(self, chunk_id: str) -> int | None:
        """Where the passage with this id is, or None."""

    def doc_positions(self, doc_id: str) -> Sequence[int]:
        """Positions of a document's passages, in index order."""


@dataclass
class Hit:
    """A chunk returned by retrieval, with its fused score and the per-retriever ranks."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    cosine: float | None = None  # e5 cosine of question and chunk: how close, not just how ranked


#: the collection every document belongs to unless put in another; readable by every account
DEFAULT_COLLECTION = "chung"


@dataclass
class SearchFilter:
    """Restrict a search to some documents, a date range (ISO dates, inclusive) and/or the
    collections a user may read (issue #14: enforced by every store's search, not by callers).

    `collections=None` means no restriction. With a set, a passage whose collection is not given
    (`collection=None`: a caller that does not know it) is refused: a forgotten call site hides a
    document instead of showing it to someone who may not read it."""

    doc_ids: set[str] | None = None
    date_from: str | None = None
    date_to: str | None = None
    collections: set[str] | None = None

    def allows(self, doc_id: str, date: str | None, collection: str | None = None) -> bool:
        if self.doc_ids is not None and doc_id not in self.doc_ids:
            return False
        if self.collections is not None and (collection is None or collection not in self.collections):
            return False
        if self.date_from and (date is None or date < self.date_from):
            return False
        if self.date_to and (date is None or date > self.date_to):
            return False
        return True

    def within(self, collections: set[str] | frozenset[str] | None) -> SearchFilter:
        """This filter further restricted to `collections` (None: no further restriction)."""
        if collections is None:
            return self
        mine = set(collections) if self.collections is None else self.collections & set(collections)
        return SearchFilter(self.doc_ids, self.date_from, self.date_to, mine)


def restrict(flt: SearchFilter | None, collections: set[str] | frozenset[str] | None) -> SearchFilter | None:
    """`flt` limited to the readable `collections`; None when neither restricts anything."""
    if collections is None:
        return flt
    return (flt or SearchFilter()).within(collections)


@dataclass
class Citation:
    """A passage as the answer cites it: the chunk's provenance under the names of the `rag ask
    --json` contract (`doc` is the chunk's `source`), the quoted sentence and the score."""

    n: int
    doc: str
    title: str
    date: str | None
    chunk_id: str
    text: str
    quote: str
    score: float
    page: int | None = None
    ocr: bool = False
    doc_number: str | None = None
    doc_type: str | None = None
    issuer: str | None = None
    also_in: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, n: int, hit: Hit, quote: str = "") -> Citation:
        """Every field the chunk has under the same name is copied, so a provenance field added
        to both records needs no code here."""
        c = hit.chunk
        shared = {f.name: getattr(c, f.name) for f in fields(cls) if f.name in _CHUNK_FIELDS}
        return cls(n=n, doc=c.source, quote=quote, score=hit.score,
                   **{**shared, "also_in": list(c.also_in)})


_CHUNK_FIELDS = {f.name for f in fields(Chunk)}


@dataclass
class Answer:
    question: str
    answer: str
    found: bool
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)
    rewritten_question: str | None = None
    confidence: float = 0.0  # the answerer's support score in [0, 1]
    answerer: str = "extractive"  # "llm", or "extractive-fallback" when the LLM's answer was rejected
    fallback_reason: str | None = None  # why the LLM's answer was not used (one line)
    value: str | None = None  # the number, date or name the quote gives, when one was extracted

    def to_json_dict(self) -> dict:
        """The stable `rag ask --json` contract (see README)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "found": self.found,
            "citations": [_citation_dict(c) for c in self.citations],
            "related": [_citation_dict(c) for c in self.related],
            # additive keys (issue #5)
            "answerer": self.answerer,
            **({"fallback_reason": self.fallback_reason} if self.fallback_reason else {}),
            **({"value": self.value} if self.value else {}),  # additive (issue #12)
        }


def _citation_dict(c: Citation) -> dict:
    """The fields in declaration order: n … page are the stable contract, the rest additive
    (issue #7)."""
    return {**asdict(c), "score": round(float(c.score), 6)}
