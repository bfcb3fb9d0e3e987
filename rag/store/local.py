"""`rag.store.base.Store` over the local versioned folder of files (rag/store/index.py).

The default store, unchanged on disk: each write is a new version swapped in atomically, which
rewrites the whole index (the local store is meant for one machine and one writer; `rag index`
batches its documents into one such write through store/build.py, this adapter is the per-document
protocol the contract tests and the PostgreSQL comparison use).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import IndexStateError
from ..types import Chunk, SearchFilter
from . import index as idx
from .base import Scored, Snapshot


class LocalStore:
    def __init__(self, index_dir: Path, model_id: str, dim: int, backend: str = "",
                 chunking: dict | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.model_id, self.dim, self.backend = model_id, dim, backend
        self.chunking = chunking or {}
        self._loaded: idx.LoadedIndex | None = None

    def _index(self) -> idx.LoadedIndex | None:
        """The current version, reloaded when another write swapped it."""
        version = idx.current_version(self.index_dir)
        if version is None:
            return None
        if self._loaded is None or self._loaded.path != version:
            self._loaded = idx.load_version(version)
            if self._loaded.meta.model_id != self.model_id:
                raise IndexStateError(f"Chỉ mục được xây bằng mô hình khác / index was built with "
                                      f"'{self._loaded.meta.model_id}', not '{self.model_id}'")
        return self._loaded

    def _write(self, documents: dict[str, idx.DocumentRecord], chunks: list[Chunk], vectors: np.ndarray) -> None:
        meta = idx.IndexMeta(model_id=self.model_id, backend=self.backend, dim=self.dim,
                             chunking=self.chunking, documents=documents)
        idx.write_index(self.index_dir, meta, chunks, vectors.reshape(len(chunks), self.dim))
        self._loaded = None

    def put_document(self, doc_id: str, record: idx.DocumentRecord, chunks: Sequence[Chunk],
                     vectors: np.ndarray) -> None:
        with idx.build_lock(self.index_dir):
            old = self._index()
            documents = dict(old.meta.documents) if old else {}
            documents[doc_id] = record
            new_vectors = np.asarray(vectors, dtype=np.float32).reshape(len(chunks), self.dim)
            by_doc: dict[str, tuple[list[Chunk], list[np.ndarray]]] = {}
            if old:
                for c, v in zip(old.chunks, np.asarray(old.vectors)):
                    by_doc.setdefault(c.doc_id, ([], []))
                    by_doc[c.doc_id][0].append(c)
                    by_doc[c.doc_id][1].append(v)
            by_doc[doc_id] = (list(chunks), list(new_vectors))
            order = [(c, v) for d in documents for c, v in zip(*by_doc.get(d, ([], [])))]
            self._write(documents, [c for c, _ in order],
                        np.array([v for _, v in order], dtype=np.float32).reshape(len(order), self.dim))

    def delete_document(self, doc_id: str) -> bool:
        with idx.build_lock(self.index_dir):
            old = self._index()
            if old is None or doc_id not in old.meta.documents:
                return False
            keep = [i for i, c in enumerate(old.chunks) if c.doc_id != doc_id]
            documents = {d: r for d, r in old.meta.documents.items() if d != doc_id}
            self._write(documents, [old.chunks[i] for i in keep], np.asarray(old.vectors)[keep])
            return True

    def documents(self) -> dict[str, idx.DocumentRecord]:
        old = self._index()
        return dict(old.meta.documents) if old else {}

    def version(self) -> str:
        version = idx.current_version(self.index_dir)
        return version.name if version else ""

    def wait_for_change(self, since: str, timeout: float) -> str | None:
        """Polls CURRENT (one small file) every 50 ms: the local store has no one to notify it."""
        deadline = time.monotonic() + timeout
        while True:
            now = self.version()
            if now != since:
                return now
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def dense_top(self, query: np.ndarray, k: int, flt: SearchFilter | None = None) -> list[Scored]:
        index = self._index()
        if index is None or not index.chunks:
            return []
        n = len(index.chunks) if flt else min(k, len(index.chunks))
        scores, ids = index.dense.search(np.asarray(query, dtype=np.float32).reshape(1, -1), n)
        hits = [Scored(index.chunks[int(i)], float(s), int(i)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        return [h for h in hits if flt is None or _allows(flt, index, h.chunk)][:k]

    def lexical_top(self, terms: Sequence[str], k: int, flt: SearchFilter | None = None) -> list[Scored]:
        index = self._index()
        if index is None or not index.chunks:
            return []
        known = [t for t in terms if t in index.bm25.vocab_dict]
        if not known:
            return []
        scores = np.asarray(index.bm25.get_scores(known), dtype=np.float64)
        order = np.argsort(-scores, kind="stable")
        out = []
        for i in order:
            c = index.chunks[int(i)]
            if scores[i] <= 0 or len(out) == k:
                break
            if flt is None or _allows(flt, index, c):
                out.append(Scored(c, float(scores[i]), int(i)))
        return out

    def snapshot(self) -> Snapshot:
        index = self._index()
        if index is None:
            return Snapshot("", self.model_id, {}, [], np.zeros((0, self.dim), dtype=np.float32))
        return Snapshot(index.path.name, index.meta.model_id, dict(index.meta.documents), list(index.chunks),
                        np.asarray(index.vectors))


def _allows(flt: SearchFilter, index: idx.LoadedIndex, chunk: Chunk) -> bool:
    """The filter on a passage, with its document's collection from the version's records."""
    rec = index.meta.documents.get(chunk.doc_id)
    return flt.allows(chunk.doc_id, chunk.date, rec.collection if rec is not None else None)
