"""rag.vi.text: accent folding, tokens, sentences and number canonicalisation."""

from __future__ import annotations

import unicodedata

import pytest

from rag.vi.text import (
    YEAR_RE,
    bm25_tokens,
    canonical_number,
    fold,
    has_diacritics,
    iso_date,
    no_spaces,
    numbers_in,
    split_sentences,
    squash_spaces,
    words,
)


@pytest.mark.parametrize(
    "text, folded",
    [
        ("Lào Cai tích hợp", "lao cai tich hop"),
        ("Đà Nẵng", "da nang"),
        ("đường ĐẮK LẮK", "duong dak lak"),
        ("Thừa Thiên Huế", "thua thien hue"),
        ("Hòa Bình / Hoà Bình", "hoa binh / hoa binh"),  # both tone placements fold alike
        ("CHUYỂN ĐỔI SỐ", "chuyen doi so"),
        ("1.305 dịch vụ, 81,7%", "1.305 dich vu, 81,7%"),
        ("plain ascii", "plain ascii"),
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_accepts_decomposed_input() -> None:
    nfd = unicodedata.normalize("NFD", "Lào Cai tích hợp dịch vụ công")
    assert nfd != "Lào Cai tích hợp dịch vụ công"
    assert fold(nfd) == "lao cai tich hop dich vu cong"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Lào Cai", True),
        ("đi", True),  # đ is a letter, not a mark, but still Vietnamese spelling
        ("Đ", True),
        ("lao cai tich hop", False),
        ("LAO CAI", False),
        ("1.305", False),
        ("", False),
    ],
)
def test_has_diacritics(text: str, expected: bool) -> None:
    assert has_diacritics(text) is expected


def test_bm25_tokens_fold_and_lowercase() -> None:
    assert bm25_tokens("Lào Cai TÍCH HỢP dịch vụ") == ["lao", "cai", "tich", "hop", "dich", "vu"]


@pytest.mark.parametrize(
    "text, whole, parts",
    [
        ("tích hợp 1.305 dịch vụ", "1.305", ["1", "305"]),
        ("đạt 81,7%", "81,7", ["81", "7"]),
        ("ngày 10/10/2023", "10/10/2023", ["10", "10", "2023"]),
        ("3.552.000 đồng", "3.552.000", ["3", "552", "000"]),
    ],
)
def test_bm25_tokens_keep_numbers_whole_and_split(text: str, whole: str, parts: list[str]) -> None:
    toks = bm25_tokens(text)
    assert whole in toks
    i = toks.index(whole)
    assert toks[i + 1:i + 1 + len(parts)] == parts


def test_bm25_tokens_plain_number_is_not_duplicated() -> None:
    assert bm25_tokens("năm 2023") == ["nam", "2023"]


def test_bm25_tokens_sentence_punctuation_is_not_part_of_numbers() -> None:
    toks = bm25_tokens("Tổng số là 1.305. Năm sau tăng.")
    assert "1.305" in toks
    assert "1.305." not in toks


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Tỉnh đã tích hợp 1.305 dịch vụ công trực tuyến.",
        "Tỷ lệ hồ sơ trực tuyến đạt 81,7% trong quý I.",
        "Hội nghị tổ chức tại TP.HCM với 300 đại biểu.",
        "Kinh phí là 3.552.000 đồng, bằng 58,2% dự toán.",
        "Quyết định số 27/QĐ-UBND ngày 10.01.2023 có hiệu lực.",
    ],
)
def test_split_sentences_keeps_numbers_and_abbreviations_whole(text: str) -> None:
    assert _sentences(text) == [text]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Tỉnh tích hợp 1.305 dịch vụ. Tỷ lệ đạt 81,7% tại TP.HCM.",
            ["Tỉnh tích hợp 1.305 dịch vụ.", "Tỷ lệ đạt 81,7% tại TP.HCM."],
        ),
        ("Kết quả tốt! Năm sau tăng tiếp? Có.", ["Kết quả tốt!", "Năm sau tăng tiếp?", "Có."]),
        ("Năm nay đạt kế hoạch. 2024 là năm bứt phá.", ["Năm nay đạt kế hoạch.", "2024 là năm bứt phá."]),
        ("Ông nói: “Làm ngay.” Đại biểu đồng tình.", ["Ông nói: “Làm ngay.”", "Đại biểu đồng tình."]),
        ("Đợt một xong. Đợt hai bắt đầu.", ["Đợt một xong.", "Đợt hai bắt đầu."]),
    ],
)
def test_split_sentences_splits_before_a_capital(text: str, expected: list[str]) -> None:
    assert _sentences(text) == expected


