"""The store protocol: where indexed documents, their passages and vectors live.

Two implementations: `local.LocalStore` over the versioned folder of files (the default, embedded)
and `postgres.PostgresStore` (PostgreSQL + pgvector, shared by many processes). Both keep the
same records and score lexical matches with the same BM25 over the same folded terms
(`rag.vi.text.bm25_terms`), so ranking — and the fusion, which stays in `search/` — is the same
whichever store holds the corpus. `tests/test_store_contract.py` runs one suite against both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..types import Chunk, SearchFilter
from .index import DocumentRecord

#: bm25s' defaults ("lucene" variant), which the local store's BM25 matrix was built with
BM25_K1, BM25_B = 1.5, 0.75


@dataclass
class Scored:
    """A passage and its score for one retriever (cosine for dense, BM25 for lexical)."""

    chunk: Chunk
    score: float
    pos: int = -1  # where the store keeps it (row id, index position): ties and later look-ups use it


@dataclass
class Snapshot:
    """The whole corpus at one version, in document order: what an in-memory index is built from."""

    version: str
    model_id: str
    documents: dict[str, DocumentRecord]
    chunks: list[Chunk]
    vectors: np.ndarray  # float32, one row per chunk, L2-normalized


class Store(Protocol):
    """Writes are per document and atomic: after `put_document` or `delete_document` returns,
    every reader sees the whole change; if the writer dies first, none of it."""

    def put_document(self, doc_id: str, record: DocumentRecord, chunks: Sequence[Chunk],
                     vectors: np.ndarray) -> None:
        """Add the document, or replace all its passages if it is already there."""
        ...

    def delete_document(self, doc_id: str) -> bool:
        """Remove the document and its passages; False when it was not there."""
        ...

    def documents(self) -> dict[str, DocumentRecord]:
        """The indexed documents, in the order they were first added."""
        ...

    def dense_top(self, query: np.ndarray, k: int, flt: SearchFilter | None = None) -> list[Scored]:
        """The `k` passages nearest to the normalized query vector (cosine), best first."""
        ...

    def lexical_top(self, terms: Sequence[str], k: int, flt: SearchFilter | None = None) -> list[Scored]:
        """The `k` passages with the highest BM25 score for the folded `terms` (a repeated term
        counts again, as in the local BM25 matrix), best first; passages scoring 0 are left out."""
        ...

    def version(self) -> str:
        """Changes whenever a write commits: a reader compares it to decide whether to reload."""
        ...

    def wait_for_change(self, since: str, timeout: float) -> str | None:
        """Block until the version differs from `since` or `timeout` seconds pass; the new
        version, or None."""
        ...

    def snapshot(self) -> Snapshot:
        """Every document, passage and vector at one consistent version."""
        ...
