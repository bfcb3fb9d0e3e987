"""Grounding check for generated answers: is every fact stated in a passage the answer cites?

Why: a small local model, measured on eval/qa.jsonl, invented answers for most unanswerable
questions and cited the wrong passage numbers, and a plain "the numbers appear in the passage"
check accepted "Trà Vinh 58,2%" taken from a sentence about all localities. So an answer passes
only if

1. it cites, and every [n] names a passage that was sent;
2. every number (by value: 1.305 = 1305, 81,7 % = 81,7%), date (22/12/2023 = ngày 22 tháng 12
   năm 2023), document code (2093/QĐ-BYT) and capitalised name it states — other than those the
   question itself gives — appears in a passage its sentence cites (a sentence without [n]
   borrows the answer's citations);
3. that passage is about the question's subject: it passes the extractive answerer's
   `constraints_ok` (places, ministries, years, periods), and when the question names a place, the
   clause carrying the number does not attribute it to another province, to "các địa phương" /
   "cả nước", or to the national portal;
4. it says something: not only citations, a passage title, or the question's own words; it gives
   a value of the kind asked for ("bao nhiêu" needs a number), and for "who" questions
   the name stands in a sentence giving the title asked for (measured: "Bí thư Tỉnh ủy Trà Vinh
   là Lê Văn Hẳn [1]" from a sentence naming him "Phó Bí thư", a deputy).

Pure functions over strings and chunks; `rag.answerers.llm` falls back to the extractive answer
when `check` says no.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ..search.kinds import gives_asked_value, holds_asked_role
from ..search.query import ENGLISH_WORDS, QUESTION_WORDS, QuestionInfo
from ..types import Chunk
from ..vi.gazetteer import FOLDED_PROVINCES
from ..vi.gazetteer import PROVINCE_NAMES as _DISPLAY
from ..vi.text import bm25_tokens, canonical_number, fold, split_sentences
from ..vi.text import no_spaces as _squash

ConstraintCheck = Callable[[QuestionInfo, Chunk], bool]
MIN_COVERAGE = 0.5

CITE_RE = re.compile(r"\[\s*(\d+(?:\s*[,;–-]\s*\d+)*)\s*\]")
_NUM_RE = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*(?![\w])")
_CODE_RE = re.compile(r"\b\d+(?:/\d{4})?[/-][A-ZĐ][\wĐđ]*(?:[-/][\wĐđ]+)*")
_MONTHS_EN = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}
_DATE_RES: list[tuple[re.Pattern, tuple[str, str, str]]] = [
    # (pattern, which groups are day / month / year); "" = not given
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), ("3", "2", "1")),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b"), ("1", "2", "3")),
    (re.compile(r"\bngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})(?:\s+năm\s+(\d{4}))?", re.I), ("1", "2", "3")),
    (re.compile(r"\btháng\s+(\d{1,2})(?:/|\s+năm\s+)(\d{4})\b", re.I), ("", "1", "2")),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})\b(?!/\d)"), ("1", "2", "")),
    (re.compile(r"\b(\d{1,2})/(\d{4})\b"), ("", "1", "2")),
    (re.compile(r"\b(\d{1,2})\s+(" + "|".join(_MONTHS_EN) + r")(?:,?\s+(\d{4}))?", re.I), ("1", "2", "3")),
    (re.compile(r"\b(" + "|".join(_MONTHS_EN) + r")\s+(\d{1,2})(?:,?\s+(\d{4}))?", re.I), ("2", "1", "3")),
]
# Abbreviations an answer may use where the passage spells the words out.
_GENERIC_CAPS = {"ubnd", "hdnd", "tp", "cntt", "dvc", "dvctt", "tthc", "csdl", "cccd", "tw", "vn", "qd"}
# English words an English answer capitalises in the names of bodies, plans and platforms
# ("National Public Service Portal"): not names to look up in a Vietnamese passage
_ENGLISH_TITLE_WORDS = set("""
accounts administrative banks broadband businesses chaired chairman citizens committee community companies
completed data database day decision digital economy electronic enterprises fiber fixed goal health households
identity integrate integrated internet investment invoices market markets meeting minister ministry mobile
national online payment people percentage platform platforms population portal prime procedures province
public quarter rate records resolution revenue service services session share signature smartphone speed
target tasks teams technology theme transformation
""".split())
_ENGLISH_CAPS = ENGLISH_WORDS | _ENGLISH_TITLE_WORDS | {
    "vietnam", "vietnamese", "viet", "project", "scheme", "plan", "program", "programme", "level",
    "according", "by", "it", "its", "this", "there", "overall", "in", "as", "not", "information"}
# Clause openings that make a figure about everyone, not one province.
_COLLECTIVE = re.compile(
    r"\b(cac dia phuong|ca nuoc|toan quoc|cac tinh|63 tinh|cac bo, nganh|cac bo nganh|binh quan chung)\b"
    r"|(?<!len )(?<!vao )(?<!voi )(?<!tren )(?<!tai )(?<!qua )\bcong dich vu cong quoc gia\b")
# Capitalised only because they open the sentence: "Theo Bộ Y tế", "Tỉnh Lào Cai", "Ông Lê Văn Hẳn".
_OPENERS = QUESTION_WORDS | {"tinh", "thanh", "ong", "ba", "dong", "chi", "anh", "huyen", "xa"}


@dataclass(frozen=True)
class Claim:
    """One checkable fact in the answer: `keys` are the comparable forms it may take."""

    kind: str  # "number" | "date" | "code" | "name"
    text: str  # as written in the answer
    keys: tuple


@dataclass
class Grounding:
    ok: bool
    reason: str | None = None  # the first failure, one line
    cited: list[int] = field(default_factory=list)  # passage numbers in order of first citation
    quotes: dict[int, str] = field(default_factory=dict)  # n → the passage sentence backing the answer
    coverage: float = 0.0  # share of the answer's words found in the cited passages


# ------------------------------------------------------------------ parsing

def citation_numbers(text: str) -> list[int]:
    """[n] markers in order of appearance, each once: "[1]", "[1, 3]", "[2-3]", "[1][2]"."""
    out: list[int] = []
    for m in CITE_RE.finditer(text):
        for part in re.split(r"\s*[,;]\s*", m.group(1)):
            bounds = [int(x) for x in re.split(r"\s*[–-]\s*", part)]
            lo, hi = bounds[0], bounds[-1]
            out.extend(range(lo, hi + 1) if 0 <= hi - lo < 20 else bounds)
    return list(dict.fromkeys(out))


def strip_citations(text: str) -> str:
    return CITE_RE.sub(" ", text)


def _value(digits: str) -> str:
    """'02' → '2', '81.70' → '81.7': numbers compare by value, not by spelling."""
    try:
        return format(Decimal(digits).normalize(), "f")
    except InvalidOperation:
        return digits


def number_values(token: str, english: bool = False) -> tuple[str, ...]:
    """Readings of a written number: Vietnamese (1.305 = 1305, 58,2 = 58.2) and, in an English
    answer, also English (1,305 = 1305, 58.2)."""
    vi = _value(canonical_number(token))
    if not english:
        return (vi,)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", token):
        en = _value(token.replace(",", ""))
    else:
        en = _value(token.replace(",", "."))
    return tuple(dict.fromkeys((vi, en)))


def _date_key(m: re.Match, groups: tuple[str, str, str]) -> tuple[int | None, int | None, int | None] | None:
    vals: list[int | None] = []
    for g in groups:
        raw = m.group(int(g)) if g else None
        if raw is None:
            vals.append(None)
        elif raw.isdigit():
            vals.append(int(raw))
        else:
            vals.append(_MONTHS_EN[raw.lower()])
    d, mo, y = vals
    if mo is None or not 1 <= mo <= 12 or (d is not None and not 1 <= d <= 31):
        return None
    return d, mo, y


def _dates(text: str) -> list[tuple[tuple, tuple[int, int]]]:
    """(key, span) of each date mention, earlier patterns first, without overlaps."""
    found: list[tuple[tuple, tuple[int, int]]] = []
    taken: list[tuple[int, int]] = []
    for rx, groups in _DATE_RES:
        for m in rx.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            key = _date_key(m, groups)
            if key is not None:
                found.append((key, m.span()))
                taken.append(m.span())
    return found


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for s, e in spans:
        chars[s:e] = " " * (e - s)
    return "".join(chars)


def _name_runs(text: str) -> list[tuple[str, bool]]:
    """Runs of capitalised words, each with whether it opens a sentence (its first word may be
    capitalised only for that)."""
    runs: list[tuple[str, bool]] = []
    for seg in re.split(r"(?<=[.!?:\n])\s+|[,;()\"“”–]|\s-\s", text):
        toks = re.findall(r"[^\W\d_]+", seg)
        run: list[str] = []
        start = 0
        for i, w in enumerate(toks + [""]):
            if w and any(c.isupper() for c in w):
                if not run:
                    start = i
                run.append(w)
                continue
            if run:
                runs.append((" ".join(run), start == 0))
            run = []
    return runs


def extract_claims(answer: str, english: bool = False) -> list[Claim]:
    """The checkable facts of an answer, citations removed."""
    text = strip_citations(answer)
    claims: list[Claim] = []
    codes = list(_CODE_RE.finditer(text))
    claims += [Claim("code", m.group(0), (_squash(fold(m.group(0))),)) for m in codes]
    text = _blank(text, (m.span() for m in codes))
    dates = _dates(text)
    for key, (s, e) in dates:
        claims.append(Claim("date", text[s:e], (key,)))
    text = _blank(text, (span for _, span in dates))
    for m in _NUM_RE.finditer(text):
        pct = re.match(r"\s?%", text[m.end():])
        claims.append(Claim("number", m.group(0) + (pct.group(0) if pct else ""), number_values(m.group(0), english)))
    for run, initial in _name_runs(text):
        words = run.split()
        if english and all(w.lower() in _ENGLISH_CAPS for w in words):
            continue
        if len(words) == 1 and (initial or fold(run) in _GENERIC_CAPS):
            continue
        keys = (fold(run),)
        if initial and (len(words) > 2 or fold(words[0]) in _OPENERS):
            keys += (fold(" ".join(words[1:])),)  # "Theo Bộ Y tế", "Tỉnh Lào Cai": the name follows
        claims.append(Claim("name", run, keys))
    return claims


# ------------------------------------------------------------------ support in a passage

def passage_text(chunk: Chunk) -> str:
    """What a claim may be found in: the passage, its title, and its document's header fields."""
    return "\n".join(x for x in (chunk.title, chunk.text, chunk.issuer, chunk.doc_number) if x)


