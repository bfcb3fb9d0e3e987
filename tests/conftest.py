"""Shared fixtures: no RAG_* variable of the developer's shell reaches a test; a deterministic
fake embedder and a tiny corpus for the fast unit tests.

Nothing here loads a real model: the fake embedder hashes accent-folded words into a fixed
number of buckets, so the same text always gives the same L2-normalized vector, texts sharing
words are close, and an unaccented question lands where its accented twin does.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from rag.config import Settings
from rag.vi.text import bm25_tokens


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the defaults of rag/config.py: RAG_INDEX_DIR, RAG_K, RAG_OCR… set
    in the shell running pytest are removed (a test sets what it needs with monkeypatch)."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)


class FakeEmbedder:
    """Implements rag.embedders.base.Embedder: hashed bag of folded words, L2-normalized."""

    backend = "fake"

    def __init__(self, dim: int = 128, model_id: str = "test/fake-hash-bow") -> None:
        self.dim = dim
        self.model_id = model_id
        self.passage_batches: list[list[str]] = []  # one entry per embed_passages call
        self.queries: list[str] = []

    @property
    def embedded_texts(self) -> list[str]:
        return [t for batch in self.passage_batches for t in batch]

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for tok in bm25_tokens(text):
            h = int(hashlib.md5(tok.encode("utf-8")).hexdigest(), 16)
            v[h % self.dim] += 1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm > 0 else v

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        self.passage_batches.append(list(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        self.queries.append(text)
        return self._vector(text)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


# ------------------------------------------------------------------ a tiny invented corpus

LAO_CAI = "\n".join([
    "Lào Cai đẩy mạnh cung cấp dịch vụ công trực tuyến",
    "Cập nhật: 10/05/2023 09:30",
    "Tính đến hết tháng 4, tỉnh Lào Cai tích hợp 1.305 dịch vụ công trực tuyến lên Cổng Dịch vụ công "
    "quốc gia, tăng 215 dịch vụ so với cuối năm trước.",
    "Tỷ lệ hồ sơ được giải quyết trực tuyến toàn trình của tỉnh đạt 58,2%, cao hơn mức bình quân của các "
    "tỉnh miền núi phía Bắc.",
    "Thời gian tới, tỉnh tiếp tục hướng dẫn người dân sử dụng tài khoản định danh điện tử để nộp hồ sơ mà "
    "không phải đến trụ sở cơ quan nhà nước.",
]) + "\n"

QUOC_GIA = "\n".join([
    "Cổng Dịch vụ công quốc gia tiếp tục mở rộng",
    "Cập nhật: 02/03/2023 14:00",
    "Đến nay, Cổng Dịch vụ công quốc gia đã cung cấp 3.552 dịch vụ công trực tuyến cho người dân và "
    "doanh nghiệp trên cả nước.",
    "Cổng đã kết nối với cơ sở dữ liệu quốc gia về dân cư để xác thực tài khoản của người dùng khi nộp hồ "
    "sơ và thanh toán phí, lệ phí.",
]) + "\n"

DA_NANG = "\n".join([
    "Đà Nẵng phát triển kinh tế số",
    "Cập nhật: 15/11/2022 07:45",
    "Năm 2022, kinh tế số của thành phố Đà Nẵng đóng góp khoảng 16,5% vào tổng sản phẩm trên địa bàn, "
    "theo báo cáo của Sở Thông tin và Truyền thông.",
    "Thành phố đặt mục tiêu có 81,7% doanh nghiệp nhỏ và vừa sử dụng nền tảng số trong quản trị vào cuối "
    "năm 2025.",
]) + "\n"

CORPUS = {"lao_cai.txt": LAO_CAI, "quoc_gia.txt": QUOC_GIA, "da_nang.txt": DA_NANG}


def write_files(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture
def make_corpus(tmp_path: Path) -> Callable[..., Path]:
    """make_corpus() → the standard three-document folder; make_corpus({name: text}, name=...)."""

    def _make(files: dict[str, str | bytes] | None = None, name: str = "corpus") -> Path:
        return write_files(tmp_path / name, CORPUS if files is None else files)

    return _make


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    """Settings pointing at a corpus folder, with the index under tmp_path and no progress bars."""

    def _settings(corpus: Path, **kw: object) -> Settings:
        return Settings(corpus=corpus, index_dir=tmp_path / "index", show_progress=False, **kw)

    return _settings


@pytest.fixture
def rag_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_corpus, fake_embedder) -> SimpleNamespace:
    """A user's environment for the CLI and the UI, inside tmp_path: RAG_CORPUS (the standard
    corpus), RAG_INDEX_DIR, RAG_FEEDBACK_DB, no progress bars, and the fake embedder behind every
    Pipeline they build."""
    corpus = make_corpus()
    values = {"RAG_CORPUS": corpus, "RAG_INDEX_DIR": tmp_path / "index",
              "RAG_FEEDBACK_DB": tmp_path / "feedback.sqlite3", "RAG_SHOW_PROGRESS": "0"}
    for name, value in values.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setattr("rag.pipeline.load_embedder", lambda settings: fake_embedder)
    return SimpleNamespace(tmp=tmp_path, corpus=corpus, index=tmp_path / "index", embedder=fake_embedder)


@pytest.fixture
def built_index(make_corpus, settings_for, fake_embedder):
    """The standard corpus indexed with the fake embedder: (settings, loaded index, embedder)."""
    from rag.store.build import build
    from rag.store.index import load_index

    settings = settings_for(make_corpus())
    build(settings, fake_embedder)
    return settings, load_index(settings.index_dir), fake_embedder


def free_port() -> int:
    """A loopback port nobody listens on now, for a server a test starts (rag serve, rag ui, LLM)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen) -> None:
    """Stop a server a test started (`rag ui` execs Streamlit, so its pid is the server itself):
    terminate, and kill it if it has not exited after 15 s."""
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
