"""Features of an answer candidate (a sentence, clause or table cell of a top passage).

The extractive answerer scores every candidate with a fitted logistic model over these numbers
(rag/answerers/scorer.py). What a question asks for is computed once per question
(`QuestionFacts`); per candidate only token-set lookups and a few regex searches remain. The
fitting script (scripts/fit_answer_scorer.py) calls the same code, so training and answering
cannot drift apart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..search.kinds import BY_NAME, PERSON_RE, _counts_only, _roles_match, _value_matches, names_counted, wants_a_person
from ..search.query import ENGLISH_WORDS, QUESTION_WORDS, QuestionInfo
from ..vi.text import bm25_tokens, canonical_number, fold

#: the order of the model's coefficients; the weights file names them and is checked against this
FEATURES = (
    "cov",  # rarity-weighted share of the question's words (and word pairs) in the candidate
    "ctx_cov",  # … in the candidate with its previous and next sentence
    "prev_cov",  # … in the previous sentence: a restating lead-in puts the answer right after it
    "next_cov",
    "passage_cov",  # … in the whole passage (title and lead-in included)
    "rank_inv",  # 1 / retrieval rank of the passage
    "fused",  # fused retrieval score relative to the best passage
    "cosine",  # e5 cosine of question and passage
    "cosine_gap",  # how far below the best passage's cosine
    "asks_value",  # the question asks for a value kind (number, date, name, duration…)
    "has_value",  # the candidate holds a value of that kind that the question did not state
    "missing_value",  # asks a value kind and the candidate holds none
    "value_count",  # has_value for a count, percent, rank, duration or document number question
    "value_time",  # … for a day or date question
    "value_person",  # … for a person question
    "counted_ok",  # "bao nhiêu X": a count stands next to X
    "role_ok",  # "Bí thư … là ai": the title itself, not "Phó Bí thư"
    "constraints_ok",  # places, years, periods the question names are in the passage
    "novel",  # share of the candidate's words that the question does not contain
    "restates",  # the candidate is mostly the question's own words
    "entity_in_passage",  # share of the question's capitalised names found in the passage
    "entity_in_cand",  # … in the candidate and its neighbours
    "len_log",  # log length of the candidate
    "first_in_passage",
    "is_title",
    "position",  # relative position in the passage
    "other_province",  # a national question answered by one province's figure
    "english",
    "english_x_fused",
    # relative to the other candidates of the question (`relative_features`)
    "sim",  # e5 cosine of the question and the candidate (unit vectors stored in the index)
    "sim_gap",  # how far below the most similar candidate of all passages
    "sim_passage_gap",  # … of its own passage
    "sim_neighbour",  # the more similar of its previous and next sentence
    "sim_next",  # its next sentence: a restating sentence is often followed by the answer
    "cov_gap",  # how far its `cov` is below the best candidate's
    "sim_best",  # it is the most similar candidate
    "numbers_ok",  # share of the question's digit groups (years, counts) that it holds
)

#: computed by `candidate_features`; the rest by `relative_features`
N_OWN = FEATURES.index("sim")


_COUNT_KINDS = ("number", "percent", "ordinal", "duration", "decision")


@dataclass
class QuestionFacts:
    """What a question asks for, computed once: content terms, its own words, the value kind it
    wants, and the capitalised names a passage should mention."""

    info: QuestionInfo
    terms: list[str]
    words: set[str]
    value: re.Pattern | None
    given: set[str]
    counts_only: bool
    entities: list[str]


_WORD_RE = re.compile(r"[^\W_]+(?:[.,/-][^\W_]+)*")


def question_entities(question: str) -> list[str]:
    """Runs of capitalised words of the question past its first word, folded ("Phạm Văn Đồng" →
    "pham van dong"): a passage that names none of them rarely answers (SQuAD-2.0-style
    distractors ask about a name the paragraph never mentions)."""
    out, run = [], []
    for i, m in enumerate(_WORD_RE.finditer(question)):
        w = m.group(0)
        if i > 0 and w[0].isupper():
            run.append(w)
            continue
        if run:
            out.append(run)
        run = []
    if run:
        out.append(run)
    names = []
    for r in out:
        toks = bm25_tokens(" ".join(r))
        if toks and not all(t in QUESTION_WORDS or t in ENGLISH_WORDS for t in toks):
            names.append(" ".join(toks))
    return list(dict.fromkeys(names))


def question_facts(info: QuestionInfo, terms: list[str]) -> QuestionFacts:
    kind = BY_NAME.get(info.answer_type)
    value = PERSON_RE if wants_a_person(info) else (kind.value if kind else None)
    given = {canonical_number(m.group(0)) for m in _value_matches(value, info.restored, False)} if value else set()
    return QuestionFacts(
        info=info, terms=terms, words=set(bm25_tokens(info.restored)), value=value, given=given,
        counts_only=_counts_only(info), entities=question_entities(info.restored))


def has_new_value(qf: QuestionFacts, text: str) -> bool:
    """`text` holds a value of the asked kind that the question did not already state."""
    if qf.value is None:
        return False
    return any(canonical_number(m.group(0)) not in qf.given
               for m in _value_matches(qf.value, text, qf.counts_only))


def entity_share(entities: list[str], folded_tokens: set[str]) -> float:
    """Share of the question's names whose every word is in `folded_tokens` (1 when it has none)."""
    if not entities:
        return 1.0
    return sum(all(t in folded_tokens for t in e.split()) for e in entities) / len(entities)


