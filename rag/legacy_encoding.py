"""Legacy Vietnamese font encodings (TCVN3/.VnTime, VNI, VISCII) → Unicode NFC.

Documents typed before Unicode store Vietnamese letters in the code points of Latin-1 symbols;
extracted as they are, "Quyết định của Thủ tướng" reads "QuyÕt ®Þnh cña Thñ t−íng". Detection
must run on the raw extraction, before any cleanup: TCVN3's "ư" arrives as a soft hyphen or a
minus sign, which any cleaner would delete or rewrite.

Detection and the character tables come from the `viparse` package (content scoring against a
Vietnamese character model, with guards against other Latin languages). This module adds what it
leaves: detection per page, so a document that mixes a Unicode page with a legacy one converts
only the legacy one; spaces that PDF extraction put inside a word ("t− íng" → "tư ớng" → "tướng");
and headings set in the capitals-only `.VnTimeH` font, which come out as "NGHị ĐịNH".
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from .syllables import is_syllable

#: Encodings this module converts (viparse's names).
ENCODINGS = ("tcvn3", "vni", "viscii")

# Below this many letters detection is guessing: such a page takes the document's verdict.
_MIN_DETECT_CHARS = 200


@dataclass
class Conversion:
    """Text after conversion, and the legacy encoding found (None: it was already Unicode)."""

    text: str
    encoding: str | None


def _viparse():
    try:
        from viparse.normalize.cleanup import clean_text
        from viparse.normalize.detector import detect_encoding_by_content
        from viparse.normalize.encodings import AUTO_DETECT_CHARMAPS, control_chars_in, get_charmap
        from viparse.normalize.tables import convert
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ImportError("Cần gói viparse / the 'viparse' package is needed for legacy Vietnamese "
                          "encodings: pip install viparse") from e
    return clean_text, detect_encoding_by_content, AUTO_DETECT_CHARMAPS, control_chars_in, \
        get_charmap, convert


def detect(text: str) -> str | None:
    """'tcvn3', 'vni' or 'viscii' when `text` is in that legacy encoding, else None.

    Text that is already Unicode Vietnamese (or not Vietnamese at all) returns None, so this is
    safe to run on every document.
    """
    if sum(ch.isalpha() for ch in text) < 20:
        return None
    if _looks_unicode_vietnamese(text):
        return None
    clean_text, detect_by_content, charmaps, control_chars_in, _, _ = _viparse()
    sample = clean_text(text, "NFC", preserve=control_chars_in(charmaps))
    found = detect_by_content(sample, charmaps).encoding
    return found if found in ENCODINGS else None


def _looks_unicode_vietnamese(text: str) -> bool:
    """Letters only Unicode Vietnamese has (ạ ệ ư ơ đ…) and none of the legacy symbols: a cheap
    'already fine' that also keeps a Unicode page from being scored as a legacy one."""
    viet = sum(1 for ch in text if "\u1ea0" <= ch <= "\u1ef9" or ch in "ăâđêôơưĂÂĐÊÔƠƯ")
    legacy = sum(1 for ch in text if "\u00a1" <= ch <= "\u00ff" or ch in "\u2212\u2219")
    return viet >= 5 and legacy < viet / 10


def convert(text: str, encoding: str) -> str:
    """Convert legacy-encoded `text` to Unicode NFC and repair what extraction broke."""
    *_, get_charmap, to_unicode = _viparse()
    charmap = get_charmap(encoding)
    if charmap is None:
        raise ValueError(f"unknown legacy encoding: {encoding}")
    out = to_unicode(text, charmap, "NFC")
    if encoding == "tcvn3":
        out = fix_capitals_font(out)
    return join_split_syllables(out, aggressive=True)


def to_unicode(text: str) -> Conversion:
    """Detect and convert one text (a page, a whole .doc, a .txt)."""
    encoding = detect(text)
    if encoding is None:
        return Conversion(text, None)
    return Conversion(convert(text, encoding), encoding)


def convert_pages(pages: list[str]) -> tuple[list[str], list[str | None]]:
    """Per-page detection and conversion; a page too short to judge follows the document.

    Returns the converted pages and the encoding found on each (None: Unicode or empty).
    """
    doc_encoding = detect("\n".join(pages)[:20000])
    out, found = [], []
    for page in pages:
        letters = sum(ch.isalpha() for ch in page)
        enc = detect(page) if letters >= _MIN_DETECT_CHARS else (doc_encoding if letters else None)
        out.append(convert(page, enc) if enc else page)
        found.append(enc)
    return out, found


def dominant(encodings: list[str | None]) -> str | None:
    """The encoding most pages had ("tcvn3"), "mixed:tcvn3+vni" when several, None when none."""
    counts = Counter(e for e in encodings if e)
    if not counts:
        return None
    if len(counts) == 1:
        return next(iter(counts))
    return "mixed:" + "+".join(e for e, _ in counts.most_common())


# ------------------------------------------------------------------ repairs after conversion

_WORD_PAIR_RE = re.compile(r"(?<!\w)([^\W\d_]+) (?=([^\W\d_]+)(?!\w))")
_VOWELS = set("aăâeêioôơuưy")


def _starts_with_vowel(word: str) -> bool:
    first = unicodedata.normalize("NFD", word[:1].lower())
    return bool(first) and unicodedata.normalize("NFC", first[0]) in _VOWELS


def _same_case(a: str, b: str) -> bool:
    return b.islower() or (a.isupper() and b.isupper())


def _should_join(a: str, b: str, aggressive: bool) -> bool:
    if not _same_case(a, b) or not is_syllable(a + b):
        return False
    if not is_syllable(a) or not is_syllable(b):
        return True
    # Both halves are syllables, but a syllable rarely begins with a bare vowel right after an
    # open syllable when the two together make one word: "nghi ệp", "thi ết", "Qu ốc".
    return aggressive and _starts_with_vowel(b) and _has_tone(b) and not _has_tone(a)


def _has_tone(word: str) -> bool:
    return any(m in unicodedata.normalize("NFD", word) for m in "\u0300\u0301\u0309\u0303\u0323")


def join_split_syllables(text: str, aggressive: bool = False) -> str:
    """Remove spaces that extraction put inside a word: "Hiệu l ực" → "Hiệu lực".

    Two tokens are joined only when together they form a Vietnamese syllable and one of them is
    not a syllable on its own. `aggressive` (for legacy-font conversions, where such spaces are
    common) also joins a toneless open syllable with a following toned vowel-initial piece
    ("nghi ệp" → "nghiệp"), which real Vietnamese text almost never writes as two words.
    """
    def repl(m: re.Match) -> str:
        a, b = m.group(1), m.group(2)
        return a if _should_join(a, b, aggressive) else m.group(0)

    prev = None
    while prev != text:  # "l ự c" needs two passes
        prev = text
        text = _WORD_PAIR_RE.sub(repl, text)
    return text


_ASCII_UPPER_RE = re.compile(r"[A-Z]")
_ASCII_LOWER_RE = re.compile(r"[a-z]")


def fix_capitals_font(text: str) -> str:
    """Headings set in `.VnTimeH` (a capitals-only TCVN3 font) are stored as lowercase bytes, so
    they convert to "NGHị ĐịNH". A line with capital ASCII letters and no lowercase ones is such
    a heading and is upper-cased whole; elsewhere a word with two or more capital ASCII letters
    and no lowercase ASCII letter is."""
    out = []
    for line in text.split("\n"):
        if len(_ASCII_UPPER_RE.findall(line)) >= 2 and not _ASCII_LOWER_RE.search(line):
            out.append(line.upper())
            continue
        out.append(re.sub(r"[^\W\d_]+", _upper_word_if_caps, line))
    return "\n".join(out)


def _upper_word_if_caps(m: re.Match) -> str:
    w = m.group(0)
    if len(_ASCII_UPPER_RE.findall(w)) >= 2 and not _ASCII_LOWER_RE.search(w):
        return w.upper()
    return w
