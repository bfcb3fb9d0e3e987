"""Building the index: ingest → clean → chunk → embed → write, incrementally; and removing.

A chunk whose text is already in the previous index keeps its vector and is not embedded again
(so a renamed file costs no embedding). Nothing already indexed is dropped unless asked for:
`rebuild` holds exactly the given paths, `sync` removes documents whose files left the given
folders, `remove` removes named documents. An index that cannot be read is an error naming the
fix, never a silent rebuild from fewer documents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Settings
from ..embedders.base import Embedder
from ..errors import IndexFormatError, IndexStateError, InputError
from ..ingest.chunking import build_document, chunk_document
from ..ingest.dedup import fingerprint, is_duplicate
from ..ingest.files import collect_paths, read_file
from ..progress import status
from ..types import DEFAULT_COLLECTION, Chunk, Document
from . import index as idx
from .units import embed_units

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
    removed: list[str] = field(default_factory=list)  # document ids taken out of the index
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old id, new id), not re-embedded
    missing: list[str] = field(default_factory=list)  # ids whose file left an indexed folder (no sync)
    dropped: list[str] = field(default_factory=list)  # unreadable when the index had to be re-ingested


def _chunking_settings(settings: Settings) -> dict:
    return {"max_tokens": settings.max_chunk_tokens, "min_chars": settings.min_chunk_chars}


def read_files(files: list[Path], ids: dict[Path, str], settings: Settings,
               report: IndexReport) -> list[tuple[Path, Document, list[Chunk], FileReport]]:
    """Read, clean and chunk each file for an index build; a file that cannot be used is
    skipped with its reason in `report` (the folder goes on)."""
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
    return fresh


def _doc_ids(files: list[Path], known: dict[str, idx.DocumentRecord]) -> dict[Path, str]:
    """The file name, unless another file (in this run or already indexed) has it: then as many
    parent folders as make it unique ("2023/bao_cao.txt")."""
    ids: dict[Path, str] = {}
    for f in files:
        path = str(f.resolve())
        parts = f.resolve().parts
        for depth in range(1, len(parts) + 1):
            cand = "/".join(parts[-depth:])
            clash_known = cand in known and known[cand].path != path
            clash_run = any(o != f and "/".join(o.resolve().parts[-depth:]) == cand for o in files)
            if not clash_known and not clash_run:
                break
        ids[f] = cand
    return ids


def _under(path: str, roots: list[tuple[Path, bool]]) -> bool:
    """Whether a recorded document path is one of the given (path, is folder) or lies in one."""
    p = Path(path)
    return any(p == r or (is_dir and p.is_relative_to(r)) for r, is_dir in roots)


def _previous(index_dir: Path, settings: Settings,
              embedder: Embedder) -> tuple[idx.LoadedIndex | None, dict[str, idx.DocumentRecord]]:
    """The index to extend and its documents. When its vectors cannot be reused (older format,
    another model or chunking) the documents are still returned, to be read again from their
    files: nothing indexed is silently dropped. A damaged index raises (the fix is --repair)."""
    if not idx.exists(index_dir):
        if idx.versions(index_dir):  # CURRENT lost: building on would drop (and delete) them all
            raise IndexStateError(f"Chỉ mục {index_dir} thiếu tệp đánh dấu CURRENT nhưng còn phiên bản / "
                                  f"index marker missing but versions remain; {idx.REPAIR_HINT}")
        return None, {}
    try:
        old = idx.load_index(index_dir)
    except IndexFormatError:
        meta = idx.read_meta(index_dir)
        status("Chỉ mục định dạng cũ: đọc lại các tài liệu / old index format: re-reading its "
               "documents", settings.show_progress)
        return None, dict(meta.documents) if meta else {}
    if old.meta.model_id != embedder.model_id or old.meta.chunking != _chunking_settings(settings):
        status("Mô hình hoặc cách chia đoạn đã đổi: xây lại chỉ mục / model or chunking changed: "
               "rebuilding", settings.show_progress)
        return None, dict(old.meta.documents)
    return old, dict(old.meta.documents)


def collection_of(given: str | None, path: str, known: dict[str, str]) -> str:
    """The collection a document read from `path` goes to: the one given for this run, else the
    one it was in (by file path, kept across --rebuild and re-reads: rebuilding must never move an
    internal document into the collection everyone reads), else the default."""
    return given or known.get(path, DEFAULT_COLLECTION)


def _known_collections(index_dir: Path) -> dict[str, str]:
    """File path → collection of the documents the current version holds (none when unreadable:
    the build itself then reports the damage)."""
    try:
        meta = idx.read_meta(index_dir)
    except (IndexStateError, ValueError, OSError):
        return {}
    return {r.path: r.collection for r in meta.documents.values()} if meta else {}


def build(settings: Settings, embedder: Embedder, paths: list[Path] | None = None,
          rebuild: bool = False, sync: bool = False, only_if_missing: bool = False,
          collection: str | None = None) -> IndexReport:
    """Index `paths` (default: the corpus folder). Without `rebuild`, documents already in the
    index stay and the given ones are added or updated; with it, the index holds exactly
    `paths`. With `sync`, documents whose file is no longer in the given folders are removed
    (a renamed file is re-pointed, its passages not embedded again), and a document read again
    lists as copies ("also_in") only those found in this run. `only_if_missing`: do
    nothing if an index appeared while waiting for the lock (a first run racing `rag index`).
    `collection`: the collection the given documents go to (None: each keeps its own, a new one
    goes to "chung"). A bad file is skipped with a warning; if no file is usable, nothing is
    written."""
    index_dir = Path(settings.index_dir)
    paths = [Path(p) for p in (paths or [settings.corpus])]
    files = collect_paths(paths)
    if not files and not sync:
        raise InputError(f"Không có tệp được hỗ trợ nào / no supported files in: "
                         f"{', '.join(map(str, paths))}")
    roots = [(p.resolve(), p.is_dir()) for p in paths]
    present = {str(f.resolve()) for f in files}
    report = IndexReport()
    with idx.build_lock(index_dir):
        if only_if_missing and idx.exists(index_dir):
            report.path = idx.current_version(index_dir)
            return report
        known_collections = _known_collections(index_dir)
        old, documents = (None, {}) if rebuild else _previous(index_dir, settings, embedder)
        gone = [d for d, r in documents.items() if _under(r.path, roots) and r.path not in present]
        if sync:
            removed = {d: documents.pop(d) for d in gone}
            report.removed = list(removed)
        else:
            removed, report.missing = {}, gone
        if old is None and documents:  # re-read what the index held, from its files
            again = [Path(r.path) for r in documents.values()
                     if r.path not in present and Path(r.path).is_file()]
            report.dropped = [d for d, r in documents.items()
                              if r.path not in present and not Path(r.path).is_file()]
            for d in report.dropped:
                log.warning("Không còn tệp / file gone, dropped from the index: %s (%s)", d, documents[d].path)
            files, documents = files + again, {}
        if not files and not documents:
            raise InputError("Không còn tài liệu nào, chỉ mục giữ nguyên / no document would be left, "
                             "index unchanged: rag index --rebuild <thư mục / folder>")
        chunks_by_doc: dict[str, list[Chunk]] = {}
        if old:
            for c in old.chunks:
                if c.doc_id in documents:
                    chunks_by_doc.setdefault(c.doc_id, []).append(c)
        ids = _doc_ids(files, documents)
        fresh = read_files(files, ids, settings, report)
        def in_collection(f: Path) -> str:
            return collection_of(collection, str(f.resolve()), known_collections)

        for f, doc, chunks, row in _drop_duplicates(fresh, documents, chunks_by_doc, report, in_collection):
            row.status, row.chunks = "indexed", len(chunks)
            previous = documents.get(doc.doc_id)
            # with sync, the copies found in this run are all there is (a deleted copy goes too)
            kept = previous.also_in if previous and not sync else []
            also = sorted({*kept, *chunks[0].also_in} - {doc.source})
            for c in chunks:
                c.also_in = list(also)
            documents[doc.doc_id] = idx.DocumentRecord(
                path=str(f.resolve()), source=doc.source, title=doc.title, date=doc.date,
                content_hash=doc.content_hash, chunks=len(chunks), doc_number=doc.doc_number,
                doc_type=doc.doc_type, issuer=doc.issuer, ocr_pages=list(doc.ocr_pages),
                fingerprint=fingerprint(doc.text), also_in=also,
                collection=collection_of(collection, str(f.resolve()), known_collections))
            chunks_by_doc[doc.doc_id] = chunks
        if files and len(report.skipped) == len(files) and not removed:
            raise InputError("Không có tài liệu nào dùng được, chỉ mục giữ nguyên / no usable "
                             "document, index unchanged: " + "; ".join(r for _, r in report.skipped))
        if not documents:
            raise InputError("Không còn tài liệu nào, chỉ mục giữ nguyên / no document would be left, "
                             "index unchanged")
        report.renamed = [(d, n) for d, r in removed.items() for n, rec in documents.items()
                          if rec.content_hash == r.content_hash and (old is None or n not in old.meta.documents)]

        all_chunks = [c for doc_id in documents for c in chunks_by_doc.get(doc_id, [])]
        old_pos = {c.text: i for i, c in enumerate(old.chunks)} if old else {}
        vectors = np.zeros((len(all_chunks), embedder.dim), dtype=np.float32)
        todo = []
        for i, c in enumerate(all_chunks):
            if c.text in old_pos:  # the vector depends on the text only: reused across renames
                vectors[i] = old.vectors[old_pos[c.text]]  # type: ignore[union-attr]
            else:
                todo.append(i)
        if todo:
            status(f"Đang nhúng {len(todo)} đoạn / embedding {len(todo)} chunks "
                   f"({embedder.model_id}, {embedder.backend})", settings.show_progress)
            vectors[todo] = embedder.embed_passages([all_chunks[i].text for i in todo],
                                                    show_progress=settings.show_progress)
        reuse = {c.text: old.units.of(i) for i, c in enumerate(old.chunks)} if old and old.units else {}
        units = embed_units(all_chunks, embedder, reuse, settings.show_progress, vectors)
        meta = idx.IndexMeta(model_id=embedder.model_id, backend=embedder.backend, dim=embedder.dim,
                             chunking=_chunking_settings(settings), documents=documents)
        report.path = idx.write_index(index_dir, meta, all_chunks, vectors, units)
        report.documents = len(documents)
        report.chunks = len(all_chunks)
        report.embedded = len(todo)
        report.reused = len(all_chunks) - len(todo)
    return report


def _resolve(refs: list[str], documents: dict[str, idx.DocumentRecord]) -> tuple[set[str], set[str]]:
    """Documents named by `refs` (id, file path or file name) and names only found as another
    copy of a document ("also_in"). An unknown name is an InputError listing some known ones."""
    ids: set[str] = set()
    copies: set[str] = set()
    unknown = []
    for ref in refs:
        path = str(Path(ref).expanduser().resolve())
        hit = [d for d, r in documents.items() if ref == d or r.path == path]
        hit = hit or [d for d, r in documents.items() if r.source == ref or Path(r.path).name == ref]
        if len(hit) > 1:
            raise InputError(f"“{ref}” khớp nhiều tài liệu / matches several documents: "
                             f"{', '.join(sorted(hit))} — ghi rõ mã / give the id")
        if hit:
            ids.add(hit[0])
        elif any(Path(ref).name in r.also_in for r in documents.values()):
            copies.add(Path(ref).name)
        else:
            unknown.append(ref)
    if unknown:
        known = ", ".join(sorted(documents)[:8]) + (" …" if len(documents) > 8 else "")
        raise InputError(f"Không có tài liệu / no such document in the index: {', '.join(unknown)} "
                         f"(có / known: {known})")
    return ids, copies


def remove(settings: Settings, refs: list[str]) -> tuple[IndexReport, dict[str, idx.DocumentRecord]]:
    """Take documents out of the index: their passages, vectors, BM25 terms, vocabulary and
    abbreviations go with them (the version is rewritten from what stays; nothing is embedded).
    Returns the report and the removed records."""
    index_dir = Path(settings.index_dir)
    if not refs:
        raise InputError("Chưa nêu tài liệu cần gỡ / no document given: rag remove TÊN_TỆP…")
    with idx.build_lock(index_dir):
        old = idx.load_index(index_dir)
        ids, copies = _resolve(refs, old.meta.documents)
        documents = {d: r for d, r in old.meta.documents.items() if d not in ids}
        if not documents:
            raise InputError("Không thể gỡ mọi tài liệu / cannot remove every document; to start "
                             "over: rag index --rebuild <thư mục / folder>")
        for r in documents.values():
            r.also_in = [a for a in r.also_in if a not in copies]
        keep = [i for i, c in enumerate(old.chunks) if c.doc_id not in ids]
        chunks = [old.chunks[i] for i in keep]
        for c in chunks:
            c.also_in = [a for a in c.also_in if a not in copies]
        meta = idx.IndexMeta(model_id=old.meta.model_id, backend=old.meta.backend, dim=old.meta.dim,
                             chunking=old.meta.chunking, documents=documents)
        report = IndexReport(removed=sorted(ids | copies))
        units = old.units.take(keep) if old.units else None
        report.path = idx.write_index(index_dir, meta, chunks, np.asarray(old.vectors)[keep], units)
        report.documents, report.chunks, report.reused = len(documents), len(chunks), len(chunks)
    return report, {d: old.meta.documents[d] for d in ids}


def _drop_duplicates(fresh: list[tuple[Path, Document, list[Chunk], FileReport]],
                     documents: dict[str, idx.DocumentRecord], chunks_by_doc: dict[str, list[Chunk]],
                     report: IndexReport, collection_for: Callable[[Path], str] | None = None,
                     ) -> list[tuple[Path, Document, list[Chunk], FileReport]]:
    """Index each document once: a file whose text is (almost) wholly inside another document,
    new or already indexed, is recorded as another source of that document ("also_in") instead.
    Within one run the larger rendering is kept, since it has everything the other has. Only
    documents of the same collection (`collection_for`: a file's) are merged: a copy in another
    collection is its own document, or its readers would lose it, or another collection's
    readers would see its file name."""
    kept: list[tuple[Path, Document, list[Chunk], FileReport, list[int]]] = []

    def same(f: Path, other: Path | str) -> bool:
        if collection_for is None:
            return True
        theirs = documents[other].collection if isinstance(other, str) else collection_for(other)
        return collection_for(f) == theirs

    for item in sorted(fresh, key=lambda it: -len(it[1].text)):
        f, doc, chunks, row = item
        fp = fingerprint(doc.text)
        twin = next((k for k in kept if is_duplicate(fp, k[4]) and same(f, k[0])), None)
        if twin is not None:
            _mark_duplicate(row, doc, twin[1].doc_id, twin[2], report)
            _forget(doc.doc_id, f, documents, chunks_by_doc)
            continue
        old_id = next((i for i, d in documents.items() if i != doc.doc_id and d.fingerprint
                       and d.path != str(f.resolve()) and is_duplicate(fp, d.fingerprint) and same(f, i)), None)
        if old_id is not None:
            _mark_duplicate(row, doc, old_id, chunks_by_doc.get(old_id, []), report)
            documents[old_id].also_in = sorted({*documents[old_id].also_in, doc.source})
            _forget(doc.doc_id, f, documents, chunks_by_doc)
            continue
        kept.append((f, doc, chunks, row, fp))
    order = {id(it[1]): n for n, it in enumerate(fresh)}
    return [(f, d, c, r) for f, d, c, r, _ in sorted(kept, key=lambda k: order[id(k[1])])]


def _forget(doc_id: str, f: Path, documents: dict[str, idx.DocumentRecord],
            chunks_by_doc: dict[str, list[Chunk]]) -> None:
    """A file now found to duplicate another document leaves the index if it was in it."""
    if doc_id in documents and documents[doc_id].path == str(f.resolve()):
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
