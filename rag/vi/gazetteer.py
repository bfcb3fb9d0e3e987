"""Vietnamese place and ministry names.

Questions often hinge on a name ("Lào Cai", not the national portal), so names are both
restoration vocabulary and constraints the answer's passage must satisfy.
"""

from __future__ import annotations

from .text import fold

PROVINCES = [
    "An Giang", "Bà Rịa - Vũng Tàu", "Bạc Liêu", "Bắc Giang", "Bắc Kạn", "Bắc Ninh", "Bến Tre",
    "Bình Dương", "Bình Định", "Bình Phước", "Bình Thuận", "Cà Mau", "Cao Bằng", "Cần Thơ",
    "Đà Nẵng", "Đắk Lắk", "Đắk Nông", "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang",
    "Hà Nam", "Hà Nội", "Hà Tĩnh", "Hải Dương", "Hải Phòng", "Hậu Giang", "Hòa Bình", "Hưng Yên",
    "Khánh Hòa", "Kiên Giang", "Kon Tum", "Lai Châu", "Lâm Đồng", "Lạng Sơn", "Lào Cai", "Long An",
    "Nam Định", "Nghệ An", "Ninh Bình", "Ninh Thuận", "Phú Thọ", "Phú Yên", "Quảng Bình",
    "Quảng Nam", "Quảng Ngãi", "Quảng Ninh", "Quảng Trị", "Sóc Trăng", "Sơn La", "Tây Ninh",
    "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế", "Tiền Giang", "Hồ Chí Minh",
    "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái", "Huế",
]

MINISTRIES = [
    "Bộ Công an", "Bộ Quốc phòng", "Bộ Ngoại giao", "Bộ Nội vụ", "Bộ Tư pháp",
    "Bộ Kế hoạch và Đầu tư", "Bộ Tài chính", "Bộ Công Thương",
    "Bộ Nông nghiệp và Phát triển nông thôn", "Bộ Giao thông vận tải", "Bộ Xây dựng",
    "Bộ Tài nguyên và Môi trường", "Bộ Thông tin và Truyền thông",
    "Bộ Lao động - Thương binh và Xã hội", "Bộ Văn hóa, Thể thao và Du lịch",
    "Bộ Khoa học và Công nghệ", "Bộ Giáo dục và Đào tạo", "Bộ Y tế", "Ngân hàng Nhà nước",
    "Thanh tra Chính phủ", "Văn phòng Chính phủ", "Bộ Nông nghiệp và Môi trường",
    "Bộ Dân tộc và Tôn giáo",
]

FOLDED_PROVINCES = sorted({fold(p) for p in PROVINCES}, key=len, reverse=True)
FOLDED_MINISTRIES = sorted({fold(m) for m in MINISTRIES}, key=len, reverse=True)

#: folded name → the name as written: "lao cai" → "Lào Cai"
PROVINCE_NAMES = {fold(p): p for p in PROVINCES}
MINISTRY_NAMES = {fold(m): m for m in MINISTRIES}
#: centrally governed cities: "thành phố Đà Nẵng", not "tỉnh Đà Nẵng"
FOLDED_CITIES = {fold(c) for c in ("Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "Huế")}
