"""rag.search.kinds: the one answer-kind table, as tables of cases."""

from __future__ import annotations

import pytest

from rag.search.kinds import ANSWER_TYPES, KINDS, answer_value, kind_of
from rag.search.query import analyse
from rag.vi.gazetteer import FOLDED_PROVINCES


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_every_kind_is_reachable_from_its_examples(kind) -> None:
    """A phrase that an earlier kind also matches would make its kind unreachable (the old
    "ngày nào" in the date rule, "bao lâu" in the number rule)."""
    for question in kind.examples:
        assert kind_of(question).name == kind.name, question


@pytest.mark.parametrize(
    "question, kind",
    [
        ("Luật có hiệu lực từ ngày nào?", "day"),
        ("What date was it signed?", "day"),
        ("Thủ tục kéo dài bao lâu?", "duration"),
        ("How long does it take?", "duration"),
        ("Luật có hiệu lực từ khi nào?", "date"),
        ("Năm nào tỉnh đạt mục tiêu?", "date"),
        ("Có bao nhiêu xã?", "number"),
        ("Thủ đô của nước Pháp là gì?", "other"),
    ],
)
def test_kind_of(question: str, kind: str) -> None:
    assert kind_of(question).name == kind


def test_table_order_is_the_answer_types() -> None:
    assert ANSWER_TYPES == tuple(k.name for k in KINDS)
    assert ANSWER_TYPES[-1] == "other"
    assert len(set(ANSWER_TYPES)) == len(ANSWER_TYPES)


@pytest.mark.parametrize(
    "question, text, value",
    [
        ("Trung tâm phải gửi bản sao trong thời hạn bao lâu?", "trong thời hạn 10 ngày, kể từ ngày nhận", "10 ngày"),
        ("Lào Cai tích hợp bao nhiêu dịch vụ công?", "tích hợp 1.305 dịch vụ công mức độ 3, 4",
         "1.305 dịch vụ"),
        ("Tỷ lệ hồ sơ trực tuyến đạt bao nhiêu?", "đạt 58,2% tổng số hồ sơ", "58,2%"),
        ("Hội nghị diễn ra vào ngày nào?", "Ngày 22/12/2023, hội nghị khai mạc", "22/12/2023"),
        ("Luật có hiệu lực từ ngày nào?", "có hiệu lực từ ngày 01 tháng 7 năm 2016.", "ngày 01 tháng 7 năm 2016"),
        ("Ai làm Trưởng ban chỉ đạo?", "Ông Nguyễn Văn An làm Trưởng ban", "Nguyễn Văn An"),
        ("Kinh phí năm 2023 là bao nhiêu?", "Kinh phí năm 2023 chưa được phân bổ", None),  # 2023 is given
        ("Đề án gồm những nhiệm vụ nào?", "Đề án gồm 5 nhiệm vụ", None),  # a list has no single value
    ],
)
def test_answer_value(question: str, text: str, value: str | None) -> None:
    info = analyse(question, question, FOLDED_PROVINCES)
    assert answer_value(info, text) == value


@pytest.mark.parametrize(
    "question, text, value",
    [
        ("Tỉnh có bao nhiêu doanh nghiệp số?", "mô hình 4.0 ở 11 doanh nghiệp số", "11 doanh nghiệp"),
        ("Bộ kết nối bao nhiêu dịch vụ công?", "kết nối 63 địa phương và 20 dịch vụ công", "20 dịch vụ"),
        ("Doanh thu là bao nhiêu?", "đạt 63 địa phương", "63"),
        ("Tỉnh bố trí bao nhiêu kinh phí?", "bố trí 45 tỷ đồng", "45 tỷ"),
    ],
)
def test_a_number_value_takes_its_counted_noun_only(question: str, text: str, value: str) -> None:
    info = analyse(question, question, FOLDED_PROVINCES)
    assert answer_value(info, text) == value
