"""The embedder protocol and what every backend shares (rag/embedders/factory.py picks one)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


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


def normalize_rows(vecs: np.ndarray) -> np.ndarray:
    vecs = np.asarray(vecs, dtype=np.float32)
    norms = np.linalg.norm(vecs, axis=-1, keepdims=True)
    return vecs / np.maximum(norms, 1e-12)
