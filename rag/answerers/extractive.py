"""Extractive answers: quote the sentence of the top passages that answers the question.

A candidate must (1) stand in a passage that mentions every place and ministry the question
names, and in a document that mentions its years — Lào Cai's 1.305 is not the national portal's
3.552; (2) contain the kind of value asked for (a day for "ngày nào"; for "bao nhiêu X", a count —
not a date or a document number — with X next to it; a name for "Bộ trưởng … là ai"); (3) cover
enough of the question's remaining content words, weighted by rarity. When no candidate passes, the
answer is a plain "not found" with the closest passages as related.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from ..search.query import ORDINAL_WORDS, QUESTION_WORDS, QuestionInfo
from ..types import Answer, Chunk, Hit
from ..vi.abbreviations import Abbreviations
from ..vi.gazetteer import FOLDED_MINISTRIES, FOLDED_PROVINCES
from ..vi.text import bm25_tokens, canonical_number, fold, split_sentences
from .base import citation, not_found

_PATTERNS = {
    "percent": re.compile(r"\d+(?:[.,]\d+)?\s?%|phần trăm"),
    "number": re.compile(r"\d+(?:[.,]\d+)*|\b(một|hai|ba|bốn|năm|sáu|bảy|tám|chín|mười)\b"),
    "ordinal": re.compile(r"\b(?:thứ|hạng|vị trí)\s+(?:\d{1,3}|nhất|hai|ba|tư|bốn|năm|sáu|bảy|tám|chín|mười)\b",
                          re.IGNORECASE),
    "day": re.compile(r"\b\d{1,2}/\d{1,2}\b|\bngày\s+\d{1,2}\b", re.IGNORECASE),
    "duration": re.compile(r"\b\d+\s*(?:ngày|tháng|năm|giờ|tuần|phút)\b|"
                           r"\b(?:một|hai|ba|bốn|năm|sáu|bảy|tám|chín|mười)\s+(?:ngày|tháng|năm|tuần)\b",
                           re.IGNORECASE),
    "date": re.compile(
        r"\b\d{1,2}/\d{1,2}(?:/\d{4})?\b|\bngày\s+\d{1,2}\b|\btháng\s+\d{1,2}\b|\bnăm\s+\d{4}\b"
        r"|\b(19|20)\d{2}\b|\bquý\s+[IV\d]+", re.IGNORECASE),
    # a Vietnamese personal name: a family name (these cover nearly everyone) and 1-3 more
    # capitalized syllables — "Bộ Công an" or "Ủy ban Quốc gia" are capitalized but are no one
    "person": re.compile(
        r"\b(?:Nguyễn|Trần|Lê|Phạm|Hoàng|Huỳnh|Phan|Vũ|Võ|Đặng|Bùi|Đỗ|Hồ|Ngô|Dương|Lý|Trịnh|Đinh|Lâm|Mai|Tô|"
        r"Trương|Đoàn|Hà|Lương|Cao|Tạ|Chu|Vương|Thái|Phùng|Tăng|Quách|Kiều|Đào|Lưu|Văn|Triệu|Thân|Lại|Khúc|Nông|"
        r"Lò|Giàng|Sùng|Y|Âu|Châu|Đàm|Hứa|Mạc|Tống|Từ|Viên|Nghiêm|Ông|Doãn|Khổng|Đồng|Quan)"
        r"(?:\s+[A-ZÀ-ỸĐ][a-zà-ỹđ]+){1,3}\b"),
    "decision": re.compile(r"\b\d+[/-](?:[A-ZĐ]+[-/]?)+[A-ZĐ0-9]*\b"),
}
_REQUIRED = {"number", "ordinal", "percent", "day", "duration", "date", "decision"}
_LONG_SENTENCE = 450


@dataclass
class _Candidate:
    hit_index: int
    start: int  # offsets in the chunk text
    end: int
    score: float
    support: float


_FOLDED_PROVINCE_SET = set(FOLDED_PROVINCES)
_CELL_RE = re.compile(r"\n\n| \| ")  # paragraph breaks, and table cells ("cell | cell", formats.pdf_tables)


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans that never cross a paragraph break (a merged headline stays apart) or a
    table cell boundary (a row's "thời hạn" cell is not one sentence with its "căn cứ" cell)."""
    out, pos = [], 0
    for m in [*_CELL_RE.finditer(text), None]:
        end = m.start() if m else len(text)
        out.extend((pos + s, pos + e) for s, e in split_sentences(text[pos:end]))
        pos = m.end() if m else end
    return out


