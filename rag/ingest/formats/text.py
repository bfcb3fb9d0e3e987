"""Plain text (.txt): UTF-8, or the 8-bit bytes of a legacy Vietnamese font (TCVN3, VNI, VISCII)."""

from __future__ import annotations

from pathlib import Path

from ...errors import InputError
from ...vi.legacy_encoding import to_unicode
from ...vi.syllables import syllable_share
from .base import RawFile


def decode(data: bytes, path: Path) -> str:
    """Bytes → str. UTF-8 first; otherwise the bytes are read as Latin-1 so that a legacy font's
    code points survive for conversion, or as Windows-1258 (Vietnamese) when that reads as
    Vietnamese. Anything else is a clear error rather than mojibake in the index."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        latin = data.decode("latin-1")
        if to_unicode(latin).encoding is not None:
            return latin
        try:
            cp1258 = data.decode("cp1258")
        except UnicodeDecodeError:
            cp1258 = ""
        if cp1258 and syllable_share(cp1258) >= 0.8:
            return cp1258
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
