"""Understanding the question: language, diacritics, answer type, named constraints.

Pure functions over the question text, used by retrieval (diacritic restoration, expansion) and
by the answerer (what kind of answer, which names/years a passage must mention).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..vi.text import YEAR_RE as _YEAR_RE
from ..vi.text import bm25_tokens, fold, has_diacritics, words
from .kinds import ANSWER_TYPES, QUESTION_WORDS, kind_of

__all__ = ["ANSWER_TYPES", "QUESTION_WORDS", "QuestionInfo", "analyse", "answer_type"]

ENGLISH_WORDS = set("""
how many much what which who whom when where why is are was were the a an of in on for to by
did does do has have had with from and or at as be been percent percentage number year date
""".split())


@dataclass
class QuestionInfo:
    text: str
    restored: str
    english: bool
    answer_type: str
    years: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)  # folded
    periods: list[str] = field(default_factory=list)  # folded: "quy i", "6 thang"
    ordinals: list[int] = field(default_factory=list)  # "phiên họp thứ hai" → [2]
    content_terms: list[str] = field(default_factory=list)  # folded, no question words

    @property
    def search_text(self) -> str:
        return self.restored


def is_english(text: str) -> bool:
    """English function words make up a good share of the words (names may carry marks)."""
    toks = [w.lower() for w in words(text)]
    if not toks:
        return False
    return sum(t in ENGLISH_WORDS for t in toks) >= max(2, len(toks) // 4)


def answer_type(text: str) -> str:
    """The name of the first answer kind the question asks for (rag/search/kinds.py)."""
    return kind_of(text).name


_PERIOD_RE = re.compile(r"\bquy (?:i{1,3}|iv|[1-4])\b|\b\d+ thang\b(?= (?:dau |cuoi )?nam)")


ORDINAL_WORDS = {"nhat": 1, "hai": 2, "ba": 3, "tu": 4, "bon": 4, "nam": 5, "sau": 6, "bay": 7, "tam": 8,
                 "chin": 9, "muoi": 10}
_ORDINAL_EVENT_RE = re.compile(
    r"\b(?:phien hop|hoi nghi|ky hop|lan|dot|khoa|nhiem ky)\s+thu\s+(\d{1,3}|" + "|".join(ORDINAL_WORDS) + r")\b")


def ordinal_value(word: str) -> int:
    return int(word) if word.isdigit() else ORDINAL_WORDS[word]


def _names_place(text: str, folded: str, place: str) -> bool:
    """The question names this province: capitalised ("Điện Biên", not "diễn biến"), unless the
    question is typed without capitals or accents at all ("lao cai tich hop ...")."""
    capitalised = any(w[0].isupper() and any(c.islower() for c in w[1:]) for w in words(text)[1:])
    lowercase = not capitalised and not has_diacritics(text)
    return any(lowercase or text[m.start()].isupper()
               for m in re.finditer(rf"\b{re.escape(place)}\b", folded))


def analyse(question: str, restored: str, places: list[str]) -> QuestionInfo:
    """`places` are folded place names known to the system (provinces); those in the
    question become constraints a passage must satisfy."""
    english = is_english(question)
    f = fold(restored)
    found_places = [p for p in places if _names_place(restored, f, p)]
    terms = [t for t in bm25_tokens(restored)
             if t not in QUESTION_WORDS and (not english or t not in ENGLISH_WORDS)]
    return QuestionInfo(
        text=question,
        restored=restored,
        english=english,
        answer_type=answer_type(question),
        years=[m.group(0) for m in _YEAR_RE.finditer(restored)],
        places=found_places,
        periods=[m.group(0) for m in _PERIOD_RE.finditer(f)],
        ordinals=[ordinal_value(m.group(1)) for m in _ORDINAL_EVENT_RE.finditer(f)],
        content_terms=list(dict.fromkeys(terms)),
    )