def _units(text: str) -> list[tuple[int, int]]:
    """Sentences; a very long one is cut into its ';'-separated clauses."""
    out = []
    for s, e in _sentences(text):
        if e - s <= _LONG_SENTENCE or ";" not in text[s:e]:
            out.append((s, e))
            continue
        pos = s
        for m in re.finditer(r";\s*", text[s:e]):
            out.append((pos, s + m.start()))
            pos = s + m.end()
        out.append((pos, e))
    return [(s, e) for s, e in out if e - s > 3]


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
    if pattern is _PATTERNS["person"]:  # "Hà Giang", "Cao Bằng", "Thái Nguyên" are places
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
               for m in _value_matches(_PATTERNS["number"], text, _counts_only(info)))


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
        return _PATTERNS["person"]
    return _PATTERNS.get(info.answer_type) if info.answer_type in _REQUIRED else None


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


_ANAPHOR_RE = re.compile(r"^(đây|đó|điều này|điều đó|việc này|việc đó|những (việc|điều) (này|đó)|"
                         r"các (kết quả|nội dung|nhiệm vụ) (này|trên)|theo đó|ngoài ra|bên cạnh đó)\b",
                         re.IGNORECASE)


def _with_antecedent(text: str, start: int) -> int:
    """A sentence opening with "Đây là…", "Đó là…", "Theo đó…" points back: the quote starts one
    sentence earlier (same paragraph) so it says what "đây" is."""
    if not _ANAPHOR_RE.match(text[start:]):
        return start
    spans = [s for s, _ in _sentences(text) if s < start]
    para_start = text.rfind("\n\n", 0, start) + 1
    return spans[-1] if spans and spans[-1] >= para_start else start


def _mentions_ordinal(folded: str, n: int) -> bool:
    """ "phiên họp thứ hai" is only answered by a passage about a second one ("thứ 2", "thứ hai")."""
    names = [str(n)] + [w for w, v in ORDINAL_WORDS.items() if v == n]
    return re.search(r"\bthu\s+(?:" + "|".join(names) + r")\b", folded) is not None


def _row_head(text: str, start: int) -> str:
    """For a sentence inside a table cell, the row's first two cells ("02 | Cấp giấy chứng nhận
    …"): they say what the row is about, so a "thời hạn" cell is matched with its procedure."""
    para = text.rfind("\n\n", 0, start) + 1
    seps = [m.start() for m in re.finditer(r" \| ", text[para:start])]
    return text[para:para + seps[min(1, len(seps) - 1)]] if seps else ""


def holds_asked_role(info: QuestionInfo, text: str) -> bool:
    """For a "who" question, `text` gives the title asked for itself, not its deputy ("Bí thư" is
    not "Phó Bí thư"); shared with the LLM answer's grounding check."""
    return info.answer_type != "person" or _roles_match(info.restored, text)


_PROVINCES_ALT = "|".join(re.escape(p) for p in FOLDED_PROVINCES)
_NAMES_A_PROVINCE_RE = re.compile(
    rf"\b(?:tinh|thanh pho|tp\.?) (?:{_PROVINCES_ALT})\b|\b(?:{_PROVINCES_ALT}) (?:da|co|dat)\b")


def _names_a_province(text: str) -> bool:
    return _NAMES_A_PROVINCE_RE.search(fold(text)) is not None


