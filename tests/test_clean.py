"""rag.ingest.clean: boilerplate rules, captions, bylines, dates, titles, Unicode normalisation.

All fixture text is invented for these tests (a fictional "tỉnh Hòa Lâm"), not copied from seeds/.
"""

from __future__ import annotations

import unicodedata

import pytest

from rag.ingest.clean import clean, is_boilerplate, is_caption, is_date_line, split_paragraphs
from rag.vi.text import parse_date

LONG_PIPE_PARAGRAPH = (
    "Nền tảng được xây dựng trên hạ tầng điện toán đám mây của tỉnh, kết nối với cổng dịch vụ công "
    "và hệ thống định danh điện tử, cho phép người dân tra cứu nguồn gốc sản phẩm bằng mã QR, theo "
    "dõi đơn hàng và phản ánh chất lượng dịch vụ ngay trên điện thoại thông minh của mình |"
)

CONTENT = [
    "Sáng nay, Ủy ban nhân dân tỉnh Hòa Lâm tổ chức lễ ra mắt nền tảng thương mại điện tử dành cho "
    "nông sản địa phương với sự tham gia của 230 hợp tác xã.",
    "Theo kế hoạch, đến hết năm 2025 toàn tỉnh sẽ có 80% hộ sản xuất được hướng dẫn mở gian hàng trực "
    "tuyến và thanh toán không dùng tiền mặt.",
]

ARTICLE = "\n".join([
    "Tỉnh Hòa Lâm ra mắt nền tảng số hỗ trợ nông dân bán hàng",
    "12/03/2024 08:15",
    CONTENT[0],
    "Quang cảnh hội nghị tại hội trường lớn của tỉnh",
    "(Ảnh: VGP/Nhật Bắc)",
    CONTENT[1],
    "Giám đốc Sở trao chứng nhận cho các hợp tác xã tiêu biểu |",
    LONG_PIPE_PARAGRAPH,
    "Tin, ảnh: NGỌC XOÀN",
    "Thống kê truy cập",
    "Đang truy cập: 1",
    "Tổng truy cập: 158649",
    "Địa chỉ: Số 9 đường Hoa Sữa, phường Bình Minh, thành phố Hòa Lâm",
    "0214 3 840 123",
    "lienhe@hoalam.example.vn",
    "© Bản quyền thuộc Sở Thông tin và Truyền thông tỉnh Hòa Lâm",
    "TRẦN MINH ĐỨC",
])


@pytest.fixture(scope="module")
def cleaned():
    return clean([ARTICLE])


def test_article_keeps_exactly_title_and_content(cleaned) -> None:
    assert [p.text for p in cleaned.paragraphs] == [
        "Tỉnh Hòa Lâm ra mắt nền tảng số hỗ trợ nông dân bán hàng",
        CONTENT[0],
        CONTENT[1],
        LONG_PIPE_PARAGRAPH.removesuffix(" |"),
    ]


def test_article_title_and_date(cleaned) -> None:
    assert cleaned.title == "Tỉnh Hòa Lâm ra mắt nền tảng số hỗ trợ nông dân bán hàng"
    assert cleaned.date == "2024-03-12"


def test_long_paragraph_ending_in_pipe_is_content_with_pipe_stripped(cleaned) -> None:
    assert len(LONG_PIPE_PARAGRAPH.split()) > 40
    kept = cleaned.paragraphs[-1].text
    assert kept.endswith("điện thoại thông minh của mình")
    assert "|" not in kept


@pytest.mark.parametrize(
    "line",
    [
        "Thống kê truy cập",
        "Đang truy cập: 1",
        "Tổng truy cập: 158649",
        "Lượt truy cập: 12.345",
        "Hôm nay: 1.234",
        "Trực tuyến: 17",
        "Địa chỉ: Số 9 đường Hoa Sữa, phường Bình Minh",
        "Trụ sở: 25 Lê Lợi, thành phố Hòa Lâm",
        "Điện thoại: 0214 3 840 123",
        "Email: lienhe@hoalam.example.vn",
        "Thông tin liên hệ",
        "0214 3 840 123",
        "+84 (24) 3822 1111",
        "banbientap@hoalam.example.vn",
        "- hotro@dichvucong.example.vn",
        "www.hoalam.example.gov.vn",
        "© 2024 Cổng thông tin điện tử tỉnh Hòa Lâm",
        "Bản quyền thuộc về Sở Thông tin và Truyền thông",
        "Copyright 2024 Hoa Lam Portal. All rights reserved",
        "Chịu trách nhiệm nội dung: Giám đốc Sở",
        "Giấy phép số 12/GP-TTĐT do Sở cấp",
        "Tin, ảnh: NGỌC XOÀN",
        "Bài và ảnh: Minh Khôi",
        "Nguồn: Báo Hòa Lâm",
        "",
        "   ",
    ],
)
def test_boilerplate_lines(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "(Ảnh: VGP/Nhật Bắc)",
        "Phó Chủ tịch tỉnh trao giấy khen cho các tập thể có thành tích xuất sắc |",
        "Quang cảnh hội nghị trực tuyến tại điểm cầu tỉnh",
        "Toàn cảnh lễ ký kết hợp tác chuyển đổi số",
        "Các đại biểu tham dự lễ ra mắt nền tảng",
        "Đồng chí Bí thư phát biểu tại buổi làm việc. Ảnh: Hải Đăng",
        "Lãnh đạo tỉnh thăm gian hàng công nghệ (ảnh: Minh Khôi)",
    ],
)
def test_caption_lines(line: str) -> None:
    assert is_caption(line)


