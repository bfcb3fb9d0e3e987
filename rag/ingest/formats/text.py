"""Plain text (.txt): UTF-8, or the 8-bit bytes of a legacy Vietnamese font (TCVN3, VNI, VISCII)."""

from __future__ import annotations

from pathlib import Path

from ...errors import InputError
from ...vi.legacy_encoding import to_unicode
from ...vi.syllables import syllable_share
from .base import RawFile


def decode_legacy(data: bytes) -> str | None:
    """Bytes that are not UTF-8, read as Latin-1 when a legacy font's code points show (they
    survive for conversion), or as Windows-1258 when that reads as Vietnamese; else None."""
    latin = data.decode("latin-1")
    if to_unicode(latin).encoding is not None:
        return latin
    try:
        cp1258 = data.decode("cp1258")
    except UnicodeDecodeError:
        return None
    return cp1258 if syllable_share(cp1258) >= 0.8 else None


def decode(data: bytes, path: Path) -> str:
    """Bytes → str. UTF-8 first, then a legacy Vietnamese encoding (`decode_legacy`). Anything
    else is a clear error rather than mojibake in the index."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        legacy = decode_legacy(data)
        if legacy is not None:
            return legacy
        raise InputError(
            f"Tệp không phải UTF-8 / file is not UTF-8 text: {path} (byte {e.start}); "
            "hãy lưu lại dưới dạng UTF-8"
        ) from None
    if "\x00" in text:
        raise InputError(f"Tệp nhị phân, không phải văn bản / binary file, not text: {path}")
    return text


def require_text(text: str, path: Path) -> str:
    if not text.strip():
        raise InputError(f"Tệp rỗng / empty file: {path}")
    return text


def read(path: Path) -> RawFile:
    text = require_text(decode(path.read_bytes(), path), path)
    conv = to_unicode(text)
    return RawFile(path, [conv.text], False, encoding=conv.encoding, extractor="text")
