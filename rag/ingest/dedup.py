"""Near-duplicate documents: the same text uploaded twice in different renderings.

Two PDFs of one resolution (another printer driver, another page size, one with an extra
annex) share almost every five-word run of text while differing in bytes, page breaks and line
wraps. A document's fingerprint is a sample of its hashed five-word shingles over accent-folded
words (the shingles whose hash is 0 mod 4, an unbiased sample of the set), so the Jaccard
similarity of two fingerprints estimates that of the full shingle sets, and a fingerprint is small
enough to keep in the index metadata for comparing later uploads.

Shared wording is not enough: notices made from one template ("Tỉnh X đã tích hợp N dịch vụ
công…") share nearly every shingle and differ only in a province or a figure, and merging them
loses one notice. So the fingerprint also holds the document's *key tokens* — numbers and
capitalised words (names of provinces, bodies, people) — and two documents are one only when every
key token of the smaller is in the larger. Both samples live in one sorted list of integers (the
index metadata keeps a list): `_FORMAT` first, then shingle hashes below 2**63, then key-token
hashes at or above it. A list without the `_FORMAT` mark comes from an older index: it has no key
tokens, so it is never called a duplicate of anything.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import deque

from ..vi.text import canonical_number, fold, words

SHINGLE = 5
_SAMPLE_MOD = 4
_MAX_VALUES = 1500
_KEY_BIT = 1 << 63
_FORMAT = 1  # a hash is never this small in practice; marks the two-part layout
_WORD = re.compile(r"\w+(?:[.,/]\d+)*")  # the tokens of rag.vi.text.words, found one at a time
#: Share of the smaller document's shingles found in the larger one. Measured: two renderings
#: of one resolution (one with an extra section) 1.0; different documents on one topic ≤ 0.2.
DUPLICATE_CONTAINMENT = 0.9
#: …and the smaller must be at least this share of the larger: a one-page excerpt quoted in a
#: long report is not the same document.
MIN_SIZE_RATIO = 0.5


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def key_tokens(text: str) -> set[str]:
    """Numbers (canonical: 1.305 = 1305) and capitalised words, accent-folded: what tells two
    notices of one template apart."""
    found = {w for w in set(words(text)) if w[0].isupper() or any(ch.isdigit() for ch in w)}
    return {canonical_number(w) if w[0].isdigit() else fold(w) for w in found}


def fingerprint(text: str) -> list[int]:
    """`_FORMAT`, then the smallest `_MAX_VALUES` sampled shingle hashes (< 2**63), then the
    smallest `_MAX_VALUES` key-token hashes (≥ 2**63), sorted. Linear in the text and folded
    once (a 50 MB text takes seconds, not minutes)."""
    return list(_fingerprint(text))


@functools.lru_cache(maxsize=2)  # the index build asks twice per document (dedup, metadata)
def _fingerprint(text: str) -> tuple[int, ...]:
    window: deque[str] = deque(maxlen=SHINGLE)
    shingles: set[int] = set()
    for m in _WORD.finditer(fold(text)):  # one word at a time: memory stays flat on a 50 MB text
        window.append(m.group())
        if len(window) == SHINGLE:
            _add_shingle(" ".join(window), shingles)
    if 0 < len(window) < SHINGLE:  # a text shorter than one shingle
        _add_shingle(" ".join(window), shingles)
    keys = {_hash(k) | _KEY_BIT for k in key_tokens(text)}
    return (_FORMAT, *sorted(shingles)[:_MAX_VALUES], *sorted(keys)[:_MAX_VALUES])


def _add_shingle(gram: str, shingles: set[int]) -> None:
    h = _hash(gram) >> 1
    if h % _SAMPLE_MOD == 0 and h > _FORMAT:
        shingles.add(h)


def _parts(fp: list[int]) -> tuple[list[int], list[int]] | None:
    """(shingles, key tokens) of a fingerprint, None for an older index's."""
    if not fp or fp[0] != _FORMAT:
        return None
    return [x for x in fp[1:] if x < _KEY_BIT], [x for x in fp[1:] if x >= _KEY_BIT]


def _common_range(a: list[int], b: list[int]) -> tuple[set[int], set[int]]:
    """Both samples cut to the same hash range, so a capped long fingerprint and a short one
    compare over the same part of the hash space."""
    top = min(a[-1], b[-1])
    return {x for x in a if x <= top}, {x for x in b if x <= top}


def containment(a: list[int], b: list[int]) -> float:
    """Estimated share of the smaller document's shingles that the other one also has."""
    pa, pb = _parts(a), _parts(b)
    if not pa or not pb or not pa[0] or not pb[0]:
        return 0.0
    sa, sb = _common_range(pa[0], pb[0])
    return len(sa & sb) / max(1, min(len(sa), len(sb)))


def is_duplicate(a: list[int], b: list[int]) -> bool:
    """Same document: the smaller is (almost) wholly inside the larger, not much smaller, and
    has no number or name that the larger lacks."""
    pa, pb = _parts(a), _parts(b)
    if not pa or not pb or not pa[0] or not pb[0]:
        return False
    (sa, ka), (sb, kb) = pa, pb
    if min(len(sa), len(sb)) < MIN_SIZE_RATIO * max(len(sa), len(sb)):
        return False
    if containment(a, b) < DUPLICATE_CONTAINMENT:
        return False
    (small, large) = (ka, kb) if len(sa) <= len(sb) else (kb, ka)
    if not small:
        return True
    if not large:
        return False
    small_set, large_set = _common_range(small, large)
    return small_set <= large_set