def _number_spans(text: str, values: tuple[str, ...]) -> list[tuple[int, int]]:
    return [m.span() for m in _NUM_RE.finditer(text) if _value(canonical_number(m.group(0))) in values]


def supported(claim: Claim, text: str, date: str | None = None) -> bool:
    """Does `text` (with the document's ISO `date`) state the claim?"""
    if claim.kind == "number":
        return bool(_number_spans(text, claim.keys))
    if claim.kind == "date":
        (d, m, y), = claim.keys
        mentions = [k for k, _ in _dates(text + (f"\n{date}" if date else ""))]
        return any(m == pm and d in (None, pd) and y in (None, py) for pd, pm, py in mentions)
    if claim.kind == "code":
        return claim.keys[0] in _squash(fold(text))
    folded = fold(text)
    return any(re.search(rf"(?<!\w){re.escape(k)}(?!\w)", folded) for k in claim.keys if k)


def in_passage(claim: Claim, chunk: Chunk) -> bool:
    return supported(claim, passage_text(chunk), chunk.date)


def coverage(answer: str, passages: list[Chunk], question: str = "") -> float:
    """Share of the answer's content words found in the passages (or the question): an answer
    with no number or name to check must still be made of their words, not the model's."""
    mine = [t for t in bm25_tokens(strip_citations(answer))
            if t not in QUESTION_WORDS and not any(ch.isdigit() for ch in t)]
    if not mine:
        return 1.0
    theirs = set(bm25_tokens(" ".join([question, *(passage_text(c) for c in passages)])))
    return sum(t in theirs for t in mine) / len(mine)


