"""Legacy font encodings, syllable checks and split-word repair, on inline fixtures."""

from __future__ import annotations

import pytest

from rag.vi.legacy_encoding import convert_pages, detect, dominant, fix_capitals_font, join_split_syllables, to_unicode
from rag.vi.syllables import is_syllable, marked_share, syllable_share

TCVN3 = ("QuyÕt ®Þnh cña Thñ t−íng ChÝnh phñ vÒ viÖc söa ®æi, bæ sung Quy chÕ thµnh lËp, tæ chøc vµ "
         "ho¹t ®éng cña Quü b¶o l·nh tÝn dông cho doanh nghiÖp nhá vµ võa")
VNI = "COÄNG HOAØ XAÕ HOÄI CHUÛ NGHÓA VIEÄT NAM. Ñoäc laäp – Töï do – Haïnh phuùc. Quyeát ñònh cuûa UÛy ban"


@pytest.mark.parametrize("word, ok", [
    ("Hiệu", True), ("lực", True), ("tướng", True), ("nghiệp", True), ("ĐỊNH", True), ("gì", True),
    ("quốc", True), ("khuya", True), ("l", False), ("ớng", False), ("CQNG", False), ("HQI", False),
    ("VIPT", False), ("bàt", False), ("cHUNG", False), ("", False),
])
def test_is_syllable(word, ok):
    assert is_syllable(word) is ok


def test_shares():
    assert syllable_share("Cộng hòa xã hội chủ nghĩa Việt Nam") == 1.0
    assert syllable_share("CQNG HOA XA HQI") == 0.5
    assert marked_share("Cộng hòa xã hội") == 1.0 and marked_share("Cong hoa") == 0.0


def test_tcvn3_detected_and_converted():
    conv = to_unicode(TCVN3)
    assert conv.encoding == "tcvn3"
    assert conv.text.startswith("Quyết định của Thủ tướng Chính phủ về việc sửa đổi")


def test_vni_detected_and_converted():
    conv = to_unicode(VNI)
    assert conv.encoding == "vni"
    assert "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM" in conv.text and "Độc lập" in conv.text


@pytest.mark.parametrize("text", [
    "Quyết định của Thủ tướng Chính phủ về việc sửa đổi quy chế hoạt động của quỹ bảo lãnh tín dụng",
    "El señor presidente visitó la ciudad y habló con los niños sobre el año próximo en España",
    "The quick brown fox jumps over the lazy dog and keeps running through the field all day",
])
def test_unicode_and_other_languages_left_alone(text):
    assert detect(text) is None
    assert to_unicode(text).text == text


def test_pdf_glyph_substitutes_with_spaces_are_letters():
    # Distiller PDFs give TCVN3's "ư" as U+2212, sometimes with spaces around it
    conv = to_unicode("Thñ t− íng ChÝnh phñ; vèn ®Çu t − n−íc ngoµi; ®Þa ph −¬ng " + TCVN3)
    assert conv.text.startswith("Thủ tướng Chính phủ; vốn đầu tư nước ngoài; địa phương")


def test_minus_between_digits_stays_a_minus():
    conv = to_unicode("nhiÖt ®é 5 − 3 ®é " + TCVN3)
    assert "5 − 3" in conv.text


def test_capitals_font_words_upper_cased():
    assert fix_capitals_font("NGHị ĐịNH CủA CHÍNH PHủ") == "NGHỊ ĐỊNH CỦA CHÍNH PHỦ"
    assert fix_capitals_font("Hà Nội, ngày 2") == "Hà Nội, ngày 2"
    assert fix_capitals_font("theo NGHị ĐịNH số 5") == "theo NGHỊ ĐỊNH số 5"


@pytest.mark.parametrize("text, aggressive, expected", [
    ("Hiệu l ực thi hành", False, "Hiệu lực thi hành"),
    ("nhà n ước", False, "nhà nước"),
    ("Thủ tư ớng", False, "Thủ tướng"),
    ("l ự c", False, "lực"),
    ("doanh nghi ệp", False, "doanh nghi ệp"),
    ("doanh nghi ệp", True, "doanh nghiệp"),
    ("Trung ương, sản xuất ước đạt", True, "Trung ương, sản xuất ước đạt"),
    ("các tổ chức, cá nhân", True, "các tổ chức, cá nhân"),
])
def test_join_split_syllables(text, aggressive, expected):
    assert join_split_syllables(text, aggressive) == expected


def test_join_never_changes_clean_text():
    text = ("Phát triển khoa học, công nghệ, đổi mới sáng tạo và chuyển đổi số quốc gia là đột phá quan "
            "trọng hàng đầu, là động lực chính để phát triển nhanh lực lượng sản xuất hiện đại, ở đó "
            "có ý kiến, ăn ở, ao hồ, ô tô, u ám, ê a, ai ơi.")
    assert join_split_syllables(text) == text


def test_per_page_detection_keeps_unicode_pages():
    unicode_page = "Quyết định của Thủ tướng Chính phủ về việc sửa đổi quy chế. " * 5
    pages, found = convert_pages([TCVN3 * 3, unicode_page, ""])
    assert found == ["tcvn3", None, None]
    assert pages[1] == unicode_page and "Quyết định" in pages[0]
    assert dominant(found) == "tcvn3" and dominant([None]) is None
    assert dominant(["tcvn3", "vni", "tcvn3"]) == "mixed:tcvn3+vni"
