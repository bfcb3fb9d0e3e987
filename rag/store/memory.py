"""A `LoadedIndex` built in memory from a store's snapshot: the query path of a non-local store.

The retriever and the extractive answerer read a `LoadedIndex` (passages, BM25, vectors, the
vocabulary that restores diacritics, corpus abbreviations); building it from the store's
passages with the same code as a local version gives the same rankings and answers. Each process
holds the corpus in RAM this way — the query path that asks the store for its top-k
(`Store.dense_top` / `lexical_top`) instead is the next step for corpora past one machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..types import Chunk
from ..vi.abbreviations import learn as learn_abbreviations
from ..vi.vocab import Vocabulary
from . import index as idx
from .base import Snapshot
from .chunk_table import ChunkTable
from .search_backends import ExactDense


class _BM25:
    """bm25s' in-memory scores behind the interface of `search_backends.BM25Matrix`."""

    def __init__(self, corpus_tokens: list[list[str]]) -> None:
        import bm25s

        idx._quiet_bm25s()
        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus_tokens or [["_"]], show_progress=False)
        self.vocab_dict: dict[str, int] = self._bm25.vocab_dict
        self.num_docs = max(1, len(corpus_tokens))

    def get_scores(self, tokens: list[str]) -> np.ndarray:
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)


def load_snapshot(snap: Snapshot, label: str, dim: int) -> idx.LoadedIndex:
    """The snapshot as a loaded index; `label` names where it came from (its `path`)."""
    chunks: list[Chunk] = snap.chunks
    vectors = np.ascontiguousarray(snap.vectors, dtype=np.float32).reshape(len(chunks), dim)
    corpus_tokens = idx.bm25_corpus_tokens(chunks)
    df: dict[str, int] = {}
    for toks in corpus_tokens:
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    dense_type = idx.choose_dense_type(len(chunks))
    dense = ExactDense(vectors) if dense_type == "flat" else \
        idx.dense_searcher(idx.build_dense(vectors, dense_type), vectors, dense_type)
    # the vocabulary and abbreviations round-trip through JSON as a local version's files do
    vocab = Vocabulary.from_dict(json.loads(json.dumps(Vocabulary.build(c.text for c in chunks).to_dict())))
    meta = idx.IndexMeta(model_id=snap.model_id, backend="", dim=dim, chunking={}, documents=snap.documents,
                         dense_type=dense_type, n_chunks=len(chunks))
    return idx.LoadedIndex(Path(label), meta, ChunkTable.from_chunks(chunks), dense, _BM25(corpus_tokens), vocab,
                           vectors, df, learn_abbreviations(c.text for c in chunks))
