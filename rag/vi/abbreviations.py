"""Abbreviations ↔ full names, so "Thống đốc Ngân hàng Nhà nước" finds "Thống đốc NHNN".

Vietnamese administrative writing abbreviates heavily and inconsistently: the same report says
"Bộ Thông tin và Truyền thông", "Bộ TT&TT" and "Bộ TTTT". Two sources: a table of the standard
abbreviations of the state apparatus, and the definitions a corpus gives itself ("chuyển đổi số
(CĐS)"), learned at index time. A query or passage is expanded by appending the other form, so
BM25 and the answerer's word coverage see both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .text import fold

STANDARD: dict[str, str] = {
    "UBND": "Ủy ban nhân dân", "HĐND": "Hội đồng nhân dân", "NHNN": "Ngân hàng Nhà nước",
    "CĐS": "chuyển đổi số", "DVC": "dịch vụ công", "DVCTT": "dịch vụ công trực tuyến",
    "TTHC": "thủ tục hành chính", "CSDL": "cơ sở dữ liệu", "CNTT": "công nghệ thông tin",
    "BCH": "Ban Chấp hành", "BCĐ": "Ban Chỉ đạo", "TW": "Trung ương",
    "KT-XH": "kinh tế - xã hội", "TMĐT": "thương mại điện tử", "CPĐT": "Chính phủ điện tử",
    "CQĐT": "chính quyền điện tử", "TT&TT": "Thông tin và Truyền thông", "TTTT": "Thông tin và Truyền thông",
    "NN&PTNT": "Nông nghiệp và Phát triển nông thôn", "KH&CN": "Khoa học và Công nghệ",
    "KHCN": "Khoa học và Công nghệ", "KH&ĐT": "Kế hoạch và Đầu tư", "GD&ĐT": "Giáo dục và Đào tạo",
    "GDĐT": "Giáo dục và Đào tạo", "TN&MT": "Tài nguyên và Môi trường", "TNMT": "Tài nguyên và Môi trường",
    "LĐ-TB&XH": "Lao động - Thương binh và Xã hội", "LĐTBXH": "Lao động - Thương binh và Xã hội",
    "VH-TT&DL": "Văn hóa, Thể thao và Du lịch", "VHTTDL": "Văn hóa, Thể thao và Du lịch",
    "GTVT": "Giao thông vận tải", "BHXH": "Bảo hiểm xã hội", "BHYT": "bảo hiểm y tế",
    "MTTQ": "Mặt trận Tổ quốc", "QĐ": "Quyết định", "NQ": "Nghị quyết", "NĐ": "Nghị định",
    "TP.HCM": "Thành phố Hồ Chí Minh", "TPHCM": "Thành phố Hồ Chí Minh", "ĐBSCL": "Đồng bằng sông Cửu Long",
    "VNeID": "định danh điện tử", "GRDP": "tổng sản phẩm trên địa bàn", "GDP": "tổng sản phẩm quốc nội",
}

_ABBR = r"[A-ZĐ][A-ZĐƯƠa-z]*(?:[&.\-][A-ZĐ]+)*[A-ZĐ]"
_DEFINITION_RE = re.compile(rf"((?:[\wÀ-ỹ]+[ ,-]+){{1,10}}?[\wÀ-ỹ]+)\s*\((?P<abbr>{_ABBR})\)")
_SKIP_WORDS = {"va", "cua", "ve", "cac", "cho", "tai", "o"}


def _initials(words: list[str]) -> str:
    return "".join(fold(w)[0] for w in words if w and fold(w) not in _SKIP_WORDS).upper()


def learn(texts: Iterable[str]) -> dict[str, str]:
    """Definitions the documents give: "Ngân hàng Nhà nước (NHNN)" → {"NHNN": "Ngân hàng Nhà nước"}.

    The words kept are the shortest run ending at the parenthesis whose initials spell the
    abbreviation ("và", "của" may be skipped); anything else in parentheses is not a definition."""
    found: dict[str, str] = {}
    for text in texts:
        for m in _DEFINITION_RE.finditer(text):
            abbr = m.group("abbr")
            letters = fold(re.sub(r"[&.\-]", "", abbr)).upper()
            if abbr in found or len(letters) < 2:
                continue
            words = re.split(r"[ ,-]+", m.group(1))
            for n in range(len(letters), len(words) + 1):
                if _initials(words[-n:]) == letters:
                    found[abbr] = " ".join(words[-n:])
                    break
    return found


class Abbreviations:
    """Expands text with the other form of every abbreviation or full name it contains."""

    def __init__(self, learned: dict[str, str] | None = None) -> None:
        table = {**STANDARD, **(learned or {})}
        self._abbr = table
        self._abbr_re = re.compile(
            r"(?:\b(Bộ|Sở|Ban|Ủy ban|Uỷ ban|Cục|Vụ)\s+)?(?<![\w&.\-])("
            + "|".join(re.escape(a) for a in sorted(table, key=len, reverse=True)) + r")(?![\w&])")
        by_full: dict[str, str] = {}
        for a, full in table.items():
            by_full.setdefault(fold(full), a)
        self._by_full = by_full
        self._full_re = re.compile(
            r"\b(" + "|".join(re.escape(f) for f in sorted(by_full, key=len, reverse=True)) + r")\b")

    def expand(self, text: str) -> str:
        """`text` plus, after it, the full names of its abbreviations ("Bộ TT&TT" → "Bộ Thông tin
        và Truyền thông") and the abbreviations of its full names, each once."""
        extra = {f"{m.group(1) or ''} {self._abbr[m.group(2)]}".strip() for m in self._abbr_re.finditer(text)}
        extra |= {self._by_full[m.group(1)] for m in self._full_re.finditer(fold(text))}
        return text + ("\n" + " ; ".join(sorted(extra)) if extra else "")
