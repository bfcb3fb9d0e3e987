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
from collections.abc import Callable, Iterable, Sequence
from functools import partial

import numpy as np

from ..ingest.units import answer_units, sentence_spans, unit_text
from ..search.kinds import (  # noqa: F401 - re-exported: the grounding check and tests import them here
    answer_value,
    counted_noun,
    gives_asked_value,
    holds_asked_role,
)
from ..search.query import ORDINAL_WORDS, QuestionInfo
from ..types import Answer, Chunk, Hit, Passages
from ..vi.abbreviations import Abbreviations
from ..vi.gazetteer import FOLDED_MINISTRIES, FOLDED_PROVINCES
from ..vi.text import bm25_tokens, fold
from .base import CorpusContext, citation, not_found
from .features import FEATURES, N_OWN, PassageView, candidate_features, question_facts, relative_features
from .scorer import COSINE_MODEL, AnswerScorer, answerable_features, default_scorer

# "bao nhiêu" / "bao lâu": when some sentence holds a count or a duration, only those compete. A
# kept rule though it costs the outside sets ~1 point (viquad 0.7, legal 1): without it the fee
# and deadline cells of real decision tables (tests/test_e2e_realdocs.py) lose to their headings.
_PREFER_VALUE = ("number", "duration")
_SHORT_QUOTE = 150  # a longer quote is led by the value it gives ("10 ngày — Trong thời hạn …")

_ANAPHOR_RE = re.compile(r"^(đây|đó|điều này|điều đó|việc này|việc đó|những (việc|điều) (này|đó)|"
                         r"các (kết quả|nội dung|nhiệm vụ) (này|trên)|theo đó|ngoài ra|bên cạnh đó)\b",
                         re.IGNORECASE)


def _with_antecedent(text: str, start: int) -> int:
    """A sentence opening with "Đây là…", "Đó là…", "Theo đó…" points back: the quote starts one
    sentence earlier (same paragraph) so it says what "đây" is."""
    if not _ANAPHOR_RE.match(text[start:]):
        return start
    spans = [s for s, _ in sentence_spans(text) if s < start]
    para_start = text.rfind("\n\n", 0, start) + 1
    return spans[-1] if spans and spans[-1] >= para_start else start


def _mentions_ordinal(folded: str, n: int) -> bool:
    """ "phiên họp thứ hai" is only answered by a passage about a second one ("thứ 2", "thứ hai")."""
    names = [str(n)] + [w for w, v in ORDINAL_WORDS.items() if v == n]
    return re.search(r"\bthu\s+(?:" + "|".join(names) + r")\b", folded) is not None


_PROVINCES_ALT = "|".join(re.escape(p) for p in FOLDED_PROVINCES)
_NAMES_A_PROVINCE_RE = re.compile(
    rf"\b(?:tinh|thanh pho|tp\.?) (?:{_PROVINCES_ALT})\b|\b(?:{_PROVINCES_ALT}) (?:da|co|dat)\b")


def _names_a_province(text: str) -> bool:
    return _NAMES_A_PROVINCE_RE.search(fold(text)) is not None


#: (question, passages) → per passage, the cosine of the question with each of its answer units
Similarity = Callable[[str, list[Chunk]], list[np.ndarray]]


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