class _Memo:
    """A small least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, object] = OrderedDict()

    def get(self, key: str):
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: str, value: object) -> None:
        self._data[key] = value
        if len(self._data) > self.size:
            self._data.popitem(last=False)


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, idf: dict[str, float] | None = None, chunks: Iterable[Chunk] = (),
                 min_support: float = 0.2, abbreviations: Abbreviations | None = None) -> None:
        self.idf = idf or {}
        self.abbreviations = abbreviations or Abbreviations()
        self.min_support = min_support
        self._doc_text: dict[str, str] = {}
        self._prev: dict[str, str] = {}
        self._memo = _Memo(4096)  # chunk id → folded context, its tokens
        self._doc_memo = _Memo(64)  # doc id → folded document
        last: Chunk | None = None
        for c in chunks:
            self._doc_text[c.doc_id] = self._doc_text.get(c.doc_id, c.title) + "\n" + c.text
            if last is not None and last.doc_id == c.doc_id:
                self._prev[c.chunk_id] = last.text
            last = c

    def _weight(self, term: str) -> float:
        return self.idf.get(term, 3.0)

    def _coverage(self, terms: list[str], tokens: set[str]) -> float:
        """Rarity-weighted share of the question's words, and of its adjacent word pairs, found
        in `tokens`: pairs make compounds count ("tổ công nghệ số cộng đồng" ≠ "công nghệ")."""
        pairs = [f"{a} {b}" for a, b in zip(terms, terms[1:])]
        total = sum(self._weight(t) for t in terms) + sum(self._pair_weight(p) for p in pairs)
        if total == 0:
            return 1.0
        got = sum(self._weight(t) for t in terms if t in tokens)
        got += sum(self._pair_weight(p) for p in pairs if p in tokens)
        return got / total

    def _pair_weight(self, pair: str) -> float:
        a, b = pair.split(" ", 1)
        return 0.5 * (self._weight(a) + self._weight(b))

    def _tokens(self, text: str, expanded: bool = False) -> set[str]:
        """Words and word pairs of `text`, its abbreviations spelled out ("NHNN" also counts as
        "Ngân hàng Nhà nước") unless `expanded` says that is done."""
        toks = bm25_tokens(text if expanded else self.abbreviations.expand(text))
        return set(toks) | {f"{a} {b}" for a, b in zip(toks, toks[1:])}

    def context(self, chunk: Chunk) -> str:
        """The chunk with its title and the passage before it (a split paragraph's lead-in), its
        abbreviations spelled out after it."""
        return self.abbreviations.expand(f"{chunk.title}\n{self._prev.get(chunk.chunk_id, '')}\n{chunk.text}")

    def _context_facts(self, chunk: Chunk) -> tuple[str, set[str]]:
        """Folded context and its tokens, memoized: the same passages come back question after
        question, and folding and tokenizing them was most of the answerer's time."""
        facts = self._memo.get(chunk.chunk_id)
        if facts is None:
            ctx = self.context(chunk)
            facts = (fold(ctx), self._tokens(ctx, expanded=True))
            self._memo.put(chunk.chunk_id, facts)
        return facts

    def _folded_doc(self, chunk: Chunk) -> str:
        doc = self._doc_memo.get(chunk.doc_id)
        if doc is None:
            doc = fold(self._doc_text.get(chunk.doc_id, chunk.text))
            self._doc_memo.put(chunk.doc_id, doc)
        return doc

    def constraints_ok(self, info: QuestionInfo, chunk: Chunk) -> bool:
        """Named places, ministries and periods in the passage; years in its document."""
        f = self._context_facts(chunk)[0]
        asked = fold(info.restored)
        if any(not re.search(rf"\b{re.escape(n)}\b", f) for n in info.places):
            return False
        # a ministry introduced by "theo (báo cáo của) ..." is the source, not the subject: its
        # document must mention it; a ministry that is the subject must be in the passage
        doc = self._folded_doc(chunk)
        for m in FOLDED_MINISTRIES:
            found = re.search(rf"\b{re.escape(m)}\b", asked)
            if not found:
                continue
            source = re.search(r"\btheo( bao cao| thong bao| so lieu)?( cua)?\s*$", asked[:found.start()])
            if not re.search(rf"\b{re.escape(m)}\b", doc if source else f):
                return False
        dated = f + (chunk.date or "")
        if any(y not in dated for y in info.years):
            return False
        if not all(p in f for p in info.periods):
            return False
        # "phiên họp thứ nhất" names the event a document reports on, like a year does
        return all(_mentions_ordinal(doc, n) for n in info.ordinals)

    def answer(self, info: QuestionInfo, hits: list[Hit]) -> Answer:
        if not hits:
            return not_found(info, hits)
        named = set(bm25_tokens(" ".join([*info.places, *info.years, *info.periods])))
        terms = [t for t in info.content_terms if t not in named]
        pattern = _PATTERNS.get(info.answer_type)
        required = _required_pattern(info) is not None  # then it is `pattern`
        top_score = max(h.score for h in hits) or 1.0
        best: _Candidate | None = None
        for hi, hit in enumerate(hits):
            chunk = hit.chunk
            if not self.constraints_ok(info, chunk):
                continue
            chunk_cov = self._coverage(terms, self._context_facts(chunk)[1])
            for s, e in _units(chunk.text):
                unit = chunk.text[s:e]
                typed = _has_new_value(pattern, unit, info) if pattern else True
                if info.answer_type == "person" and not _roles_match(info.restored, unit):
                    continue
                if required and not typed:
                    continue
                if not names_counted(info, chunk.text[_with_antecedent(chunk.text, s):e]):
                    continue
                cov = self._coverage(terms, self._tokens(f"{_row_head(chunk.text, s)} {unit}"))
                support = 0.5 * cov + 0.5 * chunk_cov
                score = support + 0.25 * (hit.score / top_score) + 0.1 * typed
                if unit.strip() == chunk.title.strip():
                    score -= 0.3  # a headline restates the topic; it rarely answers
                if not info.places and _names_a_province(unit):
                    score -= 0.15  # a national question is not answered by one province's figure
                if best is None or score > best.score:
                    best = _Candidate(hi, s, e, score, support)
        # English questions meet Vietnamese passages only through a small glossary: trust retrieval
        threshold = self.min_support * (0.3 if info.english else 1.0)
        if best is None or best.support < threshold:
            ans = not_found(info, hits)
            ans.confidence = best.support if best else 0.0
            return ans
        hit = hits[best.hit_index]
        start = _with_antecedent(hit.chunk.text, best.start)
        quote = hit.chunk.text[start:best.end]
        others = [h for j, h in enumerate(hits) if j != best.hit_index]
        return Answer(question=info.text, answer=f"{quote} [1]", found=True,
                      citations=[citation(1, hit, quote)],
                      related=[citation(i + 2, h) for i, h in enumerate(others)],
                      confidence=round(best.support, 4))
