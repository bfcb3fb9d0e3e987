"""Choose the store from the settings: the local folder of files, or a PostgreSQL server."""

from __future__ import annotations

from ..config import Settings
from .base import Store


def open_store(settings: Settings, model_id: str, dim: int, backend: str = "") -> Store:
    """`settings.store` empty: the local index under `settings.index_dir`; a postgresql:// URL:
    that database (the schema is created on first use), its searches on `settings.store_read`
    when a read replica is given."""
    if settings.store:
        from .postgres import PostgresStore

        return PostgresStore(settings.store, model_id, dim, settings.store_read)
    from .local import LocalStore

    return LocalStore(settings.index_dir, model_id, dim, backend,
                      {"max_tokens": settings.max_chunk_tokens, "min_chars": settings.min_chunk_chars})
