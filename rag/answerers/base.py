"""The answerer protocol: question + ranked passages → Answer with citations."""

from __future__ import annotations

from typing import Protocol

from ..search.query import QuestionInfo
from ..types import Answer, Citation, Hit

NOT_FOUND = "Không tìm thấy thông tin này trong tài liệu."


class Answerer(Protocol):
    name: str

    def answer(self, info: QuestionInfo, hits: list[Hit]) -> Answer: ...


def citation(n: int, hit: Hit, quote: str = "") -> Citation:
    return Citation.of(n, hit, quote)


def not_found(info: QuestionInfo, hits: list[Hit]) -> Answer:
    """The honest refusal, with the closest passages as related reading."""
    return Answer(question=info.text, answer=NOT_FOUND, found=False,
                  related=[citation(i + 1, h) for i, h in enumerate(hits)])
