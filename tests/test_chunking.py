"""rag.ingest.chunking: documents laid out from RawFiles and cut into verbatim, stable chunks."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest.chunking import PARA_SEP, build_document, chunk_document, estimate_tokens
from rag.ingest.files import RawFile
from rag.vi.text import split_sentences

TITLE = "Hòa Lâm tổng kết năm chuyển đổi số"
P_SHORT = "Kết quả nổi bật"
P1 = ("Trong năm qua, tỉnh đã đưa vào vận hành trung tâm điều hành thông minh, kết nối dữ liệu của "
      "20 sở, ngành và 9 huyện, thành phố để theo dõi chỉ số phục vụ người dân.")
P2 = ("Các doanh nghiệp viễn thông đã lắp đặt thêm 310 trạm phát sóng 5G, bảo đảm vùng phủ tại toàn "
      "bộ khu công nghiệp và trung tâm các huyện trên địa bàn tỉnh.")
LONG = " ".join(
    f"Nhiệm vụ thứ {i} của kế hoạch là hoàn thiện nền tảng số dùng chung cho {i * 10} cơ quan, "
    f"bảo đảm an toàn thông tin và kết nối liên thông với hệ thống của các bộ, ngành."
    for i in range(1, 13)
)
TEXT = "\n".join([TITLE, "Cập nhật: 20/12/2023 10:00", P_SHORT, P1, P2, LONG])


def _raw(text: str = TEXT, name: str = "tong_ket.txt") -> RawFile:
    return RawFile(Path("/corpus") / name, [text], False)


@pytest.fixture(scope="module")
def doc():
    return build_document(_raw())


@pytest.fixture(scope="module")
def chunks(doc):
    return chunk_document(doc, max_tokens=120, min_chars=120)


def test_document_fields(doc) -> None:
    assert doc.doc_id == "tong_ket.txt"
    assert doc.source == "tong_ket.txt"
    assert doc.title == TITLE
    assert doc.date == "2023-12-20"
    assert doc.pages == []
    assert doc.text.split(PARA_SEP) == [TITLE, P_SHORT, P1, P2, LONG]
    assert len(doc.content_hash) == 16


def test_explicit_doc_id_wins() -> None:
    assert build_document(_raw(), doc_id="custom").doc_id == "custom"


def test_every_chunk_is_an_exact_slice(doc, chunks) -> None:
    assert chunks
    for c in chunks:
        assert c.text == doc.text[c.start:c.end]
        assert c.doc_id == doc.doc_id and c.source == doc.source
        assert c.title == doc.title and c.date == doc.date
        assert c.page is None


def test_chunks_are_in_order_and_do_not_overlap(chunks) -> None:
    for a, b in zip(chunks, chunks[1:]):
        assert a.end <= b.start


def test_every_sentence_lands_in_some_chunk(doc, chunks) -> None:
    covered = "".join(c.text for c in chunks)
    for s, e in split_sentences(LONG):
        assert LONG[s:e] in covered
    for para in (TITLE, P_SHORT, P1, P2):
        assert para in covered


def test_tiny_paragraphs_are_merged_into_the_next(chunks) -> None:
    first = chunks[0]
    assert first.text == PARA_SEP.join([TITLE, P_SHORT, P1])
    assert first.paragraph == 1
    assert not any(c.text in (TITLE, P_SHORT) for c in chunks)


def test_long_paragraph_is_split_at_sentence_boundaries(doc, chunks) -> None:
    long_start = doc.text.index(LONG)
    pieces = [c for c in chunks if c.start >= long_start]
    assert len(pieces) > 1
    assert {c.paragraph for c in pieces} == {5}
    sentence_starts = {long_start + s for s, _ in split_sentences(LONG)}
    sentence_ends = {long_start + e for _, e in split_sentences(LONG)}
    for c in pieces:
        assert estimate_tokens(c.text) <= 120
        assert c.start in sentence_starts and c.end in sentence_ends


def test_chunk_ids_stable_across_runs(chunks) -> None:
    again = chunk_document(build_document(_raw()), max_tokens=120, min_chars=120)
    assert [c.chunk_id for c in again] == [c.chunk_id for c in chunks]
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_chunk_id_changes_with_text_and_with_document(chunks) -> None:
    edited = chunk_document(build_document(_raw(TEXT.replace("310 trạm", "320 trạm"))),
                            max_tokens=120, min_chars=120)
    old_ids = {c.chunk_id for c in chunks}
    changed = [c for c in edited if c.chunk_id not in old_ids]
    assert [c.text for c in changed] == [P2.replace("310", "320")]
    other_doc = chunk_document(build_document(_raw(name="ban_sao.txt")), max_tokens=120, min_chars=120)
    assert not old_ids & {c.chunk_id for c in other_doc}


def test_single_short_document_is_one_chunk() -> None:
    doc = build_document(_raw("Hòa Lâm có 9 huyện.\nTỉnh có 1.305 dịch vụ công."))
    chunks = chunk_document(doc)
    assert len(chunks) == 1
    assert chunks[0].text == doc.text


def test_empty_document_has_no_chunks() -> None:
    doc = build_document(_raw("Thống kê truy cập\nĐang truy cập: 3"))
    assert doc.text == ""
    assert chunk_document(doc) == []


def test_short_last_paragraph_joins_the_previous_chunk() -> None:
    text = "\n".join([TITLE, P1, P2, "Hội nghị kết thúc lúc 17 giờ cùng ngày."])
    chunks = chunk_document(build_document(_raw(text)))
    assert all(len(c.text) >= 120 for c in chunks)
    assert chunks[-1].text.endswith(P2 + PARA_SEP + "Hội nghị kết thúc lúc 17 giờ cùng ngày.")


# ------------------------------------------------------------------ PDFs

PDF_PAGE_1 = (
    "Mục tiêu chung là đưa tỉnh vào nhóm dẫn đầu cả nước về chuyển đổi\n"
    "số, với chính quyền số, kinh tế số và xã hội số phát triển đồng bộ, bền vững.\n"
    "Đến hết năm 2024, 100% hồ sơ công việc cấp tỉnh được xử lý trên môi\n"
    "trường mạng, trừ hồ sơ công việc thuộc phạm vi bí mật nhà nước."
)
PDF_PAGE_2 = (
    "Nhiệm vụ trọng tâm là hoàn thiện hạ tầng số, phủ sóng di động băng rộng\n"
    "tới 100% thôn, bản và xây dựng trung tâm dữ liệu dùng chung của tỉnh.\n"
    "Kinh phí thực hiện kế hoạch được bố trí từ ngân sách nhà nước và các\n"
    "nguồn vốn hợp pháp khác theo quy định của pháp luật hiện hành."
)


def test_pdf_chunks_keep_page_numbers() -> None:
    doc = build_document(RawFile(Path("ke_hoach.pdf"), [PDF_PAGE_1, PDF_PAGE_2], True))
    assert [num for _, num in doc.pages] == [1, 2]
    chunks = chunk_document(doc, min_chars=60)
    assert {c.page for c in chunks} == {1, 2}
    for c in chunks:
        assert c.text == doc.text[c.start:c.end]
        expected = 1 if c.text.split()[0] in {"Mục", "Đến"} else 2
        assert c.page == expected, c.text
    by_page = {n: " ".join(c.text for c in chunks if c.page == n) for n in (1, 2)}
    assert "môi trường mạng" in by_page[1]  # the wrapped line was rejoined
    assert "băng rộng tới 100% thôn" in by_page[2]


def test_pdf_page_number_footers_do_not_leak_into_chunks() -> None:
    doc = build_document(RawFile(Path("ke_hoach.pdf"), [PDF_PAGE_1 + "\n1", PDF_PAGE_2 + "\n2"], True))
    chunks = chunk_document(doc, min_chars=60)
    assert not any(c.text.strip().split()[0] in {"1", "2"} for c in chunks)
    nhiem_vu = next(c for c in chunks if "Nhiệm vụ trọng tâm" in c.text)
    assert nhiem_vu.page == 2
