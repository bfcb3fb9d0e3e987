"""The on-disk index: FAISS (dense) + bm25s (sparse) + chunk metadata + vocabulary.

Layout under `index_dir`:
    CURRENT            the name of the live version folder, one line, nothing else
    v-<stamp>/         meta.json, chunks.jsonl (+ chunks.table.npz: offsets, ids, documents;
                       see chunk_table.py), vectors.npy, dense.faiss, bm25/, vocab.json,
                       df.json, abbreviations.json
    .lock              held while writing, so concurrent writers queue instead of clashing
    uploads/, feedback.sqlite3   the UI's, never touched here

A build writes a complete new version folder, fsyncs it, then swaps CURRENT (written to a temp
file, fsynced, renamed over, directory fsynced): readers see the old index or the new one, never a
half-written one, and a crash or power cut leaves the old one. CURRENT is only ever read as a
version name (`VERSION_NAME`) inside `index_dir`, never as a path, and only folders with such
names are ever deleted: a damaged marker is an error naming `rag index --repair`, which points it
at the newest version that verifies.

meta.json records each file's size and xxh3-128 hash (`files`); loading verifies the files it
reads (in full up to `FULL_VERIFY_MAX_BYTES`, a sampled hash above), `rag index --check` verifies
every byte. Indexes written before checksums existed load unverified.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import shutil
import time
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from ..errors import DiskFullError, IndexFormatError, IndexStateError
from ..types import DEFAULT_COLLECTION, Chunk
from ..vi.abbreviations import learn as learn_abbreviations
from ..vi.vocab import Vocabulary
from .chunk_table import TABLE_FILE, ChunkTable
from .units import FILES as UNIT_FILES
from .units import UnitVectors

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: BM25 terms include syllable pairs
MARKER = "CURRENT"
#: a version folder's name: v-<UTC stamp>-<pid>-<counter>; CURRENT must hold exactly one of these
VERSION_NAME = re.compile(r"v-\d{8}T\d{6}-\d{1,10}-\d{1,12}")
_LEFTOVER = re.compile(r"\.(tmp-|CURRENT-)\d{8}T\d{6}-\d{1,10}-\d{1,12}")
REPAIR_HINT = "sửa bằng / fix with: rag index --repair"


def _quiet_bm25s() -> None:
    """bm25s sets its own logger to DEBUG, which floods any app that configures logging."""
    logging.getLogger("bm25s").setLevel(logging.WARNING)


@dataclass
class DocumentRecord:
    """One indexed document. On disk: `meta.json` → "documents" → {doc_id: object with these
    keys}. Every key is written; a key missing when read (an index written before it existed)
    takes the default here, unknown keys are ignored, a missing "path" is a corrupt index."""

    path: str  # absolute path of the file it was read from
    source: str = ""  # the file's name, as cited
    title: str = ""
    date: str | None = None  # ISO date
    content_hash: str = ""  # of the cleaned text
    chunks: int = 0
    doc_number: str | None = None  # legal documents: "2093/QĐ-BYT"
    doc_type: str | None = None
    issuer: str | None = None
    ocr_pages: list[int] = field(default_factory=list)
    # near-duplicate detection (ingest.dedup): up to 3,001 hashes a document, held as 8 bytes
    # each (a list of Python ints took ~40 B a value: ~1 KB per passage of the seed documents)
    fingerprint: Sequence[int] = field(default_factory=lambda: array("Q"))
    also_in: list[str] = field(default_factory=list)  # other files holding the same text
    # who may read it (issue #14); records written before collections existed read as "chung"
    collection: str = DEFAULT_COLLECTION

    def __post_init__(self) -> None:
        if not isinstance(self.fingerprint, array):
            try:
                self.fingerprint = array("Q", self.fingerprint)
            except (OverflowError, TypeError) as e:
                raise ValueError(f"fingerprint of {self.path}: {e}") from None

    def to_json(self) -> dict:
        return {**asdict(self), "fingerprint": list(self.fingerprint)}

    @classmethod
    def from_json(cls, raw: object) -> DocumentRecord:
        if not isinstance(raw, dict) or not isinstance(raw.get("path"), str):
            raise ValueError(f"document record without a path: {str(raw)[:80]}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass
class IndexMeta:
    model_id: str
    backend: str
    dim: int
    chunking: dict
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    dense_type: str = "flat"  # "flat" (exact) or an approximate FAISS index, by corpus size
    created: str = ""
    n_chunks: int = 0
    # relative path → {"size": bytes, "xxh3": hex of the whole file, "sample": hex of sampled
    # blocks (files above FULL_VERIFY_MAX_BYTES)}; empty in indexes written before checksums
    files: dict[str, dict] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {**asdict(self), "documents": {k: r.to_json() for k, r in self.documents.items()}}

    @classmethod
    def from_json(cls, raw: dict) -> IndexMeta:
        if not isinstance(raw, dict):
            raise ValueError("meta.json is not an object")
        docs = raw.get("documents") or {}
        if not isinstance(docs, dict):
            raise ValueError("meta.json documents is not an object")
        return cls(**{**raw, "documents": {k: DocumentRecord.from_json(v) for k, v in docs.items()}})


@dataclass
class LoadedIndex:
    """Everything a query needs, loaded once per process. `chunks` decodes a passage when it is
    read (a top hit, its neighbour), so the index costs no Python object per passage."""

    path: Path
    meta: IndexMeta
    chunks: ChunkTable
    dense: object  # faiss.Index
    bm25: object  # search_backends.BM25Matrix
    vocab: Vocabulary
    vectors: np.ndarray
    df: dict[str, int] = field(default_factory=dict)  # BM25 token → number of chunks with it
    abbreviations: dict[str, str] = field(default_factory=dict)  # defined in the corpus: "CĐS" → …
    units: UnitVectors | None = None  # e5 vectors of each passage's answer units (store/units.py)

    def idf(self) -> dict[str, float]:
        """BM25-style inverse document frequency of every indexed token."""
        import math

        n = len(self.chunks)
        return {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in self.df.items()}

    def chunk_ids(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self.chunks.chunk_ids())}


# ------------------------------------------------------------------ locating versions

def read_marker(index_dir: Path) -> str | None:
    """The version name CURRENT holds, or None when there is no CURRENT. Anything else than one
    version name (empty, "..", a path, random bytes) raises IndexStateError: it is never used as
    a path."""
    marker = Path(index_dir) / MARKER
    try:
        raw = marker.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise IndexStateError(f"Không đọc được {marker} / cannot read the index marker ({e}); "
                              f"{REPAIR_HINT}") from None
    try:
        name = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        name = None
    if not name or not VERSION_NAME.fullmatch(name):
        shown = repr(raw[:40]) if raw.strip() else "trống / empty"
        raise IndexStateError(f"Tệp đánh dấu phiên bản chỉ mục hỏng / damaged index marker "
                              f"{marker} ({shown}); {REPAIR_HINT}")
    return name


def current_version(index_dir: Path) -> Path | None:
    """The live version folder, or None when the index has no CURRENT. CURRENT naming a folder
    that is not there is damage (IndexStateError), unless a writer just swapped it: re-read."""
    index_dir = Path(index_dir)
    for _ in range(3):
        name = read_marker(index_dir)
        if name is None:
            return None
        if (index_dir / name).is_dir():
            return index_dir / name
        time.sleep(0.05)  # a concurrent writer may have swapped CURRENT and removed `name`
    raise IndexStateError(f"Chỉ mục trỏ tới phiên bản không còn / CURRENT names {name}, which is "
                          f"missing in {index_dir}; {REPAIR_HINT}")


def exists(index_dir: Path) -> bool:
    """Whether the index has a live version; a damaged marker raises IndexStateError."""
    index_dir = Path(index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexStateError(f"Đường dẫn chỉ mục không phải thư mục / index path is not a folder: {index_dir}")
    return current_version(index_dir) is not None


def versions(index_dir: Path) -> list[Path]:
    """Version folders under index_dir, newest first (names start with their UTC stamp)."""
    index_dir = Path(index_dir)
    if not index_dir.is_dir():
        return []
    found = [p for p in index_dir.iterdir() if VERSION_NAME.fullmatch(p.name) and p.is_dir()]
    return sorted(found, key=lambda p: (p.name.split("-")[1], p.stat().st_mtime), reverse=True)


def is_fresh(index_dir: Path) -> bool:
    """True when index_dir holds no index at all: no CURRENT, no version folder, no uploaded
    document (leftovers of an interrupted first build and the feedback database don't count).
    Only then may a first run build the index from the corpus folder."""
    index_dir = Path(index_dir)
    if not index_dir.exists():
        return True
    if (index_dir / MARKER).exists() or versions(index_dir):
        return False
    uploads = index_dir / "uploads"
    return not (uploads.is_dir() and any(p.is_file() for p in uploads.iterdir()))


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_marker(index_dir: Path, version: str) -> None:
    """Point CURRENT at `version` durably: temp file, fsync, rename over, fsync the folder."""
    if not VERSION_NAME.fullmatch(version) or not (index_dir / version).is_dir():
        raise ValueError(f"not a version folder of {index_dir}: {version!r}")
    tmp = index_dir / f".CURRENT-{version[2:]}"
    try:
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write(version + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, index_dir / MARKER)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(index_dir)


def clean_leftovers(index_dir: Path, keep: Path | None) -> list[str]:
    """Remove what interrupted or superseded writes left: `.tmp-*` and `.CURRENT-*` files and
    every version folder but `keep`. Only names this module creates are touched; call with the
    build lock held and `keep` the verified live version."""
    removed = []
    for p in Path(index_dir).iterdir():
        if _LEFTOVER.fullmatch(p.name) or (VERSION_NAME.fullmatch(p.name) and p != keep):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


# ------------------------------------------------------------------ checksums

#: files up to this size are hashed whole when an index is loaded (xxh3 runs at ~4 GB/s here, so
#: 64 MiB costs ~16 ms); bigger ones (the vectors of ~40k+ chunks) are checked by size and a hash
#: of SAMPLE_BLOCKS blocks spread over the file, and in full by `rag index --check`.
FULL_VERIFY_MAX_BYTES = 64 * 2**20
SAMPLE_BLOCKS, SAMPLE_BLOCK_BYTES = 64, 64 * 2**10


def _hash_file(path: Path) -> str:
    import xxhash

    h = xxhash.xxh3_128()
    with open(path, "rb") as fh:
        while block := fh.read(4 * 2**20):
            h.update(block)
    return h.hexdigest()


def _hash_sample(path: Path, size: int) -> str:
    import xxhash

    h = xxhash.xxh3_128()
    step = max(SAMPLE_BLOCK_BYTES, size // SAMPLE_BLOCKS)
    with open(path, "rb") as fh:
        for offset in [*range(0, size, step), max(0, size - SAMPLE_BLOCK_BYTES)]:
            fh.seek(offset)
            h.update(fh.read(SAMPLE_BLOCK_BYTES))
    return h.hexdigest()


def checksums(folder: Path) -> dict[str, dict]:
    """Size and hash of every file under a version folder except meta.json (which holds them)."""
    out: dict[str, dict] = {}
    for f in sorted(folder.rglob("*")):
        rel = f.relative_to(folder).as_posix()
        if f.is_file() and rel != "meta.json":
            size = f.stat().st_size
            out[rel] = {"size": size, "xxh3": _hash_file(f)}
            if size > FULL_VERIFY_MAX_BYTES:
                out[rel]["sample"] = _hash_sample(f, size)
    return out


def verify_files(version: Path, meta: IndexMeta, names: list[str] | None = None,
                 full: bool = False) -> list[str]:
    """Problems found in `names` (default: every recorded file): missing, wrong size, wrong hash.
    Without `full`, files above FULL_VERIFY_MAX_BYTES are checked by their sampled hash."""
    problems = []
    for rel in names if names is not None else list(meta.files):
        want = meta.files.get(rel)
        if want is None:
            continue
        f = version / rel
        try:
            size = f.stat().st_size
            if size != want["size"]:
                problems.append(f"{rel}: {size} bytes, expected {want['size']}")
            elif full or "sample" not in want:
                if _hash_file(f) != want["xxh3"]:
                    problems.append(f"{rel}: checksum mismatch")
            elif _hash_sample(f, size) != want["sample"]:
                problems.append(f"{rel}: checksum mismatch")
        except OSError as e:
            problems.append(f"{rel}: {e.strerror or e}")
    return problems


# ------------------------------------------------------------------ writing

def bm25_corpus_tokens(chunks: list[Chunk]) -> list[list[str]]:
    from ..vi.text import bm25_terms

    return [bm25_terms(f"{c.title}\n{c.text}") if c.paragraph == 1 else bm25_terms(c.text)
            for c in chunks]


#: Exact search up to this many chunks; above it, HNSW. bench/results/scale.md: exact search
#: costs ~16 ms at 10k, ~48 ms at 100k and ~280 ms at 1M chunks; HNSW (M=32, efConstruction=80)
#: needs efSearch=512 for recall@10 ≥ 0.95 at 1M (0.955, 2.2 ms p50; efSearch=64 gave 0.898).
#: The graph stores 8-bit codes (384 B a vector instead of 1,536: bench/results/memory.md) and
#: the candidates are re-scored exactly from the memory-mapped float vectors (`RescoredDense`).
EXACT_MAX_CHUNKS = 50_000
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 512
#: "flat" exact; "hnsw-sq8" above EXACT_MAX_CHUNKS; "hnsw" (float vectors in the graph) is what
#: indexes written before "hnsw-sq8" hold, still read
DENSE_TYPES = ("flat", "hnsw-sq8", "hnsw")


def choose_dense_type(n_chunks: int) -> str:
    return "flat" if n_chunks <= EXACT_MAX_CHUNKS else "hnsw-sq8"


def build_dense(vectors: np.ndarray, dense_type: str):
    """The FAISS inner-product index for normalized vectors: exact, or HNSW for large corpora."""
    import faiss

    dim = vectors.shape[1]
    if dense_type == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        if dense_type == "hnsw-sq8":
            index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)  # each dimension's range, for its 8-bit code
        else:
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    if len(vectors):
        index.add(vectors)
    return index


def dense_searcher(index, vectors: np.ndarray, dense_type: str):
    """What the retriever searches: an 8-bit graph's candidates get their exact cosines."""
    from .search_backends import RescoredDense

    return RescoredDense(index, vectors) if dense_type == "hnsw-sq8" else index


def _is_disk_full(e: BaseException) -> bool:
    """ENOSPC/EDQUOT from Python, or faiss's C++ "N requested and M written" on a short write."""
    if isinstance(e, OSError):
        return e.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(e, RuntimeError) and "requested and" in str(e) and "written" in str(e)


def write_index(index_dir: Path, meta: IndexMeta, chunks: list[Chunk], vectors: np.ndarray,
                units: UnitVectors | None = None) -> Path:
    """Write a new version folder and make it current atomically. Caller holds build_lock.

    On any failure the new folder is removed and CURRENT is unchanged; a full disk becomes a
    DiskFullError saying so (the previous index is kept)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}-{time.monotonic_ns() % 10**12}"
    tmp = index_dir / f".tmp-{stamp}"
    final = index_dir / f"v-{stamp}"
    try:
        tmp.mkdir()
        _write_version(tmp, meta, chunks, vectors, units)
        os.rename(tmp, final)
        _fsync_dir(index_dir)
        write_marker(index_dir, final.name)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if read_marker_quietly(index_dir) != final.name:  # the swap never happened: drop its pieces
            shutil.rmtree(final, ignore_errors=True)
        if _is_disk_full(e):
            raise DiskFullError(
                f"không đủ dung lượng đĩa / disk full: cannot write the index in {index_dir} "
                f"({e}); chỉ mục cũ được giữ nguyên / the previous index is kept") from None
        raise
    clean_leftovers(index_dir, keep=final)
    return final


def read_marker_quietly(index_dir: Path) -> str | None:
    try:
        return read_marker(index_dir)
    except IndexStateError:
        return None


def _write_version(folder: Path, meta: IndexMeta, chunks: list[Chunk], vectors: np.ndarray,
                   units: UnitVectors | None = None) -> None:
    import bm25s
    import faiss

    _quiet_bm25s()
    meta.n_chunks = len(chunks)
    meta.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(chunks), meta.dim)
    np.save(folder / "vectors.npy", vectors)
    meta.dense_type = choose_dense_type(len(chunks))
    faiss.write_index(build_dense(vectors, meta.dense_type), str(folder / "dense.faiss"))
    corpus_tokens = bm25_corpus_tokens(chunks)
    retriever = bm25s.BM25()
    retriever.index(corpus_tokens or [["_"]], show_progress=False)
    df: dict[str, int] = {}
    for toks in corpus_tokens:
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    (folder / "df.json").write_text(json.dumps(df, ensure_ascii=False), encoding="utf-8")
    retriever.save(str(folder / "bm25"), show_progress=False)
    ChunkTable.from_chunks(chunks).save(folder)
    vocab = Vocabulary.build(c.text for c in chunks)
    (folder / "abbreviations.json").write_text(
        json.dumps(learn_abbreviations(c.text for c in chunks), ensure_ascii=False), encoding="utf-8")
    (folder / "vocab.json").write_text(json.dumps(vocab.to_dict(), ensure_ascii=False), encoding="utf-8")
    if units is not None:
        if len(units.offsets) != len(chunks) + 1:
            raise ValueError(f"unit vectors for {len(units.offsets) - 1} passages, not {len(chunks)}")
        units.save(folder)
    meta.files = checksums(folder)
    (folder / "meta.json").write_text(json.dumps(meta.to_json(), ensure_ascii=False, indent=1),
                                      encoding="utf-8")
    for f in folder.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    for d in (folder / "bm25", folder):
        _fsync_dir(d)


# ------------------------------------------------------------------ reading

def _corrupt(version: Path, detail: str) -> IndexStateError:
    return IndexStateError(f"Chỉ mục hỏng / corrupt index at {version} ({detail}); "
                           f"{REPAIR_HINT} (hoặc xây lại / or rebuild: rag index --rebuild)")


def _pack_fingerprint(obj: dict) -> dict:
    """Pack a document's fingerprint as soon as the parser has read it: the lists of Python ints
    of every document alive at once took ~2 KB of RAM per passage (seed-sized documents) that
    the allocator kept after they were freed."""
    fp = obj.get("fingerprint")
    if isinstance(fp, list) and "path" in obj:
        try:
            obj["fingerprint"] = array("Q", fp)
        except (OverflowError, TypeError):
            pass  # left as read: DocumentRecord reports it
    return obj


def read_version_meta(version: Path) -> IndexMeta:
    try:
        return IndexMeta.from_json(json.loads((version / "meta.json").read_text(encoding="utf-8"),
                                              object_hook=_pack_fingerprint))
    except (OSError, ValueError, TypeError) as e:
        raise _corrupt(version, f"meta.json: {e}") from None


def read_meta(index_dir: Path) -> IndexMeta | None:
    version = current_version(Path(index_dir))
    return None if version is None else read_version_meta(version)


#: what a query reads: verified on every load (dense.faiss only for approximate indexes)
_LOADED_FILES = ("chunks.jsonl", TABLE_FILE, "vectors.npy", "vocab.json", "df.json", "abbreviations.json",
                 "bm25/data.csc.index.npy", "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy",
                 "bm25/vocab.index.json", "bm25/params.index.json")


def load_index(index_dir: Path) -> LoadedIndex:
    """Load the current version; any damage becomes one IndexStateError with the fix."""
    index_dir = Path(index_dir)
    version = current_version(index_dir)
    if version is None:
        raise IndexStateError(f"Chưa có chỉ mục / no index in {index_dir}: chạy / run `rag index`")
    return load_version(version)


def load_version(version: Path, full_check: bool = False) -> LoadedIndex:
    """Load one version folder, verifying the checksums of what it reads (all files, every byte,
    with `full_check`).

    Nothing heavy is imported for an exact index: BM25 and the dense search read the saved
    arrays with numpy (see search_backends); faiss is loaded only for approximate indexes."""
    from .search_backends import BM25Matrix, ExactDense

    meta = read_version_meta(version)
    if meta.format_version != FORMAT_VERSION:
        raise IndexFormatError(
            f"Chỉ mục định dạng cũ / index format {meta.format_version} ≠ {FORMAT_VERSION}: "
            "rag index --rebuild")
    wanted = None if full_check else [*_LOADED_FILES, *(("dense.faiss",) if meta.dense_type != "flat" else ()),
                                      *(f for f in UNIT_FILES if f in meta.files)]
    if problems := verify_files(version, meta, wanted, full=full_check):
        raise _corrupt(version, "; ".join(problems[:3]))
    try:
        chunks = ChunkTable.open(version)
        bm25 = BM25Matrix(version / "bm25")
        vocab = Vocabulary.from_dict(json.loads((version / "vocab.json").read_text(encoding="utf-8")))
        vectors = np.load(version / "vectors.npy", mmap_mode="r")
        if meta.dense_type == "flat":
            dense = ExactDense(vectors)
        else:
            import faiss

            dense = dense_searcher(faiss.read_index(str(version / "dense.faiss")), vectors, meta.dense_type)
        df = json.loads((version / "df.json").read_text(encoding="utf-8"))
        abbr_file = version / "abbreviations.json"  # absent in indexes built before it existed
        abbreviations = json.loads(abbr_file.read_text(encoding="utf-8")) if abbr_file.exists() else {}
        units = UnitVectors.load(version, len(chunks))  # None when written before unit vectors
    except Exception as e:  # any unreadable part means the same thing to the user
        raise _corrupt(version, f"{type(e).__name__}: {e}") from None
    if (len(chunks) != meta.n_chunks or dense.ntotal != len(chunks) or vectors.shape[0] != len(chunks)
            or bm25.num_docs != max(1, len(chunks))):
        raise _corrupt(version, "parts disagree on the number of passages")
    return LoadedIndex(version, meta, chunks, dense, bm25, vocab, vectors, df, abbreviations, units)


def check(index_dir: Path) -> tuple[Path, list[str], list[str]]:
    """`rag index --check`: the live version, what is wrong with it (every byte re-hashed, every
    part loaded), and warnings (an index written before checksums existed can only be loaded)."""
    version = current_version(Path(index_dir))
    if version is None:
        raise IndexStateError(f"Chưa có chỉ mục / no index in {index_dir}: chạy / run `rag index`")
    meta = read_version_meta(version)
    problems = verify_files(version, meta, full=True)
    warnings = [] if meta.files else [
        "không có mã kiểm tra / no checksums recorded (index written before they existed): "
        "lập chỉ mục lại một lần để ghi / run `rag index <your folders>` once to record them "
        "(nothing is re-embedded)"]
    if not (version / TABLE_FILE).exists():
        warnings.append(
            f"không có {TABLE_FILE} / no {TABLE_FILE} (index written before it existed): mỗi lần nạp "
            "phải đọc toàn bộ chunks.jsonl / every load reads all of chunks.jsonl; chạy / run "
            "`rag index` một lần để ghi / once to write it (nothing is re-embedded)")
    if not problems:
        try:
            load_version(version, full_check=True)
        except IndexStateError as e:
            problems.append(str(e))
    return version, problems, warnings


def repair(index_dir: Path) -> tuple[Path, list[str]]:
    """`rag index --repair`: point CURRENT at the newest version folder that verifies in full and
    remove leftovers. Returns (version, names removed). Holds the build lock."""
    index_dir = Path(index_dir)
    with build_lock(index_dir):
        tried = []
        for version in versions(index_dir):
            try:
                load_version(version, full_check=True)
            except IndexStateError as e:
                tried.append(f"{version.name}: {e}")
                continue
            if read_marker_quietly(index_dir) != version.name:
                write_marker(index_dir, version.name)
            return version, clean_leftovers(index_dir, keep=version)
    detail = "; ".join(tried) if tried else "không có phiên bản nào / no version folder"
    raise IndexStateError(f"Không còn phiên bản chỉ mục nguyên vẹn / no complete index version in "
                          f"{index_dir} ({detail}): xây lại / rebuild with rag index --rebuild "
                          "<thư mục tài liệu / document folders>")