def _clauses(text: str) -> list[tuple[int, int]]:
    """Sentence spans cut at ';' (clauses after a semicolon often change subject)."""
    out, pos = [], 0
    for para in text.split("\n"):
        for s, e in split_sentences(para):
            cut = pos + s
            for m in re.finditer(r";\s*", para[s:e]):
                out.append((cut, pos + s + m.start()))
                cut = pos + s + m.end()
            out.append((cut, pos + e))
        pos += len(para) + 1
    return out


def wrong_subject(info: QuestionInfo, chunk: Chunk, claim: Claim) -> str | None:
    """For a question naming a place: what the passage's clauses attribute this number to when
    that is not the place ("các địa phương", another province), or None if some occurrence is
    about the place (or about no one in particular, the passage itself being about the place)."""
    if claim.kind != "number" or not info.places:
        return None
    others = [p for p in FOLDED_PROVINCES if p not in info.places and not any(p in a for a in info.places)]
    seen: list[str] = []
    for s, e in _clauses(chunk.text):  # split the original: sentence ends need its capitals
        clause = chunk.text[s:e]
        folded = fold(clause)
        shown = clause if len(clause) == len(folded) else folded  # fold keeps NFC offsets
        for ns, _ in _number_spans(folded, claim.keys):
            prefix = folded[:ns]
            markers = [(m.end(), "") for p in info.places for m in re.finditer(rf"\b{re.escape(p)}\b", prefix)]
            markers += [(m.end(), _DISPLAY.get(p, p)) for p in others
                        for m in re.finditer(rf"\b{re.escape(p)}\b", prefix)]
            markers += [(m.end(), shown[m.start():m.end()]) for m in _COLLECTIVE.finditer(prefix)]
            subject = max(markers)[1] if markers else ""
            if not subject:
                return None
            seen.append(subject)
    return seen[0] if seen else None


