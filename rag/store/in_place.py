"""A store read in place: what a question needs, asked of the database, never the whole corpus.

The query path of the PostgreSQL store (#13). The retriever asks the store for each retriever's
top passages (`dense_top`: HNSW; `lexical_top`: BM25 in SQL) and for the other score of the few
candidates, and fuses them with the same code as the local index (rag/search/retrieve.py). The
answerer reads the hits' neighbouring passages, documents and word weights through
`StoreContext`, and diacritics are restored from the vocabulary counts of just the question's
words (`StoreVocabulary`). So a process holds no passage, vector or vocabulary of the corpus,
which can outgrow one machine's RAM; per question it costs a few small queries.

`StoreIndex` stands where a loaded local version stands in `pipeline.Loaded`: its version, its
documents, its vocabulary and abbreviations; every passage (`chunks`) is loaded on first use only
for a caller that lists them all (the eval's articles), and the UI's check of past citations
reads just their ids (`chunk_ids`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from math import log
from pathlib import Path
from typing import Protocol

import numpy as np

from ..types import Chunk
from ..vi.vocab import Vocabulary, lexicon_counts
from .base import Store
from .index import DocumentRecord, IndexMeta


class InPlaceStore(Store, Protocol):
    """The reads beyond `Store` that a store read in place answers (rag/store/postgres.py)."""

    def passage_scores(self, ids: Sequence[int], terms: Sequence[str], query: np.ndarray
                       ) -> dict[int, tuple[float, float]]: ...

    def previous_texts(self, chunks: Sequence[Chunk]) -> dict[str, str]: ...

    def document_texts(self, doc_ids: Sequence[str]) -> dict[str, str]: ...

    def term_frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]: ...

    def vocabulary_counts(self, grams: Sequence[str]) -> dict[str, dict[str, int]]: ...

    def abbreviations(self) -> dict[str, str]: ...

    def chunks(self) -> list[Chunk]: ...

    def chunk_ids(self) -> set[str]: ...


#: passages' neighbours and words' weights a `StoreContext` keeps before starting over
CACHE_MAX = 100_000


class StoreVocabulary:
    """`Vocabulary.restore` over the store's counts: the question's 1-3 word grams are fetched
    (one query) and merged with the general lexicon as `Vocabulary.build` merges them."""

    def __init__(self, store: InPlaceStore) -> None:
        self.store = store

    def restore(self, text: str, beam: int = 64) -> str:
        keys = Vocabulary.keys_for(text)
        counts = self.store.vocabulary_counts(sorted(keys))
        lexicon = lexicon_counts()
        grams: dict[str, dict[str, int]] = {}
        for key in keys:
            forms = dict(counts.get(key, {}))
            for form, n in lexicon.get(key, {}).items():
                forms[form] = forms.get(form, 0) + n
            if forms:
                grams[key] = forms
        return Vocabulary(grams).restore(text, beam)


class StoreContext:
    """`rag.answerers.base.CorpusContext` from the store, per index version (what it caches
    stays true until the version changes, and a new version gets a new context)."""

    def __init__(self, store: InPlaceStore) -> None:
        self.store = store
        self._prev: dict[str, str] = {}
        self._docs: dict[str, str] = {}
        self._idf: dict[str, float | None] = {}

    def prefetch(self, chunks: Sequence[Chunk], terms: Sequence[str]) -> None:
        """One query each for the passages before `chunks`, their documents and the terms' weights."""
        if len(self._prev) > CACHE_MAX or len(self._idf) > CACHE_MAX:  # a long-lived reader of a big corpus
            self._prev.clear()
            self._idf.clear()
        todo = [c for c in chunks if c.chunk_id not in self._prev]
        if todo:
            found = self.store.previous_texts(todo)
            self._prev.update({c.chunk_id: found.get(c.chunk_id, "") for c in todo})
        docs = sorted({c.doc_id for c in chunks} - set(self._docs))
        if docs:
            self._remember_docs(self.store.document_texts(docs))
        words = sorted({t for t in terms if t not in self._idf})
        if words:
            n, df = self.store.term_frequencies(words)
            self._idf.update({t: (log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) if t in df else None)
                              for t in words})

    def _remember_docs(self, texts: dict[str, str]) -> None:
        if len(self._docs) > 256:  # documents can be long: keep the recent ones
            self._docs.clear()
        self._docs.update(texts)

    def previous_text(self, chunk: Chunk) -> str:
        if chunk.chunk_id not in self._prev:
            self.prefetch([chunk], [])
        return self._prev[chunk.chunk_id]

    def document_text(self, chunk: Chunk) -> str:
        if chunk.doc_id not in self._docs:
            self._remember_docs(self.store.document_texts([chunk.doc_id]))
        return self._docs.get(chunk.doc_id, chunk.text)

    def idf(self, term: str) -> float | None:
        if term not in self._idf:
            self.prefetch([], [term])
        return self._idf[term]


class StoreIndex:
    """One version of a store read in place, in the role of a loaded local version."""

    def __init__(self, store: InPlaceStore, version: str, label: str, model_id: str, dim: int,
                 documents: dict[str, DocumentRecord]) -> None:
        self.store = store
        self.version = version
        self.path = Path(label)
        self.meta = IndexMeta(model_id=model_id, backend="", dim=dim, chunking={}, documents=documents,
                              n_chunks=sum(r.chunks for r in documents.values()))
        self.vocab = StoreVocabulary(store)
        self.abbreviations = store.abbreviations()

    @cached_property
    def chunks(self) -> list[Chunk]:
        """Every passage, loaded on first use (see the module's docstring)."""
        return self.store.chunks()

    def chunk_ids(self) -> set[str]:
        """The ids of every passage (the UI's check of past citations), without their text."""
        return self.store.chunk_ids()
