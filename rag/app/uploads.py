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

from ..errors import InputError
from ..ingest.files import check_size
from ..pipeline import SUPPORTED, DocumentRecord, IndexReport, Pipeline

#: what staff may upload: whatever the library can read (at least .txt and .pdf)
UPLOAD_SUFFIXES = tuple(sorted(SUPPORTED))


def uploads_dir(index_dir: Path) -> Path:
    return Path(index_dir) / "uploads"


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


def add_upload(pipeline: Pipeline, name: str, data: bytes) -> UploadResult:
    """Validate `data`, store it under <index_dir>/uploads/ and add it to the pipeline's index.

    Raises InputError (nothing stored, index unchanged) when the file cannot be used.
    """
    settings = pipeline.settings
    validate_upload(name, data, settings.max_file_mb)
    shown = Path(name).name
    folder = uploads_dir(settings.index_dir)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / safe_filename(name)
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
        report = pipeline.index([final])
    except BaseException:
        if not replaced:
            final.unlink(missing_ok=True)
        raise
    doc_id, info = next(((k, v) for k, v in pipeline.documents().items()
                         if v.path == str(final.resolve())), (final.name, None))
    warnings += [_plain(reason, final, shown) for _, reason in report.skipped]
    return UploadResult(final, doc_id, info.title if info else doc.title, info.chunks if info else 0,
                        replaced, report, warnings)


def remove_documents(pipeline: Pipeline, refs: list[str]) -> tuple[IndexReport, dict[str, DocumentRecord]]:
    """Remove documents from the index (`rag remove`, the UI's delete button) and delete the copy
    kept under <index_dir>/uploads/ of those that were uploaded, so no later `rag index` of that
    folder brings them back. Files elsewhere are the user's and are never deleted."""
    report, removed = pipeline.remove(refs)
    folder = uploads_dir(pipeline.settings.index_dir).resolve()
    for rec in removed.values():
        path = Path(rec.path)
        if path.parent == folder:
            path.unlink(missing_ok=True)
    return report, removed


def _plain(message: str, path: Path, shown: str) -> str:
    """The reader's message naming the file as the user knows it, not our temporary path."""
    return message.replace(f": {path}", "").replace(str(path), shown).replace(path.name, shown)
