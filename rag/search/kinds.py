"""The answer kinds: one ordered table that query analysis, the extractive answerer and the
grounding check all read.

Each kind is a record — how a question asks for it (folded Vietnamese and English phrases), the
value that answers it, and whether a quote must hold such a value to ground an LLM answer. The
first kind whose phrases match the question wins, so a phrase belongs to one kind only (a test
checks that every kind's example questions reach it). Adding a kind is one record here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from ..vi.gazetteer import FOLDED_PROVINCES
from ..vi.text import canonical_number, fold

# Folded question/function words: they say what is asked, not what it is about (query analysis
# and "bao nhiêu X" read them; kept here so this table imports nothing of the search stage).
QUESTION_WORDS = set("""
bao nhieu may gi nao ai khi dau sao the nhu la co khong duoc cua va cac nhung mot cho voi ve
trong tai theo den tu o thi con hay hoac de ra vao len da dang se bi boi nay do kia ay day
ngay thang nam luc gio bang
""".split())


class QuestionInfo(Protocol):
    """What the rules read of an analysed question (rag.search.query.QuestionInfo)."""

    restored: str
    answer_type: str

# a Vietnamese personal name: a family name (these cover nearly everyone) and 1-3 more
# capitalized syllables — "Bộ Công an" or "Ủy ban Quốc gia" are capitalized but are no one
PERSON_RE = re.compile(
        r"\b(?:Nguyễn|Trần|Lê|Phạm|Hoàng|Huỳnh|Phan|Vũ|Võ|Đặng|Bùi|Đỗ|Hồ|Ngô|Dương|Lý|Trịnh|Đinh|Lâm|Mai|Tô|"
        r"Trương|Đoàn|Hà|Lương|Cao|Tạ|Chu|Vương|Thái|Phùng|Tăng|Quách|Kiều|Đào|Lưu|Văn|Triệu|Thân|Lại|Khúc|Nông|"
        r"Lò|Giàng|Sùng|Y|Âu|Châu|Đàm|Hứa|Mạc|Tống|Từ|Viên|Nghiêm|Ông|Doãn|Khổng|Đồng|Quan)"
        r"(?:\s+[A-ZÀ-ỸĐ][a-zà-ỹđ]+){1,3}\b")


@dataclass(frozen=True)
class Kind:
    """One kind of answer. `asks` is matched on the folded question; `value` finds the answer's
    value in a passage (None: any sentence may answer); `required` makes the LLM grounding
    check insist on such a value in the quote."""

    name: str
    asks: re.Pattern
    value: re.Pattern | None
    required: bool
    examples: tuple[str, ...]


def _asks(rx: str) -> re.Pattern:
    return re.compile(rx)


KINDS: tuple[Kind, ...] = (
    Kind("decision",
         _asks(r"\b(quyet dinh|nghi quyet|thong bao|chi thi|van ban|thong tu|nghi dinh) so (may|nao|bao nhieu|gi)\b"
               r"|\bso hieu\b|\bwhich (decision|resolution|notice)\b|\bdecision number\b"),
         re.compile(r"\b\d+[/-](?:[A-ZĐ]+[-/]?)+[A-ZĐ0-9]*\b"), True,
         ("Quyết định số mấy phê duyệt đề án?", "Which decision approved the plan?")),
    Kind("percent",
         _asks(r"\b(ty le|ty trong|phan tram|bao nhieu %)\b|\bpercent|\bpercentage\b|\bwhat share\b|\brate\b"),
         re.compile(r"\d+(?:[.,]\d+)?\s?%|phần trăm"), True,
         ("Tỷ lệ hồ sơ trực tuyến đạt bao nhiêu?", "What percentage of records are online?")),
    Kind("day",
         _asks(r"\b(ngay nao|ngay bao nhieu|truoc ngay nao|vao ngay)\b|\bwhat date\b|\bwhich day\b"
               r"|\bon what day\b"),
         re.compile(r"\b\d{1,2}/\d{1,2}\b|\bngày\s+\d{1,2}\b", re.IGNORECASE), True,
         ("Hội nghị diễn ra vào ngày nào?", "On what day was the meeting held?")),
    Kind("duration",
         _asks(r"\b(bao lau|thoi han giai quyet)\b|\bhow long\b"),
         re.compile(r"\b\d+\s*(?:ngày|tháng|năm|giờ|tuần|phút)\b|"
                    r"\b(?:một|hai|ba|bốn|năm|sáu|bảy|tám|chín|mười)\s+(?:ngày|tháng|năm|tuần)\b", re.IGNORECASE),
         True, ("Thủ tục được giải quyết trong bao lâu?", "How long does the procedure take?")),
    Kind("date",
         _asks(r"\b(khi nao|bao gio|luc nao|thoi diem nao|thoi han|han chot|nam nao|thang nao)\b|\bwhen\b"
               r"|\bwhich (date|year)\b|\bdeadline\b"),
         re.compile(r"\b\d{1,2}/\d{1,2}(?:/\d{4})?\b|\bngày\s+\d{1,2}\b|\btháng\s+\d{1,2}\b|\bnăm\s+\d{4}\b"
                    r"|\b(19|20)\d{2}\b|\bquý\s+[IV\d]+", re.IGNORECASE), True,
         ("Luật có hiệu lực từ khi nào?", "When does the law take effect?")),
    Kind("ordinal",
         _asks(r"\b(thu may|thu bao nhieu|hang may|hang thu may|vi tri thu may)\b|\bwhat (rank|place)\b"),
         re.compile(r"\b(?:thứ|hạng|vị trí)\s+(?:\d{1,3}|nhất|hai|ba|tư|bốn|năm|sáu|bảy|tám|chín|mười)\b",
                    re.IGNORECASE), True,
         ("Lào Cai đứng thứ mấy toàn quốc?", "What rank does the province hold?")),
    Kind("number",
         _asks(r"\b(bao nhieu|may|so luong|tong so)\b|\bhow (many|much)\b|\bwhat number\b"),
         re.compile(r"\d+(?:[.,]\d+)*|\b(một|hai|ba|bốn|năm|sáu|bảy|tám|chín|mười)\b"), True,
         ("Lào Cai tích hợp bao nhiêu dịch vụ công?", "How many services were integrated?")),
    Kind("person",
         _asks(r"\b(ai|nguoi nao|dong chi nao|vi nao|ong nao|ba nao)\b|\bwho\b|\bwhom\b"),
         PERSON_RE, False,
         ("Ai chủ trì hội nghị?", "Who chaired the meeting?")),
    Kind("list",
         _asks(r"\b(nhung .{1,40} nao|gom nhung|bao gom nhung|gom nhung gi|cac .{1,30} nao|liet ke|nhung gi)\b"
               r"|\bwhich\b|\blist\b|\bwhat are\b"),
         None, False,
         ("Đề án gồm những nhiệm vụ nào?", "What are the main tasks?")),
    Kind("other", re.compile(r"(?!)"), None, False, ("Chuyển đổi số là gì?",)),
)
BY_NAME = {k.name: k for k in KINDS}
ANSWER_TYPES = tuple(k.name for k in KINDS)


def kind_of(question: str) -> Kind:
    """The first kind whose phrases the folded question contains ("other" if none)."""
    f = fold(question)
    return next((k for k in KINDS if k.asks.search(f)), BY_NAME["other"])


_FOLDED_PROVINCE_SET = set(FOLDED_PROVINCES)

# Numbers that name or date something rather than count it: dates and years, ordinals, document
# and article numbers ("Đề án 06", "Quyết định số 793/QĐ-UBND", "Điều 5"), and footnote marks
# glued to a word ("quốc tế.2"). "Bao nhiêu tập thể?" is not answered by "Ngày 06/02/2025".
_NOT_A_COUNT_RE = re.compile(
    r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{1,2}/\d{4}\b|\b(?:19|20)\d{2}\b"
    r"|\b(?:ngày|sáng|trưa|chiều|tối|đêm|hôm)\s+\d{1,2}/\d{1,2}\b"
    r"|\b(?:0?[1-9]|[12]\d|3[01])/(?:0?[1-9]|1[0-2])\b(?!\s*[^\W\d_])"  # "30/11," but not "25/25 dịch vụ"
    r"|\b(?:ngày|tháng|năm|quý|khóa|khoá|thứ|lần thứ|kỳ họp thứ)\s+(?:số\s+)?\d+"
    r"|\b(?:số|đề án|nghị quyết|quyết định|nghị định|chỉ thị|thông tư|kết luận|công văn|chương trình|"
    r"kế hoạch|luật|điều|khoản|chương|phụ lục|mục|phần|tiết|điểm)\s+(?:số\s+)?\d+[\w/.-]*"
    r"|\b\d+[/-][A-ZĐ][\w/&-]*"
    r"|(?<=[^\W\d_])[.,;:]\d{1,2}\b", re.IGNORECASE)
# ordinals and identifiers asked for: "lần thứ mấy", "quyết định số bao nhiêu", "số hiệu"
_NAMING_QUESTION_RE = re.compile(r"\b(?:thu may|lan thu|thu bao nhieu|hang may|so (?:bao nhieu|may|nao|gi)|so hieu)\b")


def _value_matches(pattern: re.Pattern, text: str, counts_only: bool) -> list[re.Match]:
    """Values of the asked kind in `text`; with `counts_only`, numbers that name or date
    something are left out."""
    found = list(pattern.finditer(text))
    if pattern is PERSON_RE:  # "Hà Giang", "Cao Bằng", "Thái Nguyên" are places
        found = [m for m in found if fold(m.group(0)) not in _FOLDED_PROVINCE_SET]
    if counts_only and found:
        masked = [(m.start(), m.end()) for m in _NOT_A_COUNT_RE.finditer(text)]
        found = [m for m in found if not any(s <= m.start() < e for s, e in masked)]
    return found


def _counts_only(info: QuestionInfo) -> bool:
    return info.answer_type == "number" and not _NAMING_QUESTION_RE.search(fold(info.restored))


def _has_new_value(pattern: re.Pattern, unit: str, info: QuestionInfo) -> bool:
    """The unit holds a value of the asked type that the question did not already state:
    "kinh phí cho năm 2023 là bao nhiêu?" is not answered by a passage whose only number is 2023,
    and "bao nhiêu" wants a count, not a date or a document number."""
    given = {canonical_number(m.group(0)) for m in _value_matches(pattern, info.restored, False)}
    return any(canonical_number(m.group(0)) not in given
               for m in _value_matches(pattern, unit, _counts_only(info)))


_COUNTED_RE = re.compile(r"\bbao nhieu (\w+)(?: (\w+))?")
# words after "bao nhiêu" that say how it is measured, not what is counted
_GENERIC_COUNTED = {"phan", "tien", "lan", "nam", "thang", "ngay", "gio", "moi", "la", "thi", "va", "cho",
                    "trong", "tai", "o", "de", "nguoi", "muc"}


def counted_noun(question: str) -> str | None:
    """What "bao nhiêu" counts: "bao nhiêu tập thể" → "tap the", "bao nhiêu tỷ đồng" → "ty dong"
    (folded); None when it counts nothing specific ("là bao nhiêu", "bao nhiêu phần trăm")."""
    m = _COUNTED_RE.search(fold(question))
    if not m or m.group(1) in _GENERIC_COUNTED or m.group(1).isdigit():
        return None
    second = m.group(2)
    if second and (second in QUESTION_WORDS or second.isdigit()):
        second = None
    return f"{m.group(1)} {second}" if second else m.group(1)


_NEAR_BEFORE, _NEAR_AFTER = 60, 40  # characters: "số dịch vụ công đã tích hợp là 1.305", "1.305 dịch vụ"


def names_counted(info: QuestionInfo, text: str) -> bool:
    """A count answers "bao nhiêu X" only next to X: "11 chợ" does not say how many "dịch vụ công",
    even in a sentence that mentions "Cổng Dịch vụ công" further on."""
    noun = counted_noun(info.restored) if info.answer_type == "number" else None
    if noun is None:
        return True
    near = re.compile(rf"\b{re.escape(noun)}\b")
    return any(near.search(fold(text[max(0, m.start() - _NEAR_BEFORE):m.end() + _NEAR_AFTER]))
               for m in _value_matches(BY_NAME["number"].value, text, _counts_only(info)))


_PERSON_ASKED_RE = re.compile(r"\b(?:ong|ba|dong chi|nguoi|vi) nao\b|\bwho\b")


def wants_a_person(info: QuestionInfo) -> bool:
    """ "Thống đốc … là ai?" asks for someone's name; a bare "ai chủ trì …?" may be answered by
    a body ("Bộ Công an"), so only a title or "ông/bà/đồng chí nào" makes a name required."""
    if info.answer_type != "person":
        return False
    q = fold(info.restored)
    return _PERSON_ASKED_RE.search(q) is not None or any(re.search(rf"\b{r}\b", q) for r in _ROLES)


def gives_asked_value(info: QuestionInfo, text: str) -> bool:
    """`text` holds a value of the kind the question asks for ("bao nhiêu" → a count not already
    in the question, "Bộ trưởng … là ai" → a person's name); always true for kinds with no required
    value. Shared with the LLM answer's grounding check, so both answerers agree on what counts as
    an answer."""
    required = _required_pattern(info)
    return required is None or _has_new_value(required, text, info)


def _required_pattern(info: QuestionInfo) -> re.Pattern | None:
    """The value an answer must hold, or None when any sentence may answer."""
    if wants_a_person(info):
        return PERSON_RE
    kind = BY_NAME.get(info.answer_type)
    return kind.value if kind is not None and kind.required else None


_ROLES = ["tong bi thu", "bi thu", "chu tich", "thu tuong", "bo truong", "thu truong", "thong doc",
          "giam doc", "truong ban", "to truong", "tong cuc truong", "cuc truong", "chanh van phong"]


def _roles_match(question: str, unit: str) -> bool:
    """A title asked for must be held, not deputised: "Bí thư" is not "Phó Bí thư"."""
    q, u = fold(question), fold(unit)
    for role in _ROLES:
        m = re.search(rf"\b(pho )?{role}\b", q)
        if not m or m.group(1):
            continue
        q = q.replace(role, " ")  # "tong bi thu" must not count again as "bi thu"
        if not re.search(rf"(?<!pho ){role}\b", u):
            return False
    return True




def holds_asked_role(info: QuestionInfo, text: str) -> bool:
    """For a "who" question, `text` gives the title asked for itself, not its deputy ("Bí thư" is
    not "Phó Bí thư"); shared with the LLM answer's grounding check."""
    return info.answer_type != "person" or _roles_match(info.restored, text)


_DIGITS_RE = re.compile(r"\d")
_FULL_DATE_RE = re.compile(r"\b\d{1,2}/\d{1,2}(?:/\d{4})?\b|\bngày\s+\d{1,2}\s+tháng\s+\d{1,2}(?:\s+năm\s+\d{4})?",
                           re.IGNORECASE)
_HONORIFIC_RE = re.compile(r"^(?:Ông|Bà)\s+(?=\S+\s+\S)")
_MAGNITUDES = {"ty", "trieu", "nghin", "ngan", "%", "phan"}  # "45 tỷ", "3 triệu", "81,7 %"
_WORD_AFTER_RE = re.compile(r"\s*(%|[^\W\d_]+)")


def _number_value(info: QuestionInfo, text: str, matches: list[re.Match]) -> str | None:
    """A count with what it counts: the number followed by the noun "bao nhiêu" asks about
    ("1.305 dịch vụ"), else the first number with its magnitude ("45 tỷ") or alone."""
    noun = (counted_noun(info.restored) or "").split()
    plain = None
    for m in matches:
        if not _DIGITS_RE.search(m.group(0)):
            continue
        end, words = m.end(), []
        while len(words) < max(1, len(noun)) and (w := _WORD_AFTER_RE.match(text, end)):
            words.append(fold(w.group(1)))
            end = w.end()
        if noun and words[:len(noun)] == noun:
            return text[m.start():end]
        if plain is None:
            first = _WORD_AFTER_RE.match(text, m.end())
            magnitude = first is not None and fold(first.group(1)) in _MAGNITUDES
            plain = text[m.start():first.end()] if magnitude else m.group(0)
    return plain


def answer_value(info: QuestionInfo, text: str) -> str | None:
    """The value a quote gives for a number, date, duration or name question ("10 ngày",
    "22/12/2023", "1.305 dịch vụ"), or None: the answer line leads with it when the quote is long."""
    kind = BY_NAME.get(info.answer_type)
    pattern = PERSON_RE if info.answer_type == "person" else (kind.value if kind else None)
    if pattern is None:
        return None
    given = {canonical_number(m.group(0)) for m in _value_matches(pattern, info.restored, False)}
    matches = [m for m in _value_matches(pattern, text, _counts_only(info))
               if canonical_number(m.group(0)) not in given]
    if info.answer_type == "number":
        return _number_value(info, text, matches)
    for m in matches:
        if info.answer_type in ("day", "date"):  # "ngày 22" of "ngày 22 tháng 12 năm 2023": the whole date
            full = next((d for d in _FULL_DATE_RE.finditer(text) if d.start() <= m.start() < d.end()
                         or m.start() <= d.start() < m.end()), None)
            if full:
                return full.group(0)
        if info.answer_type == "person":  # "Ông Nguyễn Văn An": the title is no part of the name
            return _HONORIFIC_RE.sub("", m.group(0))
        return m.group(0)
    return None
