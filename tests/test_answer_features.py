"""rag.answerers.features and scorer: each feature on a tiny case, and the fitted weights file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.answerers.extractive import ExtractiveAnswerer
from rag.answerers.features import FEATURES, question_entities
from rag.answerers.scorer import WEIGHTS_PATH, AnswerScorer, default_scorer
from rag.config import PACKAGED_MODEL
from rag.errors import IndexStateError
from rag.search.query import analyse
from rag.types import Chunk, Hit
from rag.vi.gazetteer import FOLDED_PROVINCES

PASSAGE = ("Luật Trọng tài quy định về việc gửi đơn khởi kiện. "
           "Trung tâm trọng tài phải gửi cho bị đơn bản sao đơn khởi kiện. "
           "Thời hạn gửi là 10 ngày kể từ ngày nhận được đơn khởi kiện.")


def _hits(*texts: str, cosine: float = 0.85) -> list[Hit]:
    return [Hit(Chunk(chunk_id=f"c{i}", doc_id=f"d{i}", source=f"d{i}.txt", title="Luật Trọng tài",
                      date=None, text=t, paragraph=0, start=0, end=len(t)), 1.0 / (i + 1), cosine=cosine - 0.01 * i)
            for i, t in enumerate(texts)]


def _features(question: str, *texts: str) -> tuple[list[str], np.ndarray]:
    hits = _hits(*texts)
    info = analyse(question, question, FOLDED_PROVINCES)
    spans, x = ExtractiveAnswerer(model_id=PACKAGED_MODEL).candidates(info, hits)
    return [hits[h].chunk.text[s:e] for h, s, e in spans], x


def col(name: str) -> int:
    return FEATURES.index(name)


@pytest.mark.parametrize(
    "question, entities",
    [
        ("Bà Cúc đưa Phạm Văn Đồng đến nơi nào ở Hà Nội?", ["cuc", "pham van dong", "ha noi"]),
        ("Who chaired the meeting in Lào Cai?", ["lao cai"]),
        ("thủ đô của nước pháp là gì?", []),
    ],
)
def test_question_entities(question: str, entities: list[str]) -> None:
    assert question_entities(question) == entities


def test_value_and_restating_features() -> None:
    units, x = _features("Trung tâm trọng tài phải gửi bản sao đơn khởi kiện trong thời hạn bao lâu?", PASSAGE)
    restating = units.index("Trung tâm trọng tài phải gửi cho bị đơn bản sao đơn khởi kiện.")
    answer = units.index("Thời hạn gửi là 10 ngày kể từ ngày nhận được đơn khởi kiện.")
    assert x[answer, col("has_value")] == 1 and x[restating, col("has_value")] == 0
    assert x[restating, col("missing_value")] == 1 and x[answer, col("asks_value")] == 1
    assert x[restating, col("novel")] < x[answer, col("novel")]
    assert x[answer, col("prev_cov")] == pytest.approx(x[restating, col("cov")])  # its lead-in restates
    assert x[restating, col("first_in_passage")] == 0 and x[0, col("first_in_passage")] == 1


def test_rank_and_entity_features() -> None:
    units, x = _features("Ông Phạm Văn Đồng sinh năm nào?", "Phạm Văn Đồng sinh năm 1906 ở Quảng Ngãi.",
                         "Hồ Chí Minh sinh năm 1890.")
    first, second = 0, 1
    assert x[first, col("rank_inv")] > x[second, col("rank_inv")]
    assert x[first, col("entity_in_passage")] == 1 and x[second, col("entity_in_passage")] == 0
    assert x[second, col("cosine_gap")] > x[first, col("cosine_gap")] == 0


def test_the_fitted_weights_load_and_name_their_data() -> None:
    scorer = default_scorer()
    assert scorer.candidate.features == FEATURES
    assert 0 < scorer.threshold < 1
    data = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))["provenance"]
    assert "devsets" in data["data"] and "never eval/qa.jsonl" in data["data"]
    assert scorer.candidate.probabilities(np.zeros((3, len(FEATURES)))).shape == (3,)


@pytest.mark.parametrize("damage", ["not json", '{"format": 99}', '{"format": 1, "candidate": {}}'])
def test_broken_weights_give_one_clear_error(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "w.json"
    path.write_text(damage, encoding="utf-8")
    with pytest.raises(IndexStateError, match="fit_answer_scorer"):
        AnswerScorer.load(path)


def test_weights_with_other_features_are_refused(tmp_path: Path) -> None:
    d = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    d["candidate"]["features"] = d["candidate"]["features"][:-1]
    path = tmp_path / "w.json"
    path.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(IndexStateError, match="refit"):
        AnswerScorer.load(path)


def test_a_place_the_passage_lacks_gates_every_candidate() -> None:
    """The kept rule: "Hà Giang …?" is not answered from a passage about Lào Cai."""
    hits = _hits("Tỉnh Lào Cai đã tích hợp 1.305 dịch vụ công lên Cổng Dịch vụ công quốc gia.")
    info = analyse("Tỉnh Hà Giang tích hợp bao nhiêu dịch vụ công?", "Tỉnh Hà Giang tích hợp bao nhiêu dịch vụ công?",
                   FOLDED_PROVINCES)
    ans = ExtractiveAnswerer().answer(info, hits)
    assert not ans.found


def test_a_long_quote_leads_with_its_value() -> None:
    text = ("Nếu các bên không có thoả thuận khác, trong thời hạn 10 ngày, kể từ ngày nhận được đơn khởi kiện, "
            "các tài liệu kèm theo và chứng từ nộp tạm ứng phí trọng tài, Trung tâm trọng tài phải gửi bản sao.")
    q = "Trung tâm trọng tài phải gửi bản sao đơn khởi kiện trong thời hạn bao lâu kể từ ngày nhận được đơn?"
    ans = ExtractiveAnswerer().answer(analyse(q, q, FOLDED_PROVINCES), _hits(text))
    assert ans.found and ans.value == "10 ngày"
    assert ans.answer.startswith("10 ngày — ") and ans.citations[0].quote in text
    assert ans.to_json_dict()["value"] == "10 ngày"
