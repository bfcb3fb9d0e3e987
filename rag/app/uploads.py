"""Documents uploaded through the UI: validate, keep a copy, add to the index.

A file is checked before it touches the index (type, size, empty, encoding, PDF with text — the
same readers and size cap `rag index` uses), saved under `<index_dir>/uploads/` with a safe name (written to a
temp file, then renamed), and indexed incrementally: the index build holds a file lock and swaps
its CURRENT pointer atomically, so concurrent uploads from several tabs queue and both land.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AccessError, InputError
from ..pipeline import SUPPORTED, DocumentRecord, IndexReport, Pipeline, Readable, check_size
from ..types import DEFAULT_COLLECTION

#: what staff may upload: whatever the library can read (at least .txt and .pdf)
UPLOAD_SUFFIXES = tuple(sorted(SUPPORTED))


def uploads_dir(index_dir: Path, collection: str | None = None) -> Path:
    """Uploads of `chung` (and of the single-user tool) in uploads/, of another collection in
    uploads/<collection>/: two collections may each hold a file of the same name, and an upload
    never overwrites a document of a collection its author may not change."""
    base = Path(index_dir) / "uploads"
    return base if collection in (None, DEFAULT_COLLECTION) else base / collection


def safe_filename(name: str) -> str:
    """Keep letters (with diacritics), digits, '.', '-', '_' and spaces; no folders."""
    base = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name).strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w\- ]+", "_", stem).strip(" ._") or "tai-lieu"
    return f"{stem[:100]}.{suffix.lower()}" if suffix else stem[:100]


@dataclass
class UploadResult:
    path: Path
    doc_id: str
    title: str
    chunks: int
    replaced: bool  # a document with this name was already uploaded
    report: IndexReport
    warnings: list[str] = field(default_factory=list)  # e.g. scanned pages skipped


def validate_upload(name: str, data: bytes, max_mb: float | None = None) -> None:
    """Cheap checks on name and bytes; raise InputError with a message staff can act on. What a
    file holds (a PDF header, text, a password) is checked by the reader `rag index` uses too."""
    shown = Path(name).name or "(không tên)"
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InputError(f"Tệp “{shown}”: định dạng {suffix or '(không có đuôi)'} không được hỗ trợ. "
                         f"Chỉ nhận: {', '.join(UPLOAD_SUFFIXES)} (văn bản UTF-8, PDF có chữ).")
    if not data or not data.strip():
        raise InputError(f"Tệp “{shown}” rỗng: không có nội dung để thêm.")
    try:
        check_size(Path(shown), len(data), max_mb)
    except InputError as e:
        raise InputError(f"Tệp “{shown}” không dùng được: {e}") from None


def add_upload(pipeline: Pipeline, name: str, data: bytes, collection: str | None = None,
               editable: Readable = None) -> UploadResult:
    """Validate `data`, store it under <index_dir>/uploads/[collection/] and add it to the
    pipeline's index, in `collection` (None: the single-user tool, "chung"). `editable`: the
    collections the uploader may change (None: all).

    Raises InputError (nothing stored, index unchanged) when the file cannot be used, and
    AccessError when the uploader may not change the collection or the document it would replace.
    """
    settings = pipeline.settings
    if editable is not None and (collection or DEFAULT_COLLECTION) not in editable:
        raise AccessError(f"Không có quyền thêm tài liệu vào / not allowed to add documents to "
                          f"“{collection or DEFAULT_COLLECTION}”")
    validate_upload(name, data, settings.max_file_mb)
    shown = Path(name).name
    folder = uploads_dir(settings.index_dir, collection)
    final = folder / safe_filename(name)
    if editable is not None:
        prior = next((r for r in pipeline.documents().values() if r.path == str(final.resolve())), None)
        if prior is not None and prior.collection not in editable:
            raise AccessError(f"Tệp “{shown}” trùng tên một tài liệu bạn không có quyền thay / a document of "
                              "that name exists and you may not replace it: hãy đổi tên tệp / rename the file")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".incoming-{os.getpid()}-{os.urandom(4).hex()}{final.suffix}"
    tmp.write_bytes(data)
    try:
        try:
            doc, chunks, read_warnings = pipeline.read_document(tmp)
        except InputError as e:
            raise InputError(f"Tệp “{shown}” không dùng được: {_plain(str(e), tmp, shown)}") from None
        warnings = [_plain(w, tmp, shown) for w in read_warnings]
        if not chunks:
            raise InputError(f"Tệp “{shown}” không có đoạn văn nào sau khi làm sạch "
                             "(chỉ có tiêu đề, số liệu rời hoặc nội dung quá ngắn).")
        replaced = final.exists()
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    try:
        report = pipeline.index([final], collection=collection)
    except BaseException:
        if not replaced:
            final.unlink(missing_ok=True)
        raise
    doc_id, info = next(((k, v) for k, v in pipeline.documents().items()
                         if v.path == str(final.resolve())), (final.name, None))
    warnings += [_plain(reason, final, shown) for _, reason in report.skipped]
    return UploadResult(final, doc_id, info.title if info else doc.title, info.chunks if info else 0,
                        replaced, report, warnings)


def remove_documents(pipeline: Pipeline, refs: list[str], readable: Readable = None,
                     editable: Readable = None) -> tuple[IndexReport, dict[str, DocumentRecord]]:
    """Remove documents from the index (`rag remove`, the UI's delete button) and delete the copy
    kept under <index_dir>/uploads/ of those that were uploaded, so no later `rag index` of that
    folder brings them back. Files elsewhere are the user's and are never deleted. `readable` /
    `editable`: the collections the user may see / change (None: all)."""
    report, removed = pipeline.remove(refs, readable, editable)
    for rec in removed.values():
        path = Path(rec.path)
        if path.parent == uploads_dir(pipeline.settings.index_dir, rec.collection).resolve():
            path.unlink(missing_ok=True)
    return report, removed


def _plain(message: str, path: Path, shown: str) -> str:
    """The reader's message naming the file as the user knows it, not our temporary path."""
    return message.replace(f": {path}", "").replace(str(path), shown).replace(path.name, shown)
