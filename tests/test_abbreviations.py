"""Abbreviations ↔ full names: learned definitions, expansion both ways, use by the answerer."""

from __future__ import annotations

from rag.answerers.extractive import ExtractiveAnswerer
from rag.search.query import analyse
from rag.types import Chunk, Hit
from rag.vi.abbreviations import Abbreviations, learn
from rag.vi.gazetteer import FOLDED_PROVINCES


def test_learns_definitions_whose_initials_spell_the_abbreviation():
    texts = ["Đẩy mạnh chuyển đổi số (CĐS) ở các cấp.",
             "Bộ trưởng Bộ Nông nghiệp và Phát triển nông thôn (NN&PTNT) Lê Minh Hoan chia sẻ.",
             "Hệ thống định danh và xác thực điện tử (VNeID) của Bộ Công an.",
             "Kết quả năm 2024 (xem Phụ lục) gửi Văn phòng (BC) sau."]
    learned = learn(texts)
    assert learned["CĐS"] == "chuyển đổi số"
    assert learned["NN&PTNT"] == "Nông nghiệp và Phát triển nông thôn"
    assert "BC" not in learned  # the words before it do not spell it
    assert set(learned) == {"CĐS", "NN&PTNT"}


def test_expands_both_ways_and_keeps_the_ministry_prefix():
    a = Abbreviations({"CĐS": "chuyển đổi số"})
    assert "Ngân hàng Nhà nước" in a.expand("Thống đốc NHNN Nguyễn Thị Hồng cho biết")
    assert "Bộ Thông tin và Truyền thông" in a.expand("Theo Bộ TT&TT, tỷ lệ đạt 100%")
    assert "NHNN" in a.expand("Thống đốc Ngân hàng Nhà nước phát biểu")
    assert a.expand("Không có viết tắt nào ở đây").endswith("ở đây")


def test_abbreviation_inside_a_word_or_number_is_left_alone():
    a = Abbreviations()
    assert a.expand("Mã XUBNDX và số 12GDP3") == "Mã XUBNDX và số 12GDP3"


def test_answerer_accepts_a_passage_naming_the_ministry_by_its_abbreviation():
    text = "Theo Bộ TT&TT, 100% bộ, ngành, địa phương đã kiện toàn Ban Chỉ đạo chuyển đổi số."
    chunk = Chunk(chunk_id="c1", doc_id="d.txt", source="d.txt", title="Báo cáo", date=None, paragraph=1,
                  start=0, end=len(text), text=text)
    q = "Bộ Thông tin và Truyền thông cho biết tỷ lệ bộ, ngành, địa phương kiện toàn Ban Chỉ đạo là bao nhiêu?"
    ans = ExtractiveAnswerer(chunks=[chunk]).answer(analyse(q, q, FOLDED_PROVINCES), [Hit(chunk, 1.0)])
    assert ans.found and "100%" in ans.citations[0].quote
    assert ans.citations[0].quote in text  # the expansion never leaks into the quote
