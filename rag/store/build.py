"""Building the index: ingest → clean → chunk → embed → write, incrementally.

Chunks keep content-hash ids, so a chunk whose text and document are unchanged keeps its vector
from the previous index and is not embedded again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Settings
from ..embedders.base import Embedder
from ..errors import IndexStateError, InputError
from ..ingest.chunking import build_document, chunk_document
from ..ingest.dedup import fingerprint, is_duplicate
from ..ingest.files import collect_paths, read_file
from ..progress import status
from ..types import Chunk, Document
from . import index as idx

log = logging.getLogger(__name__)


@dataclass
class FileReport:
    """What ingestion did with one file: the `rag index --report` row."""

    path: str
    status: str = "indexed"  # "indexed", "duplicate", "skipped"
    pages: int = 0
    text_pages: int = 0
    ocr_pages: int = 0
    skipped_pages: list[int] = field(default_factory=list)
    encoding: str | None = None
    extractor: str = ""
    chunks: int = 0
    duplicate_of: str | None = None
    doc_number: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class IndexReport:
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    path: Path | None = None
    files: list[FileReport] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, kept document id)


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
        raise InputError(f"Không có tệp được hỗ trợ nào / no supported files in: "
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
        fresh: list[tuple[Path, Document, list[Chunk], FileReport]] = []
        for f in files:
            row = FileReport(str(f), status="skipped")
            report.files.append(row)
            try:
                raw = read_file(f, settings.max_file_mb, settings.show_progress)
                doc = build_document(raw, doc_id=ids[f])
            except InputError as e:
                report.skipped.append((str(f), str(e)))
                row.warnings.append(str(e))
                continue
            row.pages, row.text_pages, row.ocr_pages = len(raw.pages), raw.text_pages, len(raw.ocr_pages)
            row.skipped_pages, row.encoding, row.extractor = raw.skipped_pages, raw.encoding, raw.extractor
            row.doc_number, row.warnings = doc.doc_number, list(raw.warnings)
            chunks = chunk_document(doc, settings.max_chunk_tokens, settings.min_chunk_chars)
            if not chunks:
                report.skipped.append((str(f), "không có nội dung / no content after cleaning"))
                row.warnings.append("không có nội dung / no content after cleaning")
                continue
            fresh.append((f, doc, chunks, row))
        for f, doc, chunks, row in _drop_duplicates(fresh, documents, chunks_by_doc, report):
            row.status, row.chunks = "indexed", len(chunks)
            also = sorted({*documents.get(doc.doc_id, {}).get("also_in", []), *chunks[0].also_in}
                          - {doc.source})
            for c in chunks:
                c.also_in = list(also)
            documents[doc.doc_id] = {"path": str(f.resolve()), "source": doc.source,
                                     "title": doc.title, "date": doc.date,
                                     "content_hash": doc.content_hash, "chunks": len(chunks),
                                     "doc_number": doc.doc_number, "doc_type": doc.doc_type,
                                     "issuer": doc.issuer, "ocr_pages": doc.ocr_pages,
                                     "fingerprint": fingerprint(doc.text),
                                     "also_in": also}
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


def _drop_duplicates(fresh: list[tuple[Path, Document, list[Chunk], FileReport]],
                     documents: dict[str, dict], chunks_by_doc: dict[str, list[Chunk]],
                     report: IndexReport) -> list[tuple[Path, Document, list[Chunk], FileReport]]:
    """Index each document once: a file whose text is (almost) wholly inside another document,
    new or already indexed, is recorded as another source of that document ("also_in") instead.
    Within one run the larger rendering is kept, since it has everything the other has."""
    kept: list[tuple[Path, Document, list[Chunk], FileReport, list[int]]] = []
    for item in sorted(fresh, key=lambda it: -len(it[1].text)):
        f, doc, chunks, row = item
        fp = fingerprint(doc.text)
        twin = next((k for k in kept if is_duplicate(fp, k[4])), None)
        if twin is not None:
            _mark_duplicate(row, doc, twin[1].doc_id, twin[2], report)
            _forget(doc.doc_id, f, documents, chunks_by_doc)
            continue
        old_id = next((i for i, d in documents.items() if i != doc.doc_id and d.get("fingerprint")
                       and d.get("path") != str(f.resolve()) and is_duplicate(fp, d["fingerprint"])), None)
        if old_id is not None:
            _mark_duplicate(row, doc, old_id, chunks_by_doc.get(old_id, []), report)
            documents[old_id]["also_in"] = sorted({*documents[old_id].get("also_in", []), doc.source})
            _forget(doc.doc_id, f, documents, chunks_by_doc)
            continue
        kept.append((f, doc, chunks, row, fp))
    order = {id(it[1]): n for n, it in enumerate(fresh)}
    return [(f, d, c, r) for f, d, c, r, _ in sorted(kept, key=lambda k: order[id(k[1])])]


def _forget(doc_id: str, f: Path, documents: dict[str, dict],
            chunks_by_doc: dict[str, list[Chunk]]) -> None:
    """A file now found to duplicate another document leaves the index if it was in it."""
    if documents.get(doc_id, {}).get("path") == str(f.resolve()):
        documents.pop(doc_id)
        chunks_by_doc.pop(doc_id, None)


def _mark_duplicate(row: FileReport, doc: Document, kept_id: str, kept_chunks: list[Chunk],
                    report: IndexReport) -> None:
    row.status, row.duplicate_of = "duplicate", kept_id
    row.warnings.append(f"trùng nội dung với {kept_id}, chỉ lập chỉ mục một lần / near-duplicate "
                        f"of {kept_id}, indexed once")
    report.duplicates.append((row.path, kept_id))
    for c in kept_chunks:
        if doc.source not in c.also_in:
            c.also_in.append(doc.source)