@pytest.mark.parametrize("line", CONTENT + [LONG_PIPE_PARAGRAPH.removesuffix(" |")])
def test_content_is_neither_boilerplate_nor_caption(line: str) -> None:
    assert not is_boilerplate(line)
    assert not is_caption(line)


def test_caption_opener_with_a_number_is_content() -> None:
    line = "Các đại biểu thống nhất giao 12 chỉ tiêu chuyển đổi số cho năm 2025"
    assert not is_caption(line)


def test_credit_line_removes_the_short_caption_above_it() -> None:
    out = clean([
        "Hòa Lâm mở rộng mạng 5G tới các huyện miền núi",
        "Kỹ thuật viên lắp đặt trạm phát sóng trên đỉnh đồi",
        "(Ảnh: Minh Khôi)",
        "Trong năm 2024, các doanh nghiệp viễn thông lắp đặt thêm 310 trạm phát sóng 5G tại 9 huyện.",
    ])
    texts = [p.text for p in out.paragraphs]
    assert not any("Kỹ thuật viên" in t or "Ảnh" in t for t in texts)
    assert texts[-1].startswith("Trong năm 2024")


def test_trailing_allcaps_byline_and_name_lines_are_dropped() -> None:
    out = clean([
        "Hòa Lâm đào tạo kỹ năng số cho cán bộ cơ sở",
        "Trong tháng 6, tỉnh mở 14 lớp bồi dưỡng kỹ năng số cho 1.200 cán bộ cấp xã.",
        "Lê Thu Hà",
        "PHẠM QUỐC BẢO",
    ])
    assert [p.text for p in out.paragraphs][-1].startswith("Trong tháng 6")


def test_content_sentence_about_visits_survives() -> None:
    line = ("Số lượt truy cập Cổng dịch vụ công của tỉnh đạt 2,5 triệu lượt trong năm 2023, "
            "tăng 40% so với năm trước.")
    assert not is_boilerplate(line)


def test_content_sentence_mentioning_ban_quyen_survives() -> None:
    line = ("Năm 2023, tỉnh mua bản quyền phần mềm diệt virus cho 500 máy tính của các cơ quan "
            "nhà nước và 120 trường học.")
    assert not is_boilerplate(line)


# ------------------------------------------------------------------ dates

@pytest.mark.parametrize(
    "text, iso",
    [
        ("22/12/2023 03:17", "2023-12-22"),
        ("2022-08-08 16:44:00.0", "2022-08-08"),
        ("Ngày đăng : 20:36, 01/12/2021", "2021-12-01"),
        ("01/12/2021", "2021-12-01"),
        ("1/2/2021", "2021-02-01"),
        ("ngày 15 tháng 4 năm 2022", "2022-04-15"),
        ("Hòa Lâm, ngày 05 tháng 10 năm 2023", "2023-10-05"),
        ("Cập nhật lúc 2024-01-31T08:00", "2024-01-31"),
    ],
)
def test_parse_date(text: str, iso: str) -> None:
    assert parse_date(text) == iso


@pytest.mark.parametrize("text", ["không có ngày", "Số 12/2023", "45/13/2023", "01/01/1800", ""])
def test_parse_date_none(text: str) -> None:
    assert parse_date(text) is None


def test_parse_date_takes_the_first_date() -> None:
    assert parse_date("Ban hành 02/01/2023, hiệu lực từ ngày 15 tháng 2 năm 2023") == "2023-01-02"


