"""The e5 similarity of a question with each answer unit of its retrieved passages.

Unit vectors come from the index (rag/store/units.py), so answering embeds nothing but the
question — and the question vector is the one retrieval already computed (`query_vector` is
memoized there). A passage without stored unit vectors (an index written before they existed,
an index rebuilt from a shared store's snapshot) has its units embedded on first use and kept
in a small cache: the same numbers, only slower the first time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from ..embedders.base import Embedder
from ..store.index import LoadedIndex
from ..store.units import unit_texts
from ..types import Chunk


class UnitSimilarity:
    """`index`: a local index version (its stored unit vectors); None for a store read in place,
    whose passages get their units embedded on first use."""

    def __init__(self, index: LoadedIndex | None, embedder: Embedder, query_vector: Callable[[str], np.ndarray],
                 cache_size: int = 2048) -> None:
        self.index = index
        self.embedder = embedder
        self.query_vector = query_vector
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def unit_vectors(self, chunk: Chunk) -> np.ndarray:
        if self.index is not None and self.index.units is not None:
            i = self.index.chunks.position(chunk.chunk_id)
            if i is not None:
                return self.index.units.of(i)
        with self._lock:
            got = self._cache.get(chunk.chunk_id)
            if got is not None:
                self._cache.move_to_end(chunk.chunk_id)
                return got
        texts = unit_texts(chunk)
        got = (self.embedder.embed_passages(texts).astype(np.float16).astype(np.float32) if texts
               else np.zeros((0, self.embedder.dim), np.float32))
        with self._lock:
            self._cache[chunk.chunk_id] = got
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return got

    def __call__(self, question: str, chunks: list[Chunk]) -> list[np.ndarray]:
        """Per passage, the cosine of `question` (as retrieval embedded it) with each unit."""
        q = np.asarray(self.query_vector(question), dtype=np.float32).reshape(-1)
        return [self.unit_vectors(c) @ q for c in chunks]
