"""`rag index` into any `Store`, one document per transaction (the PostgreSQL store's write path).

The local store keeps its own batch writer (store/build.py: one new version per run). Here each
document is read, chunked and embedded like there — same readers, ids, duplicate detection — and
then written on its own, so a crash loses at most the document being written and other processes
see each document as soon as it commits. A document whose file is unchanged (same path and
cleaned-text hash) is not embedded again.

A first load of many passages into an empty PostgreSQL store (BULK_MIN_CHUNKS or more) is written
one embedding group per transaction instead, inside `PostgresStore.bulk()` (its search indexes
built once at the end): a crash then loses at most the group being written.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path

from ..config import Settings
from ..embedders.base import Embedder
from ..errors import InputError
from ..ingest.dedup import fingerprint
from ..ingest.files import collect_paths
from ..progress import status
from ..types import Chunk, Document
from .base import Store
from .build import FileReport, IndexReport, _doc_ids, _drop_duplicates, _under, collection_of, read_files
from .index import DocumentRecord

log = logging.getLogger(__name__)




#: chunks embedded per call before their documents are written: big enough for the batch backend
#: (rag/embedders/auto.py switches at 150), small enough that a long run commits as it goes
GROUP_CHUNKS = 1024
#: passages to write into an empty store from which a run is a bulk load (see the module doc)
BULK_MIN_CHUNKS = 20_000


def _groups(todo: list) -> list[list]:
    """Documents in order, cut into groups of about GROUP_CHUNKS passages."""
    groups: list[list] = [[]]
    size = 0
    for item in todo:
        if size >= GROUP_CHUNKS:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += len(item[1])
    return [g for g in groups if g]


def index_into(store: Store, settings: Settings, embedder: Embedder, paths: list[Path] | None = None,
               rebuild: bool = False, sync: bool = False, collection: str | None = None) -> IndexReport:
    """Index `paths` (default: the corpus folder) into `store`. `rebuild`: afterwards the store
    holds exactly these documents; `sync`: documents whose file left the given folders go;
    `collection`: where the given documents go (None: each keeps its own, new ones "chung")."""
    paths = [Path(p) for p in (paths or [settings.corpus])]
    files = collect_paths(paths)
    if not files and not sync:
        raise InputError(f"Không có tệp được hỗ trợ nào / no supported files in: {', '.join(map(str, paths))}")
    report = IndexReport()
    documents = store.documents()
    known = dict(documents)
    known_collections = {r.path: r.collection for r in known.values()}
    roots = [(p.resolve(), p.is_dir()) for p in paths]
    present = {str(f.resolve()) for f in files}
    fresh = read_files(files, _doc_ids(files, {} if rebuild else documents), settings, report)
    if files and len(report.skipped) == len(files):
        raise InputError("Không có tài liệu nào dùng được, chỉ mục giữ nguyên / no usable document, "
                         "index unchanged: " + "; ".join(r for _, r in report.skipped))
    kept = _drop_duplicates(fresh, {} if rebuild else documents, {}, report,
                            lambda f: collection_of(collection, str(f.resolve()), known_collections))
    todo: list[tuple[Document, list[Chunk], FileReport, Path]] = []
    for f, doc, chunks, row in kept:
        row.status, row.chunks = "indexed", len(chunks)
        old = known.get(doc.doc_id)
        moved = collection is not None and old is not None and old.collection != collection
        if old and old.path == str(f.resolve()) and old.content_hash == doc.content_hash and not rebuild \
                and not moved:
            report.reused += len(chunks)
            continue
        todo.append((doc, chunks, row, f))
    total = sum(len(chunks) for _, chunks, _, _ in todo)
    if total:
        status(f"Đang nhúng {total} đoạn / embedding {total} chunks "
               f"({embedder.model_id}, {embedder.backend})", settings.show_progress)
    bulk = getattr(store, "bulk", None) if total >= BULK_MIN_CHUNKS and not documents else None
    with bulk() if bulk else nullcontext():
        for group in _groups(todo):
            texts = [c.text for _, chunks, _, _ in group for c in chunks]
            vectors = embedder.embed_passages(texts, show_progress=settings.show_progress)
            at, written = 0, []
            for doc, chunks, _, f in group:
                also = sorted({*chunks[0].also_in} - {doc.source})
                for c in chunks:
                    c.also_in = list(also)
                record = DocumentRecord(
                    path=str(f.resolve()), source=doc.source, title=doc.title, date=doc.date,
                    content_hash=doc.content_hash, chunks=len(chunks), doc_number=doc.doc_number,
                    doc_type=doc.doc_type, issuer=doc.issuer, ocr_pages=list(doc.ocr_pages),
                    fingerprint=fingerprint(doc.text), also_in=also,
                    collection=collection_of(collection, str(f.resolve()), known_collections))
                written.append((doc.doc_id, record, chunks, vectors[at:at + len(chunks)]))
                at += len(chunks)
            if bulk:
                store.put_documents(written)  # type: ignore[attr-defined]  # PostgresStore
            else:
                for item in written:
                    store.put_document(*item)
            report.embedded += len(texts)
    indexed = {doc.doc_id for _, doc, _, _ in kept}
    gone = [d for d, r in known.items() if d not in indexed and (
        rebuild or (sync and _under(r.path, roots) and r.path not in present)
        or d not in documents)]  # `documents` lost it: now a duplicate of another file
    for d in gone:
        store.delete_document(d)
    report.removed = [d for d in gone if rebuild or sync]
    final = store.documents()
    report.missing = [d for d, r in final.items() if _under(r.path, roots) and r.path not in present]
    report.documents = len(final)
    report.chunks = sum(r.chunks for r in final.values())
    return report


def remove_from(store: Store, refs: list[str]) -> tuple[IndexReport, dict[str, DocumentRecord]]:
    """`rag remove` on a store: documents named by id, path or file name, each removed in its
    own transaction. Returns the report and the removed records."""
    from .build import _resolve

    if not refs:
        raise InputError("Chưa nêu tài liệu cần gỡ / no document given: rag remove TÊN_TỆP…")
    documents = store.documents()
    ids, copies = _resolve(refs, documents)
    if not set(documents) - ids:
        raise InputError("Không thể gỡ mọi tài liệu / cannot remove every document; to start "
                         "over: rag index --rebuild <thư mục / folder>")
    for d in sorted(ids):
        store.delete_document(d)
    left = store.documents()
    report = IndexReport(removed=sorted(ids | copies), documents=len(left),
                         chunks=sum(r.chunks for r in left.values()))
    report.reused = report.chunks
    return report, {d: documents[d] for d in ids}