@pytest.mark.parametrize("text", ["31/02/2023", "2023-04-31", "ngày 30 tháng 2 năm 2024"])
def test_parse_date_rejects_impossible_dates(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    "line, expected",
    [
        ("22/12/2023 03:17", True),
        ("Ngày đăng : 20:36, 01/12/2021", True),
        ("Cập nhật: 10/05/2023 09:30", True),
        ("Ngày 15/3/2024, tỉnh ban hành kế hoạch chuyển đổi số với 45 nhiệm vụ trọng tâm.", False),
        ("Không có ngày tháng", False),
    ],
)
def test_is_date_line(line: str, expected: bool) -> None:
    assert is_date_line(line) is expected


def test_date_found_in_first_paragraphs_when_no_date_line() -> None:
    out = clean([
        "Hòa Lâm công bố chỉ số chuyển đổi số cấp huyện",
        "Ngày 15/3/2024, tỉnh công bố kết quả đánh giá chỉ số chuyển đổi số của 9 huyện.",
    ])
    assert out.date == "2024-03-15"
    assert len(out.paragraphs) == 2  # a dated content sentence is not a metadata line


def test_no_date() -> None:
    assert clean(["Hòa Lâm phát triển hạ tầng số\nTỉnh tiếp tục đầu tư cho hạ tầng số."]).date is None


# ------------------------------------------------------------------ titles

def test_title_is_first_headline_line() -> None:
    out = clean(["Hòa Lâm số hóa hồ sơ đất đai\nTỉnh đã số hóa 85% hồ sơ địa chính trong năm qua."])
    assert out.title == "Hòa Lâm số hóa hồ sơ đất đai"


def test_title_skips_leading_boilerplate_and_dates() -> None:
    out = clean(["Thống kê truy cập\n05/06/2024 10:00\nHòa Lâm số hóa hồ sơ đất đai\n"
                 "Tỉnh đã số hóa 85% hồ sơ địa chính trong năm qua."])
    assert out.title == "Hòa Lâm số hóa hồ sơ đất đai"
    assert out.date == "2024-06-05"


def test_title_falls_back_to_first_sentence() -> None:
    out = clean(["Tỉnh Hòa Lâm đã số hóa 85% hồ sơ địa chính. Công việc hoàn thành sớm hai tháng.\n"
                 "Kinh phí thực hiện được bố trí từ ngân sách tỉnh."])
    assert out.title == "Tỉnh Hòa Lâm đã số hóa 85% hồ sơ địa chính."


def test_fallback_title_is_shortened_on_a_word_boundary() -> None:
    long_sentence = " ".join(["Tỉnh Hòa Lâm triển khai đồng bộ các nền tảng số dùng chung"] * 4) + "."
    out = clean([long_sentence])
    assert out.title.endswith("…")
    assert len(out.title) <= 100
    assert long_sentence.startswith(out.title[:-1])


def test_empty_input_gives_empty_result() -> None:
    out = clean([""])
    assert out.paragraphs == [] and out.title == "" and out.date is None


# ------------------------------------------------------------------ normalisation

def test_decomposed_input_is_normalized_to_nfc() -> None:
    text = "Hòa Lâm đẩy mạnh chuyển đổi số\nTỉnh Hòa Lâm đã tích hợp 1.305 dịch vụ công trực tuyến."
    out = clean([unicodedata.normalize("NFD", text)])
    assert [p.text for p in out.paragraphs] == text.split("\n")
    assert all(unicodedata.is_normalized("NFC", p.text) for p in out.paragraphs)
    assert out.title == "Hòa Lâm đẩy mạnh chuyển đổi số"


def test_whitespace_is_normalized() -> None:
    paras = split_paragraphs(["Tỉnh\u00a0Hòa  Lâm\tđạt\u200b kết quả tốt.\r\n\r\nDòng hai."], is_pdf=False)
    assert [p.text for p in paras] == ["Tỉnh Hòa Lâm đạt kết quả tốt.", "Dòng hai."]


def test_pdf_wrapped_lines_are_rejoined_with_page_numbers() -> None:
    pages = [
        "Tỉnh đã hoàn thành việc kết nối\nmạng truyền số liệu chuyên dùng.\nDòng tiếp theo kết thúc.",
        "Trang hai có một đoạn\nbị ngắt dòng ở giữa.",
    ]
    paras = split_paragraphs(pages, is_pdf=True)
    assert [(p.text, p.page) for p in paras] == [
        ("Tỉnh đã hoàn thành việc kết nối mạng truyền số liệu chuyên dùng.", 1),
        ("Dòng tiếp theo kết thúc.", 1),
        ("Trang hai có một đoạn bị ngắt dòng ở giữa.", 2),
    ]
