"""Building the index: ingest → clean → chunk → embed → write, incrementally.

Chunks keep content-hash ids, so a chunk whose text and document are unchanged keeps its vector
from the previous index and is not embedded again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import index as idx
from .chunking import build_document, chunk_document
from .config import Settings
from .embedders.base import Embedder
from .errors import IndexStateError, InputError
from .ingest import collect_paths, read_file
from .progress import status
from .types import Chunk

log = logging.getLogger(__name__)


@dataclass
class IndexReport:
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    path: Path | None = None


def _chunking_settings(settings: Settings) -> dict:
    return {"max_tokens": settings.max_chunk_tokens, "min_chars": settings.min_chunk_chars}


def _doc_ids(files: list[Path], known: dict[str, dict]) -> dict[Path, str]:
    """The file name, unless another file (in this run or already indexed) has it: then as many
    parent folders as make it unique ("2023/bao_cao.txt")."""
    ids: dict[Path, str] = {}
    for f in files:
        path = str(f.resolve())
        parts = f.resolve().parts
        for depth in range(1, len(parts) + 1):
            cand = "/".join(parts[-depth:])
            clash_known = cand in known and known[cand].get("path") != path
            clash_run = any(o != f and "/".join(o.resolve().parts[-depth:]) == cand for o in files)
            if not clash_known and not clash_run:
                break
        ids[f] = cand
    return ids


def build(settings: Settings, embedder: Embedder, paths: list[Path] | None = None,
          rebuild: bool = False) -> IndexReport:
    """Index `paths` (default: the corpus folder). Without `rebuild`, documents already in the
    index stay and the given ones are added or updated; with it, the index holds exactly
    `paths`. A bad file is skipped with a warning; if no file is usable, nothing is written."""
    index_dir = Path(settings.index_dir)
    paths = [Path(p) for p in (paths or [settings.corpus])]
    files = collect_paths(paths)
    if not files:
        raise InputError(f"Không có tệp .txt/.md/.pdf nào / no supported files in: "
                         f"{', '.join(map(str, paths))}")
    report = IndexReport()
    with idx.build_lock(index_dir):
        old = None
        if not rebuild and idx.exists(index_dir):
            try:
                old = idx.load_index(index_dir)
            except IndexStateError as e:
                log.warning("%s — rebuilding from scratch", e)
        if old is not None and (old.meta.model_id != embedder.model_id
                                or old.meta.chunking != _chunking_settings(settings)):
            status("Mô hình hoặc cách chia đoạn đã đổi: xây lại chỉ mục / model or chunking changed: "
                   "rebuilding", settings.show_progress)
            old = None

        documents: dict[str, dict] = dict(old.meta.documents) if old else {}
        chunks_by_doc: dict[str, list[Chunk]] = {}
        if old:
            for c in old.chunks:
                chunks_by_doc.setdefault(c.doc_id, []).append(c)
        ids = _doc_ids(files, documents)
        for f in files:
            try:
                doc = build_document(read_file(f), doc_id=ids[f])
            except InputError as e:
                report.skipped.append((str(f), str(e)))
                continue
            chunks = chunk_document(doc, settings.max_chunk_tokens, settings.min_chunk_chars)
            if not chunks:
                report.skipped.append((str(f), "không có nội dung / no content after cleaning"))
                continue
            documents[doc.doc_id] = {"path": str(f.resolve()), "source": doc.source,
                                     "title": doc.title, "date": doc.date,
                                     "content_hash": doc.content_hash, "chunks": len(chunks)}
            chunks_by_doc[doc.doc_id] = chunks
        if len(report.skipped) == len(files):
            raise InputError("Không có tài liệu nào dùng được, chỉ mục giữ nguyên / no usable "
                             "document, index unchanged: " + "; ".join(r for _, r in report.skipped))

        all_chunks = [c for doc_id in documents for c in chunks_by_doc.get(doc_id, [])]
        old_pos = old.chunk_ids() if old else {}
        vectors = np.zeros((len(all_chunks), embedder.dim), dtype=np.float32)
        todo = []
        for i, c in enumerate(all_chunks):
            if c.chunk_id in old_pos:
                vectors[i] = old.vectors[old_pos[c.chunk_id]]  # type: ignore[union-attr]
            else:
                todo.append(i)
        if todo:
            status(f"Đang nhúng {len(todo)} đoạn / embedding {len(todo)} chunks "
                   f"({embedder.model_id}, {embedder.backend})", settings.show_progress)
            vectors[todo] = embedder.embed_passages([all_chunks[i].text for i in todo],
                                                    show_progress=settings.show_progress)
        meta = idx.IndexMeta(model_id=embedder.model_id, backend=embedder.backend, dim=embedder.dim,
                             chunking=_chunking_settings(settings), documents=documents)
        report.path = idx.write_index(index_dir, meta, all_chunks, vectors)
        report.documents = len(documents)
        report.chunks = len(all_chunks)
        report.embedded = len(todo)
        report.reused = len(all_chunks) - len(todo)
    return report