# ------------------------------------------------------------------ the check

def _sentences_with_citations(answer: str) -> list[tuple[str, list[int]]]:
    """Answer sentences and the passages each cites; an uncited one borrows all the answer's."""
    every = citation_numbers(answer)
    out = []
    for s, e in split_sentences(answer):
        sent = answer[s:e]
        out.append((sent, citation_numbers(sent) or every))
    return out


def _place_names(info: QuestionInfo) -> str:
    return ", ".join(_DISPLAY.get(p, p) for p in info.places)


def _adds_to(answer: str, question: str) -> bool:
    """Some word of the answer is not the question's (measured: "Ủy ban Quốc gia về chuyển đổi số
    được kiện toàn từ Ủy ban Quốc gia [1]" for "…được kiện toàn từ ủy ban nào?")."""
    asked = set(bm25_tokens(question))
    return any(t not in asked and t not in QUESTION_WORDS for t in bm25_tokens(strip_citations(answer)))


def _in_titled_sentence(info: QuestionInfo, claim: Claim, chunk: Chunk) -> bool:
    return any(supported(claim, sent) and holds_asked_role(info, sent) for sent in _sentences(chunk.text))


def _sentences(text: str) -> list[str]:
    return [para[s:e] for para in text.split("\n") for s, e in split_sentences(para)]


def _best_sentence(chunk: Chunk, answer: str, claims: list[Claim]) -> str:
    """The passage sentence to quote: the first stating a claim the answer took from it;
    otherwise the one sharing most words with the answer."""
    sentences = _sentences(chunk.text)
    for c in claims:
        for sent in sentences:
            if supported(c, sent):
                return sent
    words = set(bm25_tokens(strip_citations(answer)))
    return max(sentences, key=lambda sent: len(words & set(bm25_tokens(sent))), default="")


