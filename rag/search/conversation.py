"""Follow-up questions: turn "Còn Thái Nguyên thì sao?" into a standalone question.

Staff chat: after "Lào Cai tích hợp bao nhiêu dịch vụ công?" they ask "Còn Thái Nguyên thì sao?".
Retrieval needs the whole question, so an elliptical follow-up ("còn X thì sao?", "thế còn X?",
"X thì sao?", "what about X?") is resolved against the previous standalone question: each named
thing in X (province, ministry, year, quarter/period) replaces the thing of the same kind in that
question, or is added when it had none. Pure functions, no LLM; anything that is not such a
follow-up, or whose X names nothing we recognise, is left untouched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..vi.gazetteer import FOLDED_CITIES, MINISTRY_NAMES, PROVINCE_NAMES
from ..vi.text import YEAR_RE, fold, nfc

_ALIASES = {"tp hcm": "Hồ Chí Minh", "tp. hcm": "Hồ Chí Minh", "tphcm": "Hồ Chí Minh",
            "hcm": "Hồ Chí Minh", "sai gon": "Hồ Chí Minh",
            "bo tt&tt": "Bộ Thông tin và Truyền thông", "bo tttt": "Bộ Thông tin và Truyền thông"}

# Follow-up shapes, matched on folded text; group "x" is the new entity phrase.
_TAIL = r"(?:\s+(?:thi\s+)?(?:sao|the\s+nao|ra\s+sao|nhu\s+the\s+nao|thi\s+sao))?(?:\s+(?:a|ha|vay|nhi|nhe))?"
_FOLLOWUP_PATTERNS = [re.compile(p) for p in (
    # "còn X thì sao?", "thế còn X?", "vậy còn X thì thế nào?", "còn với X?"
    rf"^(?:(?:the|vay|va)\s+)?con\s+(?:voi\s+|o\s+|tai\s+|doi\s+voi\s+)?(?P<x>.+?){_TAIL}$",
    # "X thì sao?", "X thì thế nào?", "X thì như thế nào?"
    r"^(?:(?:the|vay|va)\s+)?(?:voi\s+|o\s+|tai\s+|doi\s+voi\s+)?(?P<x>.+?)\s+thi\s+"
    r"(?:sao|the\s+nao|ra\s+sao|nhu\s+the\s+nao)(?:\s+(?:a|ha|vay|nhi|nhe))?$",
    # English: "what about X?", "how about X?", "and X?", "and what about X?", "same for X"
    r"^(?:and\s+)?(?:what|how)\s+about\s+(?:in\s+|for\s+)?(?P<x>.+?)$",
    r"^and\s+(?:in\s+|for\s+)?(?P<x>.+?)$",
    r"^(?:the\s+)?same\s+(?:for|in)\s+(?P<x>.+?)$",
)]
_MAX_X_WORDS = 8  # a longer "X" is a question of its own, not an ellipsis

_PERIOD_RE = re.compile(r"\b(?:quy\s+(?:iv|i{1,3}|[1-4])|\d+\s+thang(?:\s+(?:dau|cuoi))?\s+nam"
                        r"|\d+\s+thang(?:\s+dau|\s+cuoi)?|q[1-4])\b")
# words that may stand around the names in X: "còn tỉnh Thái Nguyên năm 2023 thì sao?"
_FILLER = set("tinh thanh pho tp nam trong o tai cua voi va the in for of province city "
              "ministry year quarter nay do".split())


@dataclass
class Entity:
    kind: str  # "place" | "ministry" | "year" | "period"
    start: int  # offsets in the original text
    end: int
    canonical: str  # how to write it into a question


@dataclass
class Resolution:
    """The standalone question to retrieve with, and how it was obtained."""

    question: str  # standalone: equal to `original` unless rewritten
    original: str
    rewritten: bool = False
    replaced: list[tuple[str, str]] = field(default_factory=list)  # (old, new) substitutions
    added: list[str] = field(default_factory=list)


def _fold_chars(text: str) -> str:
    """`fold` character by character, so offsets in the result are offsets in `text`."""
    out = []
    for ch in text:
        f = fold(ch)
        out.append(f[:1] if f else " ")
    return "".join(out)


def _canonical_period(folded: str, original: str) -> str:
    m = re.fullmatch(r"quy\s+(iv|i{1,3}|[1-4])", folded)
    if m:
        roman = {"1": "I", "2": "II", "3": "III", "4": "IV"}.get(m.group(1), m.group(1).upper())
        return f"quý {roman}"
    m = re.fullmatch(r"q([1-4])", folded)
    if m:
        return f"quý {['I', 'II', 'III', 'IV'][int(m.group(1)) - 1]}"
    return original


def find_entities(text: str) -> list[Entity]:
    """Provinces, ministries, years and periods named in `text`, in order, without overlaps."""
    text = nfc(text)
    f = _fold_chars(text)
    found: list[Entity] = []
    taken = [False] * len(text)

    def add(kind: str, s: int, e: int, canonical: str) -> None:
        if any(taken[s:e]):
            return
        for i in range(s, e):
            taken[i] = True
        found.append(Entity(kind, s, e, canonical))

    names = [(k, v, "ministry") for k, v in MINISTRY_NAMES.items()]
    names += [(k, v, "place") for k, v in PROVINCE_NAMES.items()]
    names += [(k, v, "ministry" if v.startswith("Bộ") else "place") for k, v in _ALIASES.items()]
    for key, canonical, kind in sorted(names, key=lambda n: len(n[0]), reverse=True):
        for m in re.finditer(rf"(?<!\w){re.escape(key)}(?!\w)", f):
            add(kind, m.start(), m.end(), canonical)
    for m in _PERIOD_RE.finditer(f):
        add("period", m.start(), m.end(), _canonical_period(m.group(0), text[m.start():m.end()]))
    for m in YEAR_RE.finditer(f):
        add("year", m.start(), m.end(), m.group(0))
    return sorted(found, key=lambda e: e.start)


def followup_phrase(question: str) -> str | None:
    """The "X" of an elliptical follow-up ("Còn X thì sao?"), or None for a full question."""
    q = nfc(question).strip()
    core = re.sub(r"[\s?!.…]+$", "", q)
    f = _fold_chars(core).lower()
    for rx in _FOLLOWUP_PATTERNS:
        m = rx.match(f)
        if m:
            x = core[m.start("x"):m.end("x")].strip(" ,;:")
            if x and len(x.split()) <= _MAX_X_WORDS:
                return x
    return None


_ADD_TEMPLATES = {"place": "tại {}", "ministry": "của {}", "year": "năm {}", "period": "trong {}"}


_UNIT_RE = re.compile(r"(?:tinh|thanh pho|tp\.?)\s+$")


def _with_prefix(text: str, old: Entity, new: Entity) -> tuple[int, int]:
    """The span of `old` including a "tỉnh"/"thành phố" before it, if it is a place."""
    if old.kind != "place" or new.kind != "place":
        return old.start, old.end
    m = _UNIT_RE.search(_fold_chars(text[:old.start]))
    return (m.start() if m else old.start), old.end


def _prefixed(prefix: str, new: Entity) -> str:
    """Keep the administrative word, switching it to suit the new place (tỉnh ↔ thành phố)."""
    if not prefix:
        return new.canonical
    unit = "thành phố" if fold(new.canonical) in FOLDED_CITIES else "tỉnh"
    if _fold_chars(prefix).strip() in {"tp", "tp."}:
        unit = "TP." if unit == "thành phố" else "tỉnh"
    return f"{unit} {new.canonical}"


def _like(old: str, new: str) -> str:
    """Sentence case follows the replaced text: "Quý I/2022 ..." → "Quý II/2022 ..."."""
    if old[:1].isupper() and new[:1].islower():
        return new[:1].upper() + new[1:]
    return new


def _merge(previous: str, new: list[Entity]) -> tuple[str, list[tuple[str, str]], list[str]]:
    prev = nfc(previous).strip()
    old = find_entities(prev)
    replaced: list[tuple[str, str]] = []
    added: list[str] = []
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in prev
    used: set[int] = set()
    for ent in new:
        same_kind = [i for i, o in enumerate(old) if o.kind == ent.kind and i not in used]
        if same_kind:
            first = old[same_kind[0]]
            # every mention of that same name (e.g. "Lào Cai ... tỉnh Lào Cai") changes with it
            for i in same_kind:
                if fold(old[i].canonical) == fold(first.canonical):
                    used.add(i)
                    s, e = _with_prefix(prev, old[i], ent)
                    edits.append((s, e, _like(prev[s:e], _prefixed(prev[s:old[i].start], ent))))
            replaced.append((prev[first.start:first.end], ent.canonical))
        else:
            added.append(_ADD_TEMPLATES[ent.kind].format(ent.canonical))
    out = prev
    for s, e, rep in sorted(edits, reverse=True):
        out = out[:s] + rep + out[e:]
    if added:
        m = re.search(r"[\s?!.…]*$", out)
        end = m.start() if m else len(out)
        out = out[:end] + " " + " ".join(added) + (out[end:] or "?")
    return out, replaced, added


def _only_names(phrase: str, entities: list[Entity]) -> bool:
    """X is just names (plus filler words): "Thái Nguyên năm 2023", not "bao nhiêu nhiệm vụ năm 2023"."""
    text = nfc(phrase)
    for e in sorted(entities, key=lambda e: e.start, reverse=True):
        text = text[:e.start] + " " + text[e.end:]
    return all(w in _FILLER for w in re.findall(r"\w+", fold(text)))


def resolve_followup(question: str, history: Sequence[str]) -> Resolution:
    """Resolve `question` against `history`, the earlier standalone questions (oldest first).

    >>> resolve_followup("Còn Thái Nguyên thì sao?",
    ...                  ["Lào Cai tích hợp bao nhiêu dịch vụ công?"]).question
    'Thái Nguyên tích hợp bao nhiêu dịch vụ công?'
    """
    original = question
    previous = next((h for h in reversed(history) if h and h.strip()), None)
    if previous is None:
        return Resolution(question, original)
    phrase = followup_phrase(question)
    if phrase is None:
        return Resolution(question, original)
    new = find_entities(phrase)
    if not new or not _only_names(phrase, new):
        return Resolution(question, original)
    rewritten, replaced, added = _merge(previous, new)
    if fold(rewritten) == fold(previous) and not added:
        return Resolution(question, original)
    return Resolution(rewritten, original, True, replaced, added)


class Conversation:
    """The standalone questions of one chat, so each follow-up resolves against the last one."""

    def __init__(self, history: Sequence[str] = ()) -> None:
        self.history: list[str] = list(history)

    def resolve(self, question: str) -> Resolution:
        res = resolve_followup(question, self.history)
        self.history.append(res.question)
        return res