class _ListPassages:
    """`Passages` over a plain list (tests, an answerer handed a few chunks)."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self._chunks = chunks
        self._where = {c.chunk_id: i for i, c in enumerate(chunks)}
        self._docs: dict[str, list[int]] = {}
        for i, c in enumerate(chunks):
            self._docs.setdefault(c.doc_id, []).append(i)

    def __len__(self) -> int:
        return len(self._chunks)

    def __getitem__(self, i: int) -> Chunk:
        return self._chunks[i]

    def position(self, chunk_id: str) -> int | None:
        return self._where.get(chunk_id)

    def doc_positions(self, doc_id: str) -> list[int]:
        return self._docs.get(doc_id, [])


class MemoryContext:
    """`CorpusContext` over a local index's passages: a loaded index's `ChunkTable` (or a plain
    list) read on demand — a hit's predecessor, its whole document — so no corpus text is held."""

    def __init__(self, idf: dict[str, float] | None = None, chunks: Passages | Iterable[Chunk] = ()) -> None:
        self._idf = idf or {}
        self._passages = chunks if isinstance(chunks, Passages) else _ListPassages(list(chunks))

    def prefetch(self, chunks: Sequence[Chunk], terms: Sequence[str]) -> None:
        """Nothing to ask for ahead: each passage is read from the index when needed."""

    def previous_text(self, chunk: Chunk) -> str:
        """The text of the passage just before this one in the index, when of the same document."""
        i = self._passages.position(chunk.chunk_id)
        if not i:  # not in the index, or its first passage
            return ""
        before = self._passages[i - 1]
        return before.text if before.doc_id == chunk.doc_id else ""

    def document_text(self, chunk: Chunk) -> str:
        """The chunk's document as its title and passages, one per line (the chunk alone when
        the index does not hold it)."""
        where = self._passages.doc_positions(chunk.doc_id)
        if not len(where):
            return chunk.text
        texts = [self._passages[int(i)] for i in where]
        return "\n".join([texts[0].title, *(c.text for c in texts)])

    def idf(self, term: str) -> float | None:
        return self._idf.get(term)


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, idf: dict[str, float] | None = None, chunks: Passages | Iterable[Chunk] = (),
                 abbreviations: Abbreviations | None = None, scorer: AnswerScorer | None = None,
                 model_id: str | None = None, context: CorpusContext | None = None,
                 similarity: Similarity | None = None) -> None:
        """`idf` and `chunks` (a local index's passages, read on demand) or `context` (the corpus
        asked for what a question needs) give the answerer its neighbouring passages, documents
        and word weights; `similarity` the question × answer-unit cosines (search/units.py)."""
        self.corpus: CorpusContext = context or MemoryContext(idf, chunks)
        self.abbreviations = abbreviations or Abbreviations()
        self._scorer = scorer
        self.model_id = model_id  # the embedder behind the hits' cosines
        self.similarity = similarity
        self._memo = _Memo(4096)  # chunk id → folded context, its tokens
        self._doc_memo = _Memo(64)  # doc id → folded document

    def _weight(self, term: str) -> float:
        idf = self.corpus.idf(term)
        return 3.0 if idf is None else idf

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
        return self.abbreviations.expand(f"{chunk.title}\n{self.corpus.previous_text(chunk)}\n{chunk.text}")

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
            doc = fold(self.corpus.document_text(chunk))
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
        dated = f + doc + (chunk.date or "")  # "Bộ luật dân sự 2015": the year names the document
        if any(y not in dated for y in info.years):
            return False
        if not all(p in f for p in info.periods):
            return False
        # "phiên họp thứ nhất" names the event a document reports on, like a year does
        return all(_mentions_ordinal(doc, n) for n in info.ordinals)

    @property
    def scorer(self) -> AnswerScorer:
        """The fitted scorer, loaded on first answer (the fitting script builds candidates without)."""
        if self._scorer is None:
            self._scorer = default_scorer()
        return self._scorer

    def _passage_units(self, chunk: Chunk) -> tuple[list[tuple[int, int]], list[set[str]]]:
        """A passage's candidate units and their tokens (row head included for table cells),
        memoized with the passage."""
        key = "units:" + chunk.chunk_id
        got = self._memo.get(key)
        if got is None:
            units = answer_units(chunk.text)
            got = (units, [self._tokens(unit_text(chunk.text, s, e)) for s, e in units])
            self._memo.put(key, got)
        return got

    def cosines(self, hits: list[Hit]) -> list[float]:
        """The e5 cosine of each passage. Cosines of another embedder (`--model`) sit on another
        scale, and a hit may come without one (a caller's own ranking): those get the typical
        value of the data the scorer was fit on, so they neither help nor hurt."""
        own = self.model_id == COSINE_MODEL
        if own and all(h.cosine is not None for h in hits):
            return [float(h.cosine) for h in hits]
        typical = self.scorer.typical.get("cosine", 0.85)
        return [h.cosine if own and h.cosine is not None else typical for h in hits]

    @property
    def uses_similarity(self) -> bool:
        """Question–sentence similarities on the scale the scorer was fit on (the packaged e5)."""
        return self.similarity is not None and self.model_id == COSINE_MODEL

    def unit_sims(self, info: QuestionInfo, hits: list[Hit], counts: list[int]) -> np.ndarray:
        """The e5 cosine of the question with every candidate unit, in candidate order. Without
        a similarity source (or with another embedder's scale) every unit gets the typical value
        of the fit data: the similarity features then neither help nor hurt."""
        if self.uses_similarity:
            assert self.similarity is not None
            sims = self.similarity(info.restored, [h.chunk for h in hits])
            if [len(x) for x in sims] == counts:
                return np.concatenate(sims) if sims else np.zeros(0)
        return np.full(sum(counts), self.scorer.typical_sim)

    def candidates(self, info: QuestionInfo, hits: list[Hit]) -> tuple[list[tuple[int, int, int]], np.ndarray]:
        """Every unit of the passages as (hit index, start, end) with its feature row
        (rag/answerers/features.py); shared with the fitting script."""
        named = set(bm25_tokens(" ".join([*info.places, *info.years, *info.periods])))
        qf = question_facts(info, [t for t in info.content_terms if t not in named])
        self.corpus.prefetch([h.chunk for h in hits], qf.terms)
        top_fused = max(h.score for h in hits)
        cosines = self.cosines(hits)
        top_cos = max(cosines)
        spans, rows, counts = [], [], []
        cover = partial(self._coverage, qf.terms)
        for hi, hit in enumerate(hits):
            chunk = hit.chunk
            folded_ctx, ctx_tokens = self._context_facts(chunk)
            units, unit_tokens = self._passage_units(chunk)
            counts.append(len(units))
            view = PassageView(hi, hit.score, cosines[hi], chunk.text, chunk.title, ctx_tokens,
                               cover(ctx_tokens), self.constraints_ok(info, chunk))
            for i, (s, e) in enumerate(units):
                other = not info.places and _names_a_province(chunk.text[s:e])
                rows.append(candidate_features(qf, view, units, i, unit_tokens, cover, top_fused, top_cos, other))
                spans.append((hi, s, e))
        own = np.asarray(rows, dtype=float).reshape(len(rows), N_OWN)
        if not spans:
            return spans, np.zeros((0, len(FEATURES)))
        texts = [hits[hi].chunk.text[s:e] for hi, s, e in spans]
        rel = relative_features(spans, own[:, FEATURES.index("cov")], self.unit_sims(info, hits, counts),
                                info.restored, texts)
        return spans, np.hstack([own, rel])

    def answer(self, info: QuestionInfo, hits: list[Hit]) -> Answer:
        if not hits:
            return not_found(info, hits)
        spans, x = self.candidates(info, hits)
        if not spans:
            return not_found(info, hits)
        allowed = self.scorer.allowed(x)
        if not allowed.any() or (info.answer_type in self.scorer.refuse_without_value
                                 and not x[allowed, FEATURES.index("has_value")].any()):
            return not_found(info, hits)
        if info.answer_type in _PREFER_VALUE:
            typed = allowed & (x[:, FEATURES.index("has_value")] == 1)
            allowed = typed if typed.any() else allowed
        # without similarities (another embedder, or none) the models fitted without them decide
        models = self.scorer if self.uses_similarity or self.scorer.lexical is None else self.scorer.lexical
        xs = x[:, :len(models.candidate.features)]
        probs = np.where(allowed, models.candidate.probabilities(xs), 0.0)
        best = int(np.argmax(probs))
        top_cos = max(self.cosines(hits))
        answerable = float(models.answerable.probabilities(
            np.asarray(answerable_features(probs, xs[best], top_cos, models.answerable.features)))[0])
        # the dev sets hold no English questions: their lexical features (a Vietnamese passage
        # covers few English words) say nothing about answerability, so only the rules refuse them
        if answerable < models.threshold and not info.english:
            ans = not_found(info, hits)
            ans.confidence = round(answerable, 4)
            return ans
        hi, s, e = spans[best]
        hit = hits[hi]
        start = _with_antecedent(hit.chunk.text, s)
        quote = hit.chunk.text[start:e]
        value = answer_value(info, hit.chunk.text[s:e])
        lead = f"{value} — " if value and len(quote) > _SHORT_QUOTE else ""
        others = [h for j, h in enumerate(hits) if j != hi]
        return Answer(question=info.text, answer=f"{lead}{quote} [1]", found=True,
                      citations=[citation(1, hit, quote)],
                      related=[citation(i + 2, h) for i, h in enumerate(others)],
                      confidence=round(answerable, 4), value=value)
