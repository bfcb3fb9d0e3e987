"""rag.search.query: answer types, language detection and named constraints."""

from __future__ import annotations

import pytest

from rag.search.query import ANSWER_TYPES, analyse, answer_type, is_english
from rag.vi.gazetteer import FOLDED_PROVINCES


@pytest.mark.parametrize(
    "question, kind",
    [
        ("Lào Cai tích hợp bao nhiêu dịch vụ công?", "number"),
        ("lao cai tich hop bao nhieu dich vu cong", "number"),
        ("Có mấy nền tảng số dùng chung?", "number"),
        ("Việt Nam đứng thứ mấy trong bảng xếp hạng?", "ordinal"),
        ("Thủ tục này được giải quyết trong bao lâu?", "duration"),
        ("Tổng số doanh nghiệp số của tỉnh?", "number"),
        ("Tỷ lệ hồ sơ trực tuyến toàn trình là bao nhiêu?", "percent"),
        ("Tỷ trọng kinh tế số trong GRDP đạt bao nhiêu?", "percent"),
        ("Hồ sơ trực tuyến đạt bao nhiêu phần trăm?", "percent"),
        ("Ngày Chuyển đổi số quốc gia là ngày nào?", "day"),
        ("Hội nghị diễn ra vào ngày bao nhiêu?", "day"),
        ("Khi nào tỉnh hoàn thành kế hoạch?", "date"),
        ("Thời hạn nộp báo cáo là bao giờ?", "date"),
        ("Năm nào tỉnh đạt mục tiêu?", "date"),
        ("Ai chủ trì hội nghị?", "person"),
        ("Người chủ trì phiên họp là ai?", "person"),
        ("Đồng chí nào phát biểu khai mạc?", "person"),
        ("Những tỉnh nào đạt trên 80%?", "list"),
        ("Kế hoạch gồm những nhiệm vụ nào?", "list"),
        ("Liệt kê các nền tảng số quốc gia", "list"),
        ("Quyết định số mấy phê duyệt đề án?", "decision"),
        ("Nghị quyết số bao nhiêu về chuyển đổi số?", "decision"),
        ("Văn bản số hiệu gì quy định việc này?", "decision"),
        ("Mục tiêu của đề án là gì?", "other"),
        ("How many public services has Lao Cai integrated?", "number"),
        ("How much was invested?", "number"),
        ("When was the plan approved?", "date"),
        ("Who chaired the meeting?", "person"),
        ("What percentage of records were processed online?", "percent"),
        ("Which decision approved the programme?", "decision"),
    ],
)
def test_answer_type(question: str, kind: str) -> None:
    assert kind in ANSWER_TYPES
    assert answer_type(question) == kind


@pytest.mark.parametrize(
    "text, english",
    [
        ("How many public services has Lao Cai integrated?", True),
        ("What is the number of services in Lào Cai?", True),
        ("When was the digital transformation plan approved?", True),
        ("Lào Cai tích hợp bao nhiêu dịch vụ công?", False),
        ("lao cai tich hop bao nhieu dich vu cong", False),
        ("Lào Cai", False),
        ("the", False),  # a single function word is not enough
        ("", False),
    ],
)
def test_is_english(text: str, english: bool) -> None:
    assert is_english(text) is english


def _analyse(q: str):
    return analyse(q, q, FOLDED_PROVINCES)


def test_analyse_years_places_periods() -> None:
    info = _analyse("Trong quý I/2022, Lào Cai và Đà Nẵng tích hợp bao nhiêu dịch vụ công?")
    assert info.answer_type == "number"
    assert not info.english
    assert "2022" in info.years
    assert set(info.places) == {"lao cai", "da nang"}
    assert info.periods == ["quy i"]


@pytest.mark.parametrize(
    "question, periods",
    [
        ("Kết quả quý IV năm 2023 ra sao?", ["quy iv"]),
        ("Quý 2 tỉnh đạt bao nhiêu?", ["quy 2"]),
        ("6 tháng đầu năm 2023 Hà Nội đạt bao nhiêu?", ["6 thang"]),
        ("9 tháng năm 2022 tỉnh thu bao nhiêu?", ["9 thang"]),
        ("Sau 6 tháng triển khai, tỉnh đạt gì?", []),  # not a reporting period
    ],
)
def test_analyse_periods(question: str, periods: list[str]) -> None:
    assert _analyse(question).periods == periods


@pytest.mark.parametrize("question, ordinals", [
    ("Phiên họp thứ hai của Ủy ban diễn ra ngày nào?", [2]),
    ("phien hop thu nhat cua uy ban co bao nhieu diem cau", [1]),
    ("Kỳ họp thứ 8 thông qua nghị quyết nào?", [8]),
    ("Phiên họp lần thứ mấy?", []),
    ("Thứ trưởng nào dự họp?", []),
])
def test_analyse_ordinal_events(question: str, ordinals: list[int]) -> None:
    assert analyse(question, question, FOLDED_PROVINCES).ordinals == ordinals


def test_analyse_unaccented_places_are_folded() -> None:
    info = _analyse("ha noi co bao nhieu tram 5G nam 2023")
    assert info.places == ["ha noi"]
    assert info.years == ["2023"]


def test_analyse_places_match_whole_words_only() -> None:
    assert _analyse("Tỉnh có bao nhiêu huyện?").places == []
    info = _analyse("Thừa Thiên Huế có bao nhiêu dịch vụ?")
    assert "thua thien hue" in info.places


def test_analyse_content_terms_drop_question_words() -> None:
    info = _analyse("Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert "bao" not in info.content_terms and "nhieu" not in info.content_terms
    assert {"tich", "hop", "dich", "vu", "cong"} <= set(info.content_terms)
    assert len(info.content_terms) == len(set(info.content_terms))


def test_analyse_english_keeps_its_own_words() -> None:
    """No glossary: the multilingual embedder meets Vietnamese passages; BM25 gets the names."""
    info = _analyse("How many public services has Lao Cai integrated?")
    assert info.english
    assert {"public", "services", "integrated", "lao", "cai"} <= set(info.content_terms)
    assert "dich" not in info.content_terms
    assert "how" not in info.content_terms and "many" not in info.content_terms
    assert info.places == ["lao cai"]


def test_search_text_is_restored_question() -> None:
    info = analyse("lao cai", "lào cai", FOLDED_PROVINCES)
    assert info.search_text == "lào cai"
    assert info.text == "lao cai"
