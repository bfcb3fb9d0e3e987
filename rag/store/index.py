"""The on-disk index: FAISS (dense) + bm25s (sparse) + chunk metadata + vocabulary.

Layout under `index_dir`:
    CURRENT            name of the live version folder (replaced atomically)
    v-<stamp>/         meta.json, chunks.jsonl, vectors.npy, dense.faiss, bm25/, vocab.json,
                       df.json, abbreviations.json
    .lock              held while building, so concurrent builders queue instead of clashing

A build writes a complete new version folder, then swaps CURRENT with os.replace: readers see
either the old index or the new one, never a half-written one, and a crash leaves the old one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IndexFormatError, IndexStateError
from ..types import Chunk
from ..vi.abbreviations import learn as learn_abbreviations
from ..vi.vocab import Vocabulary

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: BM25 terms include syllable pairs


def _quiet_bm25s() -> None:
    """bm25s sets its own logger to DEBUG, which floods any app that configures logging."""
    logging.getLogger("bm25s").setLevel(logging.WARNING)


@dataclass
class IndexMeta:
    model_id: str
    backend: str
    dim: int
    chunking: dict
    documents: dict[str, dict] = field(default_factory=dict)  # doc_id → path, hash, title...
    format_version: int = FORMAT_VERSION
    dense_type: str = "flat"  # "flat" (exact) or an approximate FAISS index, by corpus size
    created: str = ""
    n_chunks: int = 0


@dataclass
class LoadedIndex:
    """Everything a query needs, loaded once per process."""

    path: Path
    meta: IndexMeta
    chunks: list[Chunk]
    dense: object  # faiss.Index
    bm25: object  # search_backends.BM25Matrix
    vocab: Vocabulary
    vectors: np.ndarray
    df: dict[str, int] = field(default_factory=dict)  # BM25 token → number of chunks with it
    abbreviations: dict[str, str] = field(default_factory=dict)  # defined in the corpus: "CĐS" → …

    def idf(self) -> dict[str, float]:
        """BM25-style inverse document frequency of every indexed token."""
        import math

        n = len(self.chunks)
        return {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in self.df.items()}

    def chunk_ids(self) -> dict[str, int]:
        return {c.chunk_id: i for i, c in enumerate(self.chunks)}


# ------------------------------------------------------------------ locating versions

def current_version(index_dir: Path) -> Path | None:
    marker = index_dir / "CURRENT"
    if not marker.exists():
        return None
    path = index_dir / marker.read_text(encoding="utf-8").strip()
    return path if path.is_dir() else None


def exists(index_dir: Path) -> bool:
    index_dir = Path(index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexStateError(f"Đường dẫn chỉ mục không phải thư mục / index path is not a folder: {index_dir}")
    return current_version(index_dir) is not None


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ------------------------------------------------------------------ writing

def bm25_corpus_tokens(chunks: list[Chunk]) -> list[list[str]]:
    from ..vi.text import bm25_terms

    return [bm25_terms(f"{c.title}\n{c.text}") if c.paragraph == 1 else bm25_terms(c.text)
            for c in chunks]


#: Exact search up to this many chunks; above it, HNSW. bench/results/scale.md: exact search
#: costs ~16 ms at 10k, ~48 ms at 100k and ~280 ms at 1M chunks; HNSW (M=32, efConstruction=80)
#: needs efSearch=512 for recall@10 ≥ 0.95 at 1M (0.955, 2.2 ms p50; efSearch=64 gave 0.898).
EXACT_MAX_CHUNKS = 50_000
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 512


def choose_dense_type(n_chunks: int) -> str:
    return "flat" if n_chunks <= EXACT_MAX_CHUNKS else "hnsw"


def build_dense(vectors: np.ndarray, dense_type: str):
    """The FAISS inner-product index for normalized vectors: exact, or HNSW for large corpora."""
    import faiss

    dim = vectors.shape[1]
    if dense_type == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    if len(vectors):
        index.add(vectors)
    return index


def write_index(index_dir: Path, meta: IndexMeta, chunks: list[Chunk], vectors: np.ndarray) -> Path:
    """Write a new version folder and make it current atomically. Caller holds build_lock."""
    import bm25s
    import faiss

    _quiet_bm25s()
    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = index_dir / f".tmp-{stamp}"
    final = index_dir / f"v-{stamp}"
    tmp.mkdir()
    try:
        meta.n_chunks = len(chunks)
        meta.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(chunks), meta.dim)
        np.save(tmp / "vectors.npy", vectors)
        meta.dense_type = choose_dense_type(len(chunks))
        faiss.write_index(build_dense(vectors, meta.dense_type), str(tmp / "dense.faiss"))
        corpus_tokens = bm25_corpus_tokens(chunks)
        retriever = bm25s.BM25()
        retriever.index(corpus_tokens or [["_"]], show_progress=False)
        df: dict[str, int] = {}
        for toks in corpus_tokens:
            for t in set(toks):
                df[t] = df.get(t, 0) + 1
        (tmp / "df.json").write_text(json.dumps(df, ensure_ascii=False), encoding="utf-8")
        retriever.save(str(tmp / "bm25"), show_progress=False)
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for c in chunks:
                fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        vocab = Vocabulary.build(c.text for c in chunks)
        (tmp / "abbreviations.json").write_text(
            json.dumps(learn_abbreviations(c.text for c in chunks), ensure_ascii=False), encoding="utf-8")
        (tmp / "vocab.json").write_text(json.dumps(vocab.to_dict(), ensure_ascii=False), encoding="utf-8")
        (tmp / "meta.json").write_text(
            json.dumps(meta.__dict__, ensure_ascii=False, indent=1), encoding="utf-8")
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        os.rename(tmp, final)
        marker_tmp = index_dir / f".CURRENT-{stamp}"
        marker_tmp.write_text(final.name, encoding="utf-8")
        old = current_version(index_dir)
        os.replace(marker_tmp, index_dir / "CURRENT")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if current_version(index_dir) != final:  # the swap never happened: drop its pieces
            shutil.rmtree(final, ignore_errors=True)
            (index_dir / f".CURRENT-{stamp}").unlink(missing_ok=True)
        raise
    if old is not None and old != final:
        shutil.rmtree(old, ignore_errors=True)
    return final


# ------------------------------------------------------------------ reading

def read_meta(index_dir: Path) -> IndexMeta | None:
    version = current_version(Path(index_dir))
    if version is None:
        return None
    try:
        raw = json.loads((version / "meta.json").read_text(encoding="utf-8"))
        return IndexMeta(**raw)
    except (OSError, ValueError, TypeError) as e:
        raise IndexStateError(
            f"Chỉ mục hỏng / corrupt index at {version}: {e}. Chạy lại / rebuild: rag index --rebuild"
        ) from None


def load_index(index_dir: Path) -> LoadedIndex:
    """Load the current version; any damage becomes one IndexStateError with the fix.

    Nothing heavy is imported for an exact index: BM25 and the dense search read the saved
    arrays with numpy (see search_backends); faiss is loaded only for approximate indexes."""
    from .search_backends import BM25Matrix, ExactDense

    index_dir = Path(index_dir)
    version = current_version(index_dir)
    if version is None:
        raise IndexStateError(f"Chưa có chỉ mục / no index in {index_dir}: chạy / run `rag index`")
    meta = read_meta(index_dir)
    assert meta is not None
    if meta.format_version != FORMAT_VERSION:
        raise IndexFormatError(
            f"Chỉ mục định dạng cũ / index format {meta.format_version} ≠ {FORMAT_VERSION}: "
            "rag index --rebuild")
    try:
        chunks = [Chunk(**json.loads(line)) for line in
                  (version / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line]
        bm25 = BM25Matrix(version / "bm25")
        vocab = Vocabulary.from_dict(json.loads((version / "vocab.json").read_text(encoding="utf-8")))
        vectors = np.load(version / "vectors.npy", mmap_mode="r")
        if meta.dense_type == "flat":
            dense = ExactDense(vectors)
        else:
            import faiss

            dense = faiss.read_index(str(version / "dense.faiss"))
        df = json.loads((version / "df.json").read_text(encoding="utf-8"))
        abbr_file = version / "abbreviations.json"  # absent in indexes built before it existed
        abbreviations = json.loads(abbr_file.read_text(encoding="utf-8")) if abbr_file.exists() else {}
    except Exception as e:  # any unreadable part means the same thing to the user
        raise IndexStateError(
            f"Chỉ mục hỏng / corrupt index at {version} ({type(e).__name__}: {e}). "
            "Chạy lại / rebuild: rag index --rebuild") from None
    if len(chunks) != meta.n_chunks or dense.ntotal != len(chunks) or vectors.shape[0] != len(chunks):
        raise IndexStateError(
            f"Chỉ mục không nhất quán / inconsistent index at {version}: rag index --rebuild")
    return LoadedIndex(version, meta, chunks, dense, bm25, vocab, vectors, df, abbreviations)
