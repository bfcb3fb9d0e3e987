"""Number, type, issuing body and date of a Vietnamese legal/administrative document.

Every such document opens with the same header block (Nghị định 30/2020/NĐ-CP on document
format): the issuing body top left, the national motto top right, "Số: 33/2022/NQ-HĐND" under
the body, the place and date under the motto, then the type in capitals ("NGHỊ QUYẾT") and the
subject. Extraction flattens the two columns in various orders, so each field is found by its own
pattern in the first lines rather than by position. Documents copied from news sites lose the
block; there the number is taken from a title such as "Nghị quyết số 57-NQ/TW".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..vi.gazetteer import MINISTRIES, PROVINCES
from ..vi.text import iso_date, parse_date, squash_spaces

_HEAD_CHARS = 1500

TYPES = ["Nghị quyết", "Nghị định", "Quyết định", "Thông tư liên tịch", "Thông tư", "Chỉ thị",
         "Kế hoạch", "Công văn", "Báo cáo", "Thông báo", "Luật", "Pháp lệnh", "Hiến pháp", "Quy định",
         "Quy chế", "Hướng dẫn", "Tờ trình", "Đề án", "Chương trình", "Công điện", "Kết luận", "Danh mục"]

# abbreviation in the number → type ("33/2022/NQ-HĐND" → Nghị quyết)
_CODE_TYPES = {"NQ": "Nghị quyết", "NĐ": "Nghị định", "QĐ": "Quyết định", "TT": "Thông tư",
               "TTLT": "Thông tư liên tịch", "CT": "Chỉ thị", "KH": "Kế hoạch", "CV": "Công văn",
               "BC": "Báo cáo", "TB": "Thông báo", "QH": "Luật", "L": "Luật", "PL": "Pháp lệnh",
               "HD": "Hướng dẫn", "TTr": "Tờ trình", "CĐ": "Công điện", "KL": "Kết luận"}

# issuer code after the type ("QĐ-BYT" → Bộ Y tế); only bodies whose code is fixed nationwide
_CODE_ISSUERS = {"TTg": "Thủ tướng Chính phủ", "CP": "Chính phủ", "TW": "Trung ương Đảng",
                 "BYT": "Bộ Y tế", "BTC": "Bộ Tài chính", "BTP": "Bộ Tư pháp", "BCA": "Bộ Công an",
                 "BTTTT": "Bộ Thông tin và Truyền thông", "BKHĐT": "Bộ Kế hoạch và Đầu tư",
                 "BGDĐT": "Bộ Giáo dục và Đào tạo", "BNV": "Bộ Nội vụ", "BQP": "Bộ Quốc phòng",
                 "BKHCN": "Bộ Khoa học và Công nghệ", "NHNN": "Ngân hàng Nhà nước Việt Nam",
                 "UBTVQH": "Ủy ban Thường vụ Quốc hội"}

_UP = "A-ZĐÀ-Ỹ"
_CODE = rf"[{_UP}][{_UP}a-zđ]{{0,7}}\d{{0,2}}"
_NUMBER_RE = re.compile(
    rf"(?<![\w/])(\d{{1,5}})\s*([-/])\s*(?:(\d{{4}})\s*/\s*)?({_CODE}(?:\s*[-/]\s*[{_UP}0-9][{_UP}a-zđ0-9&]{{0,15}}){{0,3}})"
)
_SO_RE = re.compile(r"(?:^|\n|\|)[ \t]*(?:luật\s+)?số\s*[:.]\s*", re.IGNORECASE)
MOTTO_RE = re.compile(r"C[ỘộO]NG\s+H[ÒOÓ][AÀ]?\s*X[ÃA]\s+H[ỘO]I", re.IGNORECASE)
_DATE_RE = re.compile(r"ngày\W{0,9}(\d{1,2})\W{0,9}tháng\s*(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)
_SKIP_LINE_RE = re.compile(r"^[\s\-–—_=*.]*$|độc lập|hạnh phúc|^số\b", re.IGNORECASE)


@dataclass
class LegalMeta:
    """What the header says; None where it says nothing (a blank "Số:   /QĐ-BYT" draft number)."""

    doc_number: str | None = None
    doc_type: str | None = None
    issuer: str | None = None
    issued: str | None = None  # ISO date
    subject: str | None = None  # the summary line under the type: "Về việc công bố …"

    def __bool__(self) -> bool:
        return any((self.doc_number, self.doc_type, self.issuer, self.issued))

    def title(self) -> str | None:
        """What staff call the document: "Quyết định 1629/QĐ-UBND – Về việc công bố …"."""
        if not self.doc_type or not (self.doc_number or self.subject):
            return None
        name = f"{self.doc_type} {self.doc_number}" if self.doc_number else self.doc_type
        if not self.subject:
            return name
        subject = self.subject if len(self.subject) <= 160 else self.subject[:157].rsplit(" ", 1)[0] + "…"
        return f"{name} – {subject}"


def _clean_number(m: re.Match) -> str | None:
    num, sep, year, code = m.group(1), m.group(2), m.group(3), re.sub(r"\s+", "", m.group(4))
    head = re.sub(r"\d+$", "", re.split(r"[-/]", code)[0])
    if head not in _CODE_TYPES and not (sep == "-" and "/" in code):
        return None
    return f"{num}{sep}{year + '/' if year else ''}{code}"


def find_number(head: str) -> str | None:
    """The document's own number: the one after "Số:", else the first in the title lines."""
    for so in _SO_RE.finditer(head):
        m = _NUMBER_RE.match(head, so.end())
        if m and (number := _clean_number(m)):
            return number
    first_lines = "\n".join(head.split("\n")[:4])
    for m in _NUMBER_RE.finditer(first_lines):
        if number := _clean_number(m):
            return number
    return None


