"""Vietnamese text helpers: accent folding, spaces, tokens, sentences, numbers, dates.

Pure functions, shared by cleaning, BM25, diacritic restoration, the answerers and the eval
runner: one home, so a rule (what a number or a date looks like) cannot drift between copies.
"""

from __future__ import annotations

import datetime
import re
import unicodedata

_WORD_RE = re.compile(r"\w+(?:[.,/]\d+)*", re.UNICODE)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Strip diacritics and lowercase: 'Lào Cai tích hợp' → 'lao cai tich hop'.

    NFD + drop combining marks; đ/Đ are letters, not accents, so they map by hand.
    """
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d").replace("Đ", "D").lower()


def squash_spaces(text: str) -> str:
    """Every run of white space (line breaks too) as one space, ends trimmed."""
    return re.sub(r"\s+", " ", text).strip()


def no_spaces(text: str) -> str:
    """`text` without any white space: "2093/QĐ- BYT" and "2093/QĐ-BYT" compare equal."""
    return re.sub(r"\s+", "", text)


def has_diacritics(text: str) -> bool:
    """True if any letter carries a Vietnamese mark (or is đ)."""
    return fold(text) != text.lower()


def words(text: str) -> list[str]:
    """Word tokens, keeping numbers like 1.305, 81,7 and 10/10 as one token."""
    return _WORD_RE.findall(text)


def bm25_tokens(text: str) -> list[str]:
    """Accent-folded lowercase tokens; numbers also emitted without separators."""
    out: list[str] = []
    for w in words(text):
        f = fold(w)
        out.append(f)
        if any(c in f for c in ".,/") and any(c.isdigit() for c in f):
            out.extend(p for p in re.split(r"[.,/]", f) if p)
            if re.fullmatch(r"\d+(?:[.,]\d+)+", f):
                out.append(canonical_number(f))  # a question may type 1305 for 1.305
    return out


def bm25_terms(text: str, drop: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """BM25 terms: folded syllables (minus `drop`) plus adjacent-syllable pairs.

    Vietnamese words are mostly two syllables ("thông tin", "truyền thông"); pairs let BM25
    match the word, not just its very common syllables. A pair is kept unless both halves are
    dropped words.
    """
    syllables = [fold(w) for w in words(text)]
    pairs = [f"{a}_{b}" for a, b in zip(syllables, syllables[1:]) if not (a in drop and b in drop)]
    return [t for t in bm25_tokens(text) if t not in drop] + pairs


_SENT_END = re.compile(r"(?<=[.!?…;])[\"”’)]*\s+(?=[\"“‘(]?\w)")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) in `text`, trimmed of surrounding spaces.

    Splits after . ! ? … ; followed by a capital or digit, so '1.305' and 'TP.HCM' stay whole.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENT_END.finditer(text):
        nxt = text[m.end():m.end() + 2].lstrip("\"“‘(")[:1]
        if not (nxt.isupper() or nxt.isdigit()):
            continue
        spans.append((start, m.start() + len(m.group(0).rstrip())))
        start = m.end()
    spans.append((start, len(text)))
    result = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            result.append((s, e))
    return result


#: a written number: 1.305, 81,7, 2023 (Vietnamese: '.' groups thousands, ',' marks decimals)
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
#: a year of this or the last century: 2023, 1998
YEAR_RE = re.compile(r"\b(?:19|20)\d{2}\b")


def canonical_number(token: str) -> str:
    """Canonical form for comparing numbers written '1.305' / '1305', '58,2' / '58.2'.

    Vietnamese uses '.' for thousands and ',' for decimals. A '.' followed by exactly three
    digits is a thousands separator; otherwise the separator is a decimal point.
    """
    t = token.strip()
    parts = re.split(r"([.,])", t)
    digits = parts[0]
    i = 1
    while i < len(parts) - 1:
        sep, grp = parts[i], parts[i + 1]
        if sep == "." and len(grp) == 3:
            digits += grp
        else:
            digits += "." + grp
        i += 2
    return digits


def numbers_in(text: str) -> list[str]:
    return [canonical_number(m.group(0)) for m in NUMBER_RE.finditer(text)]


_DATE_PATTERNS = [
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\b"), "ymd"),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b"), "dmy"),
    (re.compile(r"\bngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})\b", re.IGNORECASE), "dmy"),
]


def iso_date(year: int, month: int, day: int) -> str | None:
    """'YYYY-MM-DD' for a real calendar day between 1900 and 2100, else None (31/2, year 0212)."""
    if not 1900 <= year <= 2100:
        return None
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_date(text: str) -> str | None:
    """First date in `text` as ISO 'YYYY-MM-DD', or None. Accepts the formats seen in
    Vietnamese news and legal text: 22/12/2023 03:17, 2022-08-08 16:44:00.0,
    'Ngày đăng : 20:36, 01/12/2021', 'ngày 15 tháng 4 năm 2022'."""
    best: tuple[int, str] | None = None
    for rx, order in _DATE_PATTERNS:
        m = rx.search(text)
        if not m:
            continue
        a, b, c = (int(g) for g in m.groups())
        y, mo, d = (a, b, c) if order == "ymd" else (c, b, a)
        iso = iso_date(y, mo, d)
        if iso is not None and (best is None or m.start() < best[0]):
            best = (m.start(), iso)
    return best[1] if best else None
