"""Legal header fields, near-duplicate fingerprints and page furniture, on inline fixtures."""

from __future__ import annotations

import pytest

from rag.ingest.dedup import containment, fingerprint, is_duplicate
from rag.ingest.formats.page_furniture import remove_furniture
from rag.ingest.legal_meta import parse_legal_meta

HEADER = """HỘI ĐỒNG NHÂN DÂN
TỈNH CAO BẰNG
——-
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập – Tự do – Hạnh phúc
Số: 33/2022/NQ-HĐND Cao Bằng, ngày 15 tháng 7 năm 2022
NGHỊ QUYẾT
QUY ĐỊNH MỨC THU LỆ PHÍ"""


@pytest.mark.parametrize("text, number, dtype, issuer, issued", [
    (HEADER, "33/2022/NQ-HĐND", "Nghị quyết", "HỘI ĐỒNG NHÂN DÂN TỈNH CAO BẰNG", "2022-07-15"),
    ("BỘ Y TẾ\nSố:    /QĐ-BYT\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nHà Nội, ngày   tháng   năm 2025\nQUYẾT ĐỊNH\n"
     "Về việc công bố thủ tục hành chính", None, "Quyết định", "BỘ Y TẾ", None),
    ("Nghị quyết số 57-NQ/TW\nThay mặt Bộ Chính trị, Tổng Bí thư đã ký ban hành Nghị quyết số 57-NQ/TW "
     "(ngày 22/12/2024)", "57-NQ/TW", "Nghị quyết", "Trung ương Đảng", "2024-12-22"),
    ("THỦ TƯỚNG CHÍNH PHỦ CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM\nSố: 1360/QĐ-TTg Hà Nội, ngày 26 tháng 6 năm 2025\n"
     "QUYẾT ĐỊNH", "1360/QĐ-TTg", "Quyết định", "THỦ TƯỚNG CHÍNH PHỦ", "2025-06-26"),
    ("QUỐC HỘI\n-------- | CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nLuật số: 24/2018/QH14 | Hà Nội, ngày 12 tháng 6 "
     "năm 2018\nLUẬT\nAN NINH MẠNG", "24/2018/QH14", "Luật", "QUỐC HỘI", "2018-06-12"),
])
def test_parse_legal_meta(text, number, dtype, issuer, issued):
    meta = parse_legal_meta(text)
    assert (meta.doc_number, meta.doc_type, meta.issuer, meta.issued) == (number, dtype, issuer, issued)


def test_news_article_has_no_legal_meta():
    assert not parse_legal_meta("Lào Cai đẩy mạnh dịch vụ công trực tuyến\nCập nhật: 10/05/2023 09:30\nTính đến nay...")


ARTICLE = " ".join(f"Điều {i}. Hội đồng nhân dân tỉnh quyết nghị mức thu lệ phí số {i * 7} đồng cho hồ sơ "
                   f"loại {i} theo quy định của pháp luật hiện hành." for i in range(1, 60))


def test_near_duplicates():
    a = fingerprint(ARTICLE)
    rewrapped = fingerprint(ARTICLE.replace(". ", ".\n") + " Phụ lục kèm theo gồm danh mục hồ sơ.")
    other = fingerprint(ARTICLE.replace("lệ phí", "phí thẩm định").replace("hồ sơ", "dự án"))
    assert is_duplicate(a, rewrapped) and containment(a, rewrapped) > 0.95
    assert not is_duplicate(a, other)
    assert not is_duplicate(a, fingerprint(ARTICLE[:len(ARTICLE) // 4]))  # an excerpt is not a copy
    assert not is_duplicate(a, [])


def test_page_furniture_removed():
    topics = ["lệ phí", "thuế", "đất đai", "xây dựng", "y tế"]
    pages = [f"CÔNG BÁO/Số 12\nNội dung về {t} của tỉnh.\nDòng cuối trang {i}. {i}"
             for i, t in enumerate(topics, 1)]
    out = remove_furniture(pages)
    assert out[0].startswith("CÔNG BÁO/Số 12") and not any("CÔNG BÁO" in p for p in out[1:])
    assert all(p.rstrip().endswith(f"Dòng cuối trang {i}.") for i, p in enumerate(out, 1))
    assert all(f"Nội dung về {t}" in p for t, p in zip(topics, out))


def test_page_numbers_on_their_own_line():
    pages = [f"- {i} -\nĐiều {i}. Quy định chung về lệ phí.\nKhoản 1 của điều {i}." for i in range(1, 5)]
    out = remove_furniture(pages)
    assert not any(p.startswith("-") for p in out)
    assert remove_furniture(["một trang"]) == ["một trang"]