@dataclass
class PassageView:
    """What the feature code needs of one retrieved passage."""

    rank: int
    fused: float
    cosine: float
    text: str
    title: str
    tokens: set[str]  # of the passage context (title, lead-in, text)
    coverage: float  # of the question's terms by the passage context
    constraints_ok: bool


def candidate_features(qf: QuestionFacts, p: PassageView, units: list[tuple[int, int]], i: int,
                       unit_tokens: list[set[str]], coverage: Callable[[set[str]], float],
                       top_fused: float, top_cosine: float, other_province: bool) -> list[float]:
    """The feature vector of unit `i` of passage `p` (order of `FEATURES`)."""
    s, e = units[i]
    unit = p.text[s:e]
    toks = unit_tokens[i]
    prev_t = unit_tokens[i - 1] if i > 0 else set()
    next_t = unit_tokens[i + 1] if i + 1 < len(units) else set()
    cov = coverage(toks)
    words = [t for t in toks if " " not in t]
    novel = sum(t not in qf.words for t in words) / len(words) if words else 0.0
    asks = qf.value is not None
    typed = has_new_value(qf, unit) if asks else False
    info = qf.info
    return [
        cov,
        coverage(toks | prev_t | next_t),
        coverage(prev_t) if prev_t else 0.0,
        coverage(next_t) if next_t else 0.0,
        p.coverage,
        1.0 / (1 + p.rank),
        p.fused / top_fused if top_fused > 0 else 0.0,
        p.cosine,
        top_cosine - p.cosine,
        float(asks),
        float(typed),
        float(asks and not typed),
        float(typed and info.answer_type in _COUNT_KINDS),
        float(typed and info.answer_type in ("day", "date")),
        float(typed and info.answer_type == "person"),
        float(names_counted(info, unit)),
        float(info.answer_type != "person" or _roles_match(info.restored, unit)),
        float(p.constraints_ok),
        novel,
        float(novel < 0.25),
        entity_share(qf.entities, p.tokens),
        entity_share(qf.entities, toks | prev_t | next_t),
        math.log1p(len(unit)) / 6.0,
        float(i == 0),
        float(unit.strip() == p.title.strip()),
        i / max(1, len(units) - 1),
        float(other_province),
        float(info.english),
        float(info.english) * (p.fused / top_fused if top_fused > 0 else 0.0),
    ]


def fold_tokens(text: str) -> set[str]:
    return set(bm25_tokens(fold(text)))


_DIGITS_RE = re.compile(r"\d+")


def relative_features(spans: list[tuple[int, int, int]], cov: np.ndarray, sims: np.ndarray,
                      question: str, texts: list[str]) -> np.ndarray:
    """The columns of `FEATURES[N_OWN:]` for every candidate: `spans` are (passage, start, end)
    in passage order, `sims` the e5 cosines of the question with each."""
    n = len(spans)
    prev, nxt, pmax = np.zeros(n), np.zeros(n), np.zeros(n)
    passage = np.array([p for p, _, _ in spans])
    for j in range(n):
        if j > 0 and passage[j - 1] == passage[j]:
            prev[j] = sims[j - 1]
        if j + 1 < n and passage[j + 1] == passage[j]:
            nxt[j] = sims[j + 1]
    for p in set(passage.tolist()):
        pmax[passage == p] = sims[passage == p].max()
    wanted = set(_DIGITS_RE.findall(question))
    numbers = [sum(d in set(_DIGITS_RE.findall(t)) for d in wanted) / len(wanted) if wanted else 1.0 for t in texts]
    best = sims.max() if n else 0.0
    return np.column_stack([sims, best - sims, pmax - sims, np.maximum(prev, nxt), nxt,
                            (cov.max() if n else 0.0) - cov, (sims == best).astype(float), numbers])
