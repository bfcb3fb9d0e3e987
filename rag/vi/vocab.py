"""Diacritic restoration from the corpus's own vocabulary.

Questions typed without marks ("lao cai tich hop bao nhieu dich vu cong") embed poorly, so each
unmarked word is replaced by the accented form the corpus uses most in the same context
(bigram counts, then unigram counts): a small Viterbi over candidate spellings.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from .gazetteer import MINISTRIES, PROVINCES
from .text import fold, has_diacritics, words

_LEXICON = """
bao nhiêu bao giờ khi nào lúc nào ở đâu là gì những gì như thế nào thế nào tại sao vì sao mấy
ai gì nào những các có không được đã đang sẽ của cho với về theo trong năm tháng ngày quý
tỉnh thành phố huyện xã bộ ngành địa phương người dân doanh nghiệp tổng số tỷ lệ phần trăm
đạt tăng giảm bao gồm gồm mục tiêu kết quả nhiệm vụ chủ trì phát biểu ban hành quyết định
nghị quyết thông báo kế hoạch đề án chương trình còn thì sao đó này kia
"""
"""General Vietnamese words a question uses but a corpus may not (question words, provinces,
ministries), so that restoration works for them too."""


_PHRASE_BREAK = re.compile(r"[.,;:!?()\"“”‘’\n]+\s|[;:!?()\"“”\n]")


def gram_counts(texts: Iterable[str]) -> dict[str, Counter]:
    """folded 1-, 2- and 3-gram → how often each accented spelling of it occurs in `texts`; the
    counts of a corpus are the sum of its documents' counts."""
    grams: dict[str, Counter] = defaultdict(Counter)
    for text in texts:
        for phrase in _PHRASE_BREAK.split(text):
            toks = [w.lower() for w in words(phrase)]
            folded = [fold(w) for w in toks]
            for n in (1, 2, 3):
                for i in range(len(toks) - n + 1):
                    grams[" ".join(folded[i:i + n])][" ".join(toks[i:i + n])] += 1
    return dict(grams)


_LEXICON_COUNTS: dict[str, Counter] | None = None


def lexicon_counts() -> dict[str, Counter]:
    """The general words' counts every vocabulary adds to its corpus's (ten times over)."""
    global _LEXICON_COUNTS
    if _LEXICON_COUNTS is None:
        _LEXICON_COUNTS = gram_counts(["\n".join([_LEXICON, *PROVINCES, *MINISTRIES])] * 10)
    return _LEXICON_COUNTS


class Vocabulary:
    """Counts of accented forms per folded word, bigram and trigram."""

    def __init__(self, grams: dict[str, dict[str, int]] | None = None) -> None:
        self.grams = grams or {}

    @classmethod
    def build(cls, texts: Iterable[str]) -> Vocabulary:
        # the lexicon counts a few times over so general words hold against corpus homographs
        grams = gram_counts(texts)
        for gram, forms in lexicon_counts().items():
            grams.setdefault(gram, Counter()).update(forms)
        return cls({k: dict(v) for k, v in grams.items()})

    @staticmethod
    def keys_for(text: str) -> set[str]:
        """The folded 1-, 2- and 3-grams `restore(text)` looks up: a vocabulary kept elsewhere
        (a database) fetches just these counts for a question."""
        folded = [fold(w.lower()) for w in words(text)]
        return {" ".join(folded[i:i + n]) for n in (1, 2, 3) for i in range(len(folded) - n + 1)}

    def to_dict(self) -> dict:
        return {"grams": self.grams}

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        return cls(d.get("grams", {}))

    def _count(self, forms: list[str]) -> int:
        return self.grams.get(fold(" ".join(forms)), {}).get(" ".join(forms), 0)

    def restore(self, text: str, beam: int = 64) -> str:
        """Add diacritics to unmarked words; words with marks, numbers and unknown words stay.

        Beam search over each word's accented spellings, scored by how often the corpus uses
        the spelling alone (weak), after the previous word (strong) and the previous two
        (strongest).
        """
        toks = words(text)
        if not toks:
            return text
        cands: list[list[str]] = []
        for t in toks:
            low = t.lower()
            forms = self.grams.get(fold(low)) if " " not in low else None
            if has_diacritics(t) or not forms or any(c.isdigit() for c in t):
                cands.append([low])
            else:
                cands.append(sorted(forms, key=lambda f: -forms[f])[:6])
        beams: list[tuple[float, list[str]]] = [(0.0, [])]
        for options in cands:
            grown = []
            for score, seq in beams:
                for o in options:
                    s = score + 0.5 * math.log1p(self._count([o]))
                    if seq:
                        s += 3.0 * math.log1p(self._count([seq[-1], o]))
                    if len(seq) > 1:
                        s += 4.0 * math.log1p(self._count([seq[-2], seq[-1], o]))
                    grown.append((s, [*seq, o]))
            # the score only looks two words back, so one path per (last two words) suffices
            by_state: dict[tuple[str, ...], tuple[float, list[str]]] = {}
            for s, seq in grown:
                key = tuple(seq[-2:])
                if key not in by_state or s > by_state[key][0]:
                    by_state[key] = (s, seq)
            beams = sorted(by_state.values(), key=lambda x: -x[0])[:beam]
        return _replace_words(text, toks, beams[0][1])


def _replace_words(text: str, toks: list[str], new: list[str]) -> str:
    """Put restored words back into the original text, keeping punctuation and capitals."""
    out, pos = [], 0
    for old, rep in zip(toks, new):
        i = text.find(old, pos)
        out.append(text[pos:i])
        if old.isupper() and len(old) > 1:
            rep = rep.upper()
        elif old[:1].isupper():
            rep = rep[0].upper() + rep[1:]
        out.append(rep)
        pos = i + len(old)
    out.append(text[pos:])
    return "".join(out)
