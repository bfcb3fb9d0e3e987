"""Raw text → clean paragraphs, title and date.

Web pages saved as text carry boilerplate (visit counters, addresses, contact lines, copyright,
photo captions, bylines). They are removed by general rules about what such lines look like,
not by matching any particular site's strings.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..vi.text import nfc, parse_date

# ---------------------------------------------------------------- boilerplate line rules

_BOILERPLATE_PATTERNS = [
    # visit counters
    r"^(thống kê|lượt|số lượt|tổng|đang)\s+truy\s+cập\s*(:?\s*[\d.,]+)?$",
    r"^(online|trực tuyến|hôm nay|hôm qua|tuần này|tháng này)\s*:\s*[\d.,]+$",
    # addresses, contacts
    r"^(địa chỉ|trụ sở|điện thoại|đt|tel|fax|hotline|email|e-mail|website)\s*[:.]",
    r"^(thông tin liên hệ|liên hệ)\s*:?$",
    r"^(chịu trách nhiệm|trách nhiệm)\s+(nội dung|chính|xuất bản)\b",
    r"^(cơ quan chủ quản|giấy phép|ghi rõ nguồn|trưởng ban biên tập|tổng biên tập)\b",
    # copyright
    r"(bản quyền|copyright|©|bảo lưu (toàn|mọi) quyền|all rights reserved)",
    # bylines: "Tin, ảnh: X", "Bài và ảnh: X", "Ảnh: X", "Nguồn: X"
    r"^(tin|bài|ảnh|tin, ảnh|bài, ảnh|tin và ảnh|bài và ảnh|nguồn|theo)\s*:\s*\S.{0,60}$",
]
# Page furniture is short; a long line that happens to mention "bản quyền" is content.
_FURNITURE_MAX_WORDS = 20
_BOILERPLATE_RE = [re.compile(p, re.IGNORECASE) for p in _BOILERPLATE_PATTERNS]

_PHONE_RE = re.compile(r"^[\s•·\-–*]*(\+?\d[\d .()\-]{6,}\d)\s*$")
_EMAIL_RE = re.compile(r"^[\s•·\-–*]*\S+@\S+\.\w+\s*$")
_DOMAIN_RE = re.compile(r"^[\s•·\-–*]*(https?://)?[\w\-]+(\.[\w\-]+)+(/\S*)?\s*$")
# Photo captions: "(Ảnh: VGP/Nhật Bắc)", "... Ảnh: Chính phủ", "(nguồn thainguyen.gov.vn)",
# and captions that news CMSs end with " |".
_CAPTION_TAIL_RE = re.compile(r"\((ảnh|nguồn|photo)\s*:?[^()]{0,80}\)\s*$", re.IGNORECASE)
_CAPTION_INLINE_RE = re.compile(r"[.!]?\s+ảnh\s*:\s*[^.]{1,60}$", re.IGNORECASE)
_CAPTION_PIPE_RE = re.compile(r"\s\|\s*$")
_CREDIT_ONLY_RE = re.compile(r"^\((ảnh|nguồn|photo)\s*:?[^()]{0,80}\)$", re.IGNORECASE)
# Scene descriptions under news photos: "Quang cảnh hội nghị ...", "Các đại biểu tham dự ...".
_CAPTION_OPENER_RE = re.compile(
    r"^(quang cảnh|toàn cảnh|khung cảnh|các đại biểu|đại biểu|các đồng chí lãnh đạo)\b", re.IGNORECASE
)


def is_boilerplate(line: str) -> bool:
    """True for lines that are page furniture, not content."""
    s = line.strip()
    if not s:
        return True
    if len(s.split()) <= _FURNITURE_MAX_WORDS and any(r.search(s) for r in _BOILERPLATE_RE):
        return True
    if _PHONE_RE.match(s) or _EMAIL_RE.match(s) or _DOMAIN_RE.match(s):
        return True
    return False


def is_caption(line: str) -> bool:
    """Photo captions: short lines tagged with a photo credit or a trailing ' |'."""
    s = line.strip()
    if _CAPTION_PIPE_RE.search(s) and len(s.split()) <= 40:
        return True
    n_words = len(s.split())
    if n_words > 60:
        return False
    if n_words <= 20 and _CAPTION_OPENER_RE.match(s) and not re.search(r"\d", s):
        return True
    return bool(_CAPTION_TAIL_RE.search(s) or _CAPTION_INLINE_RE.search(s))


def _is_name_like(line: str) -> bool:
    """A short line of capitalised words without sentence punctuation: a byline or site name."""
    s = line.strip().rstrip(".")
    toks = s.split()
    if not 1 <= len(toks) <= 6 or any(ch.isdigit() for ch in s) or re.search(r"[,:;!?]", s):
        return False
    return all(t[0].isupper() or not t[0].isalpha() for t in toks)


# ---------------------------------------------------------------- dates

_DATE_LINE_RE = re.compile(
    r"^[\w\s\-–|]{0,40}?(ngày đăng|cập nhật|đăng lúc|ngày)?\s*:?\s*"
    r"(\d{1,2}:\d{2},?\s*)?[\d/\-: .]+(\d{1,2}:\d{2})?\s*$",
    re.IGNORECASE,
)


def is_date_line(line: str) -> bool:
    """A metadata line that only carries a publication date (and maybe a section name)."""
    s = line.strip()
    return len(s) <= 80 and parse_date(s) is not None and bool(_DATE_LINE_RE.match(s))


# ---------------------------------------------------------------- paragraphs


@dataclass
class Paragraph:
    text: str
    page: int | None


def _normalize_line(line: str) -> str:
    line = line.replace("\u00a0", " ").replace("\u200b", "").replace("\t", " ")
    return re.sub(r" {2,}", " ", line).strip()


_PAGE_NUMBER_RE = re.compile(r"^(?:trang|page)?\s*-?\s*\d{1,4}\s*-?(?:\s*/\s*\d{1,4})?$", re.IGNORECASE)
_SENT_END_CHARS = ".!?:;…\"”)"


def _pdf_paragraphs(page_text: str, page: int) -> list[Paragraph]:
    """Rejoin PDF lines wrapped inside a paragraph: a line continues into the next one unless
    it ends a sentence or is clearly shorter than a full line (a heading, a paragraph's end)."""
    paras: list[Paragraph] = []
    buf: list[str] = []
    lines = [_normalize_line(raw) for raw in page_text.split("\n")]
    widths = sorted(len(x) for x in lines if x)
    full = widths[int(0.75 * (len(widths) - 1))] if widths else 0
    for line in lines:
        if _PAGE_NUMBER_RE.match(line):
            continue
        if not line:
            if buf:
                paras.append(Paragraph(" ".join(buf), page))
                buf = []
            continue
        buf.append(line)
        if line[-1] in _SENT_END_CHARS or (full >= 40 and len(line) < 0.6 * full):
            paras.append(Paragraph(" ".join(buf), page))
            buf = []
    if buf:
        paras.append(Paragraph(" ".join(buf), page))
    return paras


def split_paragraphs(pages: list[str], is_pdf: bool) -> list[Paragraph]:
    """Text files: one paragraph per non-empty line. PDFs: wrapped lines rejoined, page kept."""
    out: list[Paragraph] = []
    for i, page_text in enumerate(pages):
        page_text = nfc(page_text.replace("\r\n", "\n").replace("\r", "\n"))
        if is_pdf:
            out.extend(_pdf_paragraphs(page_text, i + 1))
        else:
            out.extend(Paragraph(s, None) for s in map(_normalize_line, page_text.split("\n")) if s)
    return out


# ---------------------------------------------------------------- the document


@dataclass
class Cleaned:
    paragraphs: list[Paragraph]
    title: str
    date: str | None


_HEAD_LINES = 6


def clean(pages: list[str], is_pdf: bool = False) -> Cleaned:
    """Split into paragraphs, take title and date from the head, drop boilerplate.

    Title: the first line of the head if it reads like a headline (no final period, not a date,
    not too long). Date: the first date found in the head's metadata lines.
    """
    paras = split_paragraphs(pages, is_pdf)
    title = ""
    date: str | None = None
    kept: list[Paragraph] = []
    for idx, p in enumerate(paras):
        head = idx < _HEAD_LINES
        if head and is_date_line(p.text):
            date = date or parse_date(p.text)
            continue
        if _CREDIT_ONLY_RE.match(p.text.strip()):
            # a credit on its own line labels the short caption line just above it
            if kept and len(kept[-1].text.split()) <= 40 and kept[-1].text[-1] not in ".!?:":
                kept.pop()
            continue
        if is_boilerplate(p.text) or is_caption(p.text):
            continue
        p = Paragraph(_CAPTION_PIPE_RE.sub("", p.text).rstrip(), p.page)
        if head and not title and not kept and _looks_like_title(p.text):
            title = p.text
        kept.append(p)
    kept = _drop_trailing_furniture(kept)
    if date is None:
        for p in kept[:3]:
            date = parse_date(p.text[:200])
            if date:
                break
    if not title and kept:
        title = _fallback_title(kept[0].text)
    return Cleaned(kept, title, date)


def _looks_like_title(line: str) -> bool:
    s = line.strip()
    return 8 <= len(s) <= 250 and not s.endswith((".", ",", ";", ":", "|")) and len(s.split()) >= 3


def _fallback_title(first_para: str) -> str:
    first = re.split(r"(?<=[.!?])\s", first_para, maxsplit=1)[0]
    return first if len(first) <= 100 else first[:97].rsplit(" ", 1)[0] + "…"


def _drop_trailing_furniture(paras: list[Paragraph]) -> list[Paragraph]:
    """Bylines and site names at the end of an article: short name-like lines after the
    last real paragraph."""
    end = len(paras)
    while end > 0 and (_is_name_like(paras[end - 1].text) or paras[end - 1].text.isupper()) \
            and len(paras[end - 1].text) <= 80:
        end -= 1
    return paras[:end]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