def _backing_passage(claim: Claim, refs: list[int], info: QuestionInfo, passages: list[Chunk],
                     ok_subject: dict[int, bool]) -> tuple[int, str | None]:
    """The cited passage that states `claim` about the question's subject, or why none does."""
    holders = [n for n in refs if in_passage(claim, passages[n - 1])]
    if not holders:
        elsewhere = [n for n in range(1, len(passages) + 1) if in_passage(claim, passages[n - 1])]
        where = f"có ở đoạn [{elsewhere[0]}], " if elsewhere else ""
        return 0, (f"“{claim.text}” không có trong đoạn được trích {''.join(f'[{n}]' for n in refs)} "
                   f"({where}not in the cited passage)")
    if claim.kind == "name" and info.answer_type == "person":
        titled = [n for n in holders if _in_titled_sentence(info, claim, passages[n - 1])]
        if not titled:
            return 0, (f"đoạn [{holders[0]}] không nói “{claim.text}” giữ chức vụ được hỏi / "
                       "the cited sentence gives another title")
        holders = titled
    about = [n for n in holders if ok_subject[n]]
    if not about:
        return 0, (f"đoạn [{holders[0]}] chứa “{claim.text}” nhưng không nói về "
                   f"{_place_names(info) or 'chủ thể được hỏi'} / cited passage is about another subject")
    subjects = [wrong_subject(info, passages[n - 1], claim) for n in about]
    if all(subjects):
        return 0, (f"“{claim.text}” ở đoạn [{about[0]}] là số liệu của “{subjects[0]}”, không phải "
                   f"{_place_names(info)} / the figure is about another subject")
    return about[subjects.index(None)], None


def check(answer: str, info: QuestionInfo, passages: list[Chunk],
          constraints_ok: ConstraintCheck | None = None) -> Grounding:
    """Is `answer` (citing [1]..[len(passages)]) grounded in the passages? See the module doc."""
    cited = citation_numbers(answer)
    bad = [n for n in cited if not 1 <= n <= len(passages)]
    if bad:
        return Grounding(False, f"trích dẫn [{bad[0]}] không tồn tại (chỉ có {len(passages)} đoạn) / "
                                "citation points to no passage", cited)
    if not cited:
        return Grounding(False, "câu trả lời không trích dẫn đoạn nào / the answer cites no passage")
    if not re.search(r"\w", strip_citations(answer)):  # "[1] 81,7%" is an answer, "[1]" is not
        return Grounding(False, "câu trả lời chỉ có số trích dẫn / the answer is only citations", cited)
    if any(_squash(fold(strip_citations(answer))).strip("\"“”'.") in _squash(fold(f"{c.title} — {c.date}"))
           for c in passages):
        return Grounding(False, "câu trả lời chỉ chép tiêu đề của đoạn / the answer only copies a passage title",
                         cited)
    if not gives_asked_value(info, strip_citations(answer)):
        return Grounding(False, "câu trả lời không nêu giá trị được hỏi / no value of the asked kind", cited)
    given = {k for q in (info.text, info.restored) for c in extract_claims(q, info.english) for k in c.keys}
    ok_subject = {n: constraints_ok is None or constraints_ok(info, passages[n - 1]) for n in cited}
    used: dict[int, list[Claim]] = {n: [] for n in cited}
    for sentence, refs in _sentences_with_citations(answer):
        for claim in extract_claims(sentence, info.english):
            if given.intersection(claim.keys):
                continue
            n, reason = _backing_passage(claim, refs, info, passages, ok_subject)
            if reason:
                return Grounding(False, reason, cited)
            used[n].append(claim)
    share = coverage(answer, [passages[n - 1] for n in cited], info.restored)
    if not info.english and share < MIN_COVERAGE:
        return Grounding(False, f"câu trả lời dùng nhiều từ không có trong đoạn được trích ({share:.0%}) / "
                                "the answer's wording is not from the cited passages", cited, coverage=share)
    if not _adds_to(answer, info.restored):
        return Grounding(False, "câu trả lời chỉ nhắc lại câu hỏi / the answer only restates the question",
                         cited, coverage=share)
    quotes = {n: _best_sentence(passages[n - 1], answer, used[n]) for n in cited}
    return Grounding(True, None, cited, quotes, share)