def _heading_type(line: str) -> str | None:
    s = squash_spaces(line).strip(" :")
    if not s or not s.isupper():
        return None
    for t in TYPES:
        if s == t.upper() or s.startswith(t.upper() + " CỦA") or s.startswith(t.upper() + " VỀ"):
            return t
    return None


def _type_from_heading(head: str) -> str | None:
    return next((t for line in head.split("\n") if (t := _heading_type(line))), None)


# what follows the subject: the enacting body in capitals, or the legal bases
_AFTER_SUBJECT_RE = re.compile(
    r"^(?:căn cứ|thực hiện|theo đề nghị|xét\b|(?:HỘI ĐỒNG|ỦY BAN|UỶ BAN|BỘ TRƯỞNG|CHỦ TỊCH|THỦ TƯỚNG|CHÍNH PHỦ|"
    r"QUỐC HỘI|BAN CHẤP HÀNH|BỘ CHÍNH TRỊ|GIÁM ĐỐC|TỔNG|KHÓA|KHOÁ)\b)", re.IGNORECASE)
_SUBJECT_START_RE = re.compile(r"^(?:V/v|Về việc|Về)\s", re.IGNORECASE)
_MAX_SUBJECT_LINES = 4


def _subject(head: str) -> str | None:
    """The summary (trích yếu): the lines under the type heading ("NGHỊ QUYẾT" / "Quy định mức
    thu…"), or a "V/v …" / "Về việc …" line where the heading is missing or unreadable."""
    lines = [squash_spaces(x) for x in head.split("\n")]
    start = next((i + 1 for i, x in enumerate(lines) if _heading_type(x)), None)
    if start is None:
        start = next((i for i, x in enumerate(lines) if _SUBJECT_START_RE.match(x)), None)
    if start is None:
        return None
    out: list[str] = []
    for line in lines[start:start + _MAX_SUBJECT_LINES + 3]:
        stop = line.startswith("(") or (line.isupper() and out and not out[-1].isupper())
        if not line or _AFTER_SUBJECT_RE.match(line) or stop:
            if out:
                break
            continue
        out.append(line)
        if len(out) == _MAX_SUBJECT_LINES:
            break
    subject = " ".join(out).strip(" -–—_*:;,")
    if len(subject) < 10:
        return None
    return _sentence_case(subject) if subject.isupper() else subject


def _sentence_case(text: str) -> str:
    """ "QUY ĐỊNH MỨC THU … TỈNH CAO BẰNG" → "Quy định mức thu … tỉnh Cao Bằng": headings are set
    in capitals, titles are not; names of provinces and ministries keep their capitals."""
    out = text.lower()
    for name in (*PROVINCES, *MINISTRIES, "Việt Nam", "Nhà nước", "Chính phủ", "Quốc hội"):
        out = re.sub(rf"(?<!\w){re.escape(name.lower())}(?!\w)", name, out)
    return out[:1].upper() + out[1:]


def _type_from_title(head: str) -> str | None:
    first = next((x.strip() for x in head.split("\n") if x.strip()), "")
    for t in TYPES:
        if first.lower().startswith(t.lower()):
            return t
    return None


def _code_parts(number: str | None) -> tuple[str | None, str | None]:
    if not number:
        return None, None
    code = re.sub(r"^\d+[-/](\d{4}/)?", "", number)
    parts = re.split(r"[-/]", code)
    return re.sub(r"\d+$", "", parts[0]), parts[-1] if len(parts) > 1 else None


_LEFT_COLUMN_END_RE = re.compile(r"C[ỘộO]NG\s+H[ÒOÓ]|Độc\s+lập|\|", re.IGNORECASE)


def _issuer_from_header(head: str) -> str | None:
    """Upper-case lines of the header's left column, above "Số:": "HỘI ĐỒNG NHÂN DÂN / TỈNH CAO
    BẰNG". Flattened two-column headers put the motto on the same lines, so each line is cut where
    the right column begins. At most the last two lines: they name the body, a third its parent."""
    if not MOTTO_RE.search(head):
        return None
    body: list[str] = []
    for line in head.split("\n")[:10]:
        if re.match(r"\s*(luật\s+)?số\b", line, re.IGNORECASE) or _type_from_heading(line):
            break
        left = _LEFT_COLUMN_END_RE.split(line, maxsplit=1)[0]
        left = squash_spaces(left).strip(" -–—_*.")
        if left and left.isupper() and not _SKIP_LINE_RE.search(left):
            body.append(left)
    if not body or len(" ".join(body[-2:])) > 80:
        return None
    return " ".join(body[-2:])  # as printed: "HỘI ĐỒNG NHÂN DÂN TỈNH CAO BẰNG"


def parse_legal_meta(text: str) -> LegalMeta:
    """Fields from the first lines of `text` (cleaned or raw)."""
    head = text[:_HEAD_CHARS]
    number = find_number(head)
    type_code, issuer_code = _code_parts(number)
    doc_type = _type_from_heading(head) or _type_from_title(head) or _CODE_TYPES.get(type_code or "")
    issuer = _issuer_from_header(head) or _CODE_ISSUERS.get(issuer_code or "")
    date_m = _DATE_RE.search(head)
    issued = iso_date(*(int(g) for g in reversed(date_m.groups()))) if date_m else None
    if issued is None and number:  # "Nghị quyết số 57-NQ/TW (ngày 22/12/2024)"
        after = re.search(re.escape(number) + r"\W{0,3}ngày\s+(\d{1,2}/\d{1,2}/\d{4})", head)
        issued = parse_date(after.group(1)) if after else None
    if doc_type is None and number is None:
        return LegalMeta()
    return LegalMeta(number, doc_type, issuer, issued, _subject(head))
