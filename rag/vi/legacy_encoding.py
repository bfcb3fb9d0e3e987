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

from .syllables import is_syllable, syllable_share

#: Encodings this module converts (viparse's names).
ENCODINGS = ("tcvn3", "vni", "viscii")

_GLYPH_TO_BYTE = {"\u2212": "\xad", "\u2219": "\xb7"}


def _letterish(ch: str) -> bool:
    return ch.isalpha() or "\u00a1" <= ch <= "\u00ff"


def _restore_spaced_glyphs(text: str) -> str:
    """TCVN3's ư and ã come out of Distiller PDFs as U+2212 and U+2219, often with a space on
    one or both sides ("ph −¬ng", "t − n−íc"), where viparse's letter-neighbour rule keeps them as
    symbols. Beside a letter (one space allowed) and away from digits they are the letters."""
    if "\u2212" not in text and "\u2219" not in text:
        return text
    out = list(text)
    for i, ch in enumerate(text):
        if ch not in _GLYPH_TO_BYTE:
            continue
        before = text[max(0, i - 2):i].rstrip(" ")[-1:]
        after = text[i + 1:i + 3].lstrip(" ")[:1]
        if before.isdigit() or after.isdigit():
            continue
        if _letterish(before) or _letterish(after):
            out[i] = _GLYPH_TO_BYTE[ch]
    return "".join(out)


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
    clean_text, detect_by_content, charmaps, control_chars_in, _, convert_with = _viparse()
    sample = clean_text(text, "NFC", preserve=control_chars_in(charmaps))
    found = detect_by_content(sample, charmaps).encoding
    if found in ENCODINGS:
        return found
    return _detect_by_syllables(sample, {n: c for n, c in charmaps.items() if n in ENCODINGS}, convert_with)


def _detect_by_syllables(sample: str, charmaps: dict, convert_with) -> str | None:
    """Tie-breaker when viparse's character model declines (two tables score close on a short
    text): the right table turns the text into Vietnamese syllables, a wrong one does not."""
    sample = sample[:5000]
    base = syllable_share(sample)
    scores = sorted(((syllable_share(convert_with(sample, cm, "NFC")), name) for name, cm in charmaps.items()),
                    reverse=True)
    (best, name), second = scores[0], (scores[1][0] if len(scores) > 1 else 0.0)
    if best >= _MIN_SYLLABLE_SHARE and best - base >= _MIN_GAIN and best - second >= _MIN_SEPARATION:
        return name
    return None


# Syllable-share thresholds for the tie-breaker: converted TCVN3/VNI prose measures ≥ 0.95,
# its raw form ≤ 0.6, and the wrong tables ≤ 0.8.
_MIN_SYLLABLE_SHARE = 0.85
_MIN_GAIN = 0.2
_MIN_SEPARATION = 0.1

_VIET_ONLY = set("ăđơưĂĐƠƯ")  # Vietnamese letters outside Latin-1: no legacy font produces them
_VIET_LATIN1 = set("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý")


def _looks_unicode_vietnamese(text: str) -> bool:
    """Letters only Unicode Vietnamese has (ạ ệ ư ơ đ…) and few legacy symbols: a cheap 'already
    fine' that also keeps a Unicode page from being scored as a legacy one."""
    viet = sum(1 for ch in text if "\u1ea0" <= ch <= "\u1ef9" or ch in _VIET_ONLY)
    legacy = sum(1 for ch in text if ("\u00a1" <= ch <= "\u00ff" and ch not in _VIET_LATIN1)
                 or ch in "\u2212\u2219")
    return viet >= 5 and legacy < viet / 10


def convert(text: str, encoding: str) -> str:
    """Convert legacy-encoded `text` to Unicode NFC and repair what extraction broke."""
    *_, get_charmap, to_unicode = _viparse()
    charmap = get_charmap(encoding)
    if charmap is None:
        raise ValueError(f"unknown legacy encoding: {encoding}")
    if encoding == "tcvn3":
        # "t − n−íc": a PDF put a space on both sides of the ư glyph, so the table's letter-neighbour
        # rule would leave it a minus sign; between letters it is always the letter.
        text = _restore_spaced_glyphs(text)
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

_TOKEN_RE = re.compile(r"[^\W\d_]+|\s+|[\W\d_]")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_VOWELS = set("aăâeêioôơuưy")
_TONES = ("\u0300", "\u0301", "\u0309", "\u0303", "\u0323")


def _starts_with_vowel(word: str) -> bool:
    first = unicodedata.normalize("NFD", word[:1].lower())
    return bool(first) and unicodedata.normalize("NFC", first[0]) in _VOWELS


def _has_tone(word: str) -> bool:
    return any(m in unicodedata.normalize("NFD", word) for m in _TONES)


def _joinable(a: str, b: str) -> bool:
    same_case = b.islower() or (a.isupper() and b.isupper())
    return same_case and is_syllable(a + b)


def _is_word(tok: str) -> bool:
    return bool(_LETTERS_RE.fullmatch(tok))


def join_split_syllables(text: str, aggressive: bool = False) -> str:
    """Remove spaces that extraction put inside a word: "Hiệu l ực" → "Hiệu lực".

    A piece that is not a syllable on its own joins the next word when together they make one,
    else the previous word ("tư ớng" → "tướng"). `aggressive` (for legacy-font conversions, where
    such spaces are common) also joins two syllables when the first is toneless and open and the
    second a toned bare vowel ("nghi ệp" → "nghiệp"), a pair real text almost never writes apart.
    """
    toks = _TOKEN_RE.findall(text)

    def pair(i: int) -> bool:  # toks[i] and toks[i + 2] are words with one space between
        return i + 2 < len(toks) and toks[i + 1] == " " and _is_word(toks[i]) and _is_word(toks[i + 2])

    i = 0
    while i < len(toks):
        tok = toks[i]
        if _is_word(tok) and not is_syllable(tok):
            if pair(i) and _joinable(tok, toks[i + 2]):
                toks[i:i + 3] = [tok + toks[i + 2]]
                continue
            if i >= 2 and pair(i - 2) and _joinable(toks[i - 2], tok):
                toks[i - 2:i + 1] = [toks[i - 2] + tok]
                i -= 2
                continue
        i += 1
    if aggressive:
        i = 0
        while i < len(toks):
            if pair(i):
                a, b = toks[i], toks[i + 2]
                if (is_syllable(a) and is_syllable(b) and not _has_tone(a) and _has_tone(b)
                        and _starts_with_vowel(b) and _joinable(a, b)):
                    toks[i:i + 3] = [a + b]
                    continue
            i += 1
    return "".join(toks)


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
