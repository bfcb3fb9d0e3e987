"""Hybrid retrieval: accent-folded BM25 + dense e5, fused by a weighted sum of normalized scores.

BM25 on folded tokens is strong on this kind of text (names, numbers, exact terms) and is
unaffected by missing diacritics; dense retrieval adds paraphrase and cross-language recall.
Unaccented questions get their diacritics restored from the corpus vocabulary before the dense
query, since e5 embeds unaccented Vietnamese poorly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .embedders.base import Embedder
from .index import LoadedIndex
from .query import QUESTION_WORDS, expand_english, is_english
from .text_vi import bm25_tokens, has_diacritics
from .types import Hit


@dataclass
class SearchFilter:
    """Restrict a search to some documents and/or a date range (ISO dates, inclusive)."""

    doc_ids: set[str] | None = None
    date_from: str | None = None
    date_to: str | None = None

    def allows(self, doc_id: str, date: str | None) -> bool:
        if self.doc_ids is not None and doc_id not in self.doc_ids:
            return False
        if self.date_from and (date is None or date < self.date_from):
            return False
        if self.date_to and (date is None or date > self.date_to):
            return False
        return True


def restore_if_unaccented(question: str, index: LoadedIndex) -> str:
    """Restore diacritics for Vietnamese typed without marks; leave other text alone."""
    if has_diacritics(question) or is_english(question):
        return question
    return index.vocab.restore(question)


def normalize(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the maximum; all-zero stays zero."""
    top = float(scores.max()) if scores.size else 0.0
    return scores / top if top > 0 else np.zeros_like(scores)


class HybridRetriever:
    def __init__(self, index: LoadedIndex, embedder: Embedder, dense_weight: float = 0.3,
                 candidates: int = 20) -> None:
        self.index = index
        self.embedder = embedder
        self.dense_weight = dense_weight
        self.candidates = candidates

    def bm25_scores(self, text: str) -> np.ndarray:
        tokens = [t for t in bm25_tokens(text) if t not in QUESTION_WORDS]
        vocab = self.index.bm25.vocab_dict
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return np.zeros(len(self.index.chunks), dtype=np.float32)
        return np.asarray(self.index.bm25.get_scores(tokens), dtype=np.float32)

    def dense_scores(self, text: str) -> np.ndarray:
        q = self.embedder.embed_query(text).astype(np.float32).reshape(1, -1)
        n = len(self.index.chunks)
        scores, ids = self.index.dense.search(q, n)
        out = np.zeros(n, dtype=np.float32)
        valid = ids[0] >= 0
        out[ids[0][valid]] = scores[0][valid]
        return out

    def search(self, question: str, k: int = 5, flt: SearchFilter | None = None,
               restored: str | None = None) -> list[Hit]:
        chunks = self.index.chunks
        if not chunks:
            return []
        text = restored if restored is not None else restore_if_unaccented(question, self.index)
        bm_text = expand_english(text) if is_english(question) else text
        bm = self.bm25_scores(bm_text)
        dense = self.dense_scores(text)
        # cosine scores of e5 sit in a narrow band (~0.7-0.9): stretch them over the candidates
        d = dense - float(np.min(dense))
        fused = (1 - self.dense_weight) * normalize(bm) + self.dense_weight * normalize(d)
        allowed = np.array([flt.allows(c.doc_id, c.date) if flt else True for c in chunks])
        fused = np.where(allowed, fused, -np.inf)
        order = [i for i in np.argsort(-fused, kind="stable") if np.isfinite(fused[i])][:k]
        bm_rank = _ranks(bm)
        dn_rank = _ranks(dense)
        return [Hit(chunks[i], float(fused[i]), dense_rank=dn_rank[i], bm25_rank=bm_rank[i])
                for i in order]


def _ranks(scores: np.ndarray) -> list[int]:
    ranks = np.empty(len(scores), dtype=int)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return ranks.tolist()


def chunk_texts(hits: Iterable[Hit]) -> list[str]:
    return [h.chunk.text for h in hits]
