"""The answerer protocol: question + ranked passages → Answer with citations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..search.query import QuestionInfo
from ..types import Answer, Chunk, Citation, Hit

NOT_FOUND = "Không tìm thấy thông tin này trong tài liệu."


class Answerer(Protocol):
    name: str

    def answer(self, info: QuestionInfo, hits: list[Hit]) -> Answer: ...


class CorpusContext(Protocol):
    """What the extractive answerer reads of the corpus beyond the passages it is handed: the
    passage before each (a split paragraph's lead-in), the whole document (its years and
    ministries) and how rare a word is. In memory for a local index; asked of the database for a
    store read in place, which `prefetch` lets answer a question's needs in a few queries."""

    def prefetch(self, chunks: Sequence[Chunk], terms: Sequence[str]) -> None: ...

    def previous_text(self, chunk: Chunk) -> str: ...

    def document_text(self, chunk: Chunk) -> str: ...

    def idf(self, term: str) -> float | None: ...


def citation(n: int, hit: Hit, quote: str = "") -> Citation:
    return Citation.of(n, hit, quote)


def not_found(info: QuestionInfo, hits: list[Hit]) -> Answer:
    """The honest refusal, with the closest passages as related reading."""
    return Answer(question=info.text, answer=NOT_FOUND, found=False,
                  related=[citation(i + 1, h) for i, h in enumerate(hits)])
