"""Near-duplicate documents: the same text uploaded twice in different renderings.

Two PDFs of one resolution (another printer driver, another page size, one with an extra
annex) share almost every five-word run of text while differing in bytes, page breaks and line
wraps. A document's
fingerprint is a sample of its hashed five-word shingles over accent-folded words (the shingles
whose hash is 0 mod 4, an unbiased sample of the set), so the Jaccard similarity of two
fingerprints estimates that of the full shingle sets, and a fingerprint is small enough to keep in
the index metadata for comparing later uploads.
"""

from __future__ import annotations

import hashlib

from ..vi.text import bm25_tokens

SHINGLE = 5
_SAMPLE_MOD = 4
_MAX_VALUES = 1500
#: Share of the smaller document's shingles found in the larger one. Measured: two renderings
#: of one resolution (one with an extra section) 1.0; different documents on one topic ≤ 0.2.
DUPLICATE_CONTAINMENT = 0.9
#: …and the smaller must be at least this share of the larger: a one-page excerpt quoted in a
#: long report is not the same document.
MIN_SIZE_RATIO = 0.5


def fingerprint(text: str) -> list[int]:
    """Sorted sample of 64-bit shingle hashes (at most `_MAX_VALUES`, the smallest kept)."""
    toks = [t for t in bm25_tokens(text) if t.isalnum()]
    values = set()
    for i in range(max(1, len(toks) - SHINGLE + 1)):
        gram = " ".join(toks[i:i + SHINGLE])
        if not gram:
            continue
        h = int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest(), "big")
        if h % _SAMPLE_MOD == 0:
            values.add(h)
    return sorted(values)[:_MAX_VALUES]


def _common_range(a: list[int], b: list[int]) -> tuple[set[int], set[int]]:
    """Both samples cut to the same hash range, so a capped long fingerprint and a short one
    compare over the same part of the hash space."""
    top = min(a[-1], b[-1])
    return {x for x in a if x <= top}, {x for x in b if x <= top}


def containment(a: list[int], b: list[int]) -> float:
    """Estimated share of the smaller document's shingles that the other one also has."""
    if not a or not b:
        return 0.0
    sa, sb = _common_range(a, b)
    return len(sa & sb) / max(1, min(len(sa), len(sb)))


def is_duplicate(a: list[int], b: list[int]) -> bool:
    """Same document: the smaller is (almost) wholly inside the larger and not much smaller."""
    if not a or not b or min(len(a), len(b)) < MIN_SIZE_RATIO * max(len(a), len(b)):
        return False
    return containment(a, b) >= DUPLICATE_CONTAINMENT