def test_split_sentences_does_not_split_before_lowercase() -> None:
    text = "Các nền tảng v.v. và dịch vụ dùng chung."
    assert _sentences(text) == [text]


@pytest.mark.parametrize(
    "text",
    ["Các nền tảng v.v. được triển khai đồng bộ.", "Kinh phí khoảng 3 tr. đồng mỗi năm."],
)
def test_split_sentences_does_not_split_before_lowercase_accented_word(text: str) -> None:
    assert _sentences(text) == [text]


def test_split_sentences_spans_are_trimmed_offsets_into_the_text() -> None:
    text = "  Câu thứ nhất.   Câu thứ hai.  "
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["Câu thứ nhất.", "Câu thứ hai."]
    assert all(not text[s].isspace() and not text[e - 1].isspace() for s, e in spans)


def test_split_sentences_empty() -> None:
    assert split_sentences("") == []
    assert split_sentences("   ") == []


@pytest.mark.parametrize(
    "token, canonical",
    [
        ("1.305", "1305"),
        ("1305", "1305"),
        ("58,2", "58.2"),
        ("58.2", "58.2"),  # '.' not followed by exactly three digits is a decimal point
        ("81,7", "81.7"),
        ("3.552.000", "3552000"),
        ("1.305,5", "1305.5"),
        (" 2023 ", "2023"),
    ],
)
def test_canonical_number(token: str, canonical: str) -> None:
    assert canonical_number(token) == canonical


def test_numbers_in_returns_canonical_values() -> None:
    assert numbers_in("Tích hợp 1.305 dịch vụ, đạt 58,2% năm 2023") == ["1305", "58.2", "2023"]


def test_words_keep_number_groupings() -> None:
    assert words("1.305 dịch vụ, 81,7% và 10/10") == ["1.305", "dịch", "vụ", "81,7", "và", "10/10"]


def test_words_split_decision_number_at_letters() -> None:
    assert words("Quyết định 27/QĐ của tỉnh")[2:4] == ["27", "QĐ"]


@pytest.mark.parametrize(
    "text, squashed, spaceless",
    [
        ("  Số   2093/QĐ-\n BYT  ", "Số 2093/QĐ- BYT", "Số2093/QĐ-BYT"),
        ("a\tb\u00a0c", "a b c", "abc"),
        ("", "", ""),
    ],
)
def test_space_helpers(text: str, squashed: str, spaceless: str) -> None:
    assert squash_spaces(text) == squashed
    assert no_spaces(text) == spaceless


@pytest.mark.parametrize(
    "year, month, day, iso",
    [
        (2023, 12, 22, "2023-12-22"),
        (2024, 2, 29, "2024-02-29"),
        (2023, 2, 29, None),  # not a leap year
        (2023, 13, 1, None),
        (1899, 1, 1, None),  # outside 1900–2100: an OCR or typing slip, not a date
        (2101, 1, 1, None),
    ],
)
def test_iso_date(year: int, month: int, day: int, iso: str | None) -> None:
    assert iso_date(year, month, day) == iso


@pytest.mark.parametrize(
    "text, years",
    [("năm 2023 và 1998", ["2023", "1998"]), ("12023 hay 2023a", []), ("1.305 dịch vụ", [])],
)
def test_year_re(text: str, years: list[str]) -> None:
    assert YEAR_RE.findall(text) == years
