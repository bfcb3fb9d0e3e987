"""The HTTP API (`rag serve`): FastAPI over one shared `Pipeline` per process."""

from .server import create_app

__all__ = ["create_app"]
