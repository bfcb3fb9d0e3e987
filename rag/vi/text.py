"""Vietnamese text helpers: accent folding, tokens, sentences, numbers.

Pure functions, shared by cleaning, BM25, diacritic restoration and the answerer.
"""

from __future__ import annotations

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


_NUM_RE = re.compile(r"\d+(?:[.,]\d+)*")


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
    return [canonical_number(m.group(0)) for m in _NUM_RE.finditer(text)]
