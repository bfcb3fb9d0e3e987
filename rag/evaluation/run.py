"""The eval set runner: the same Pipeline as `rag ask`, scored against eval/qa.jsonl.

Metrics are pure functions over (item, result) records so they can be tested on hand-made cases.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..config import REPO_ROOT
from ..errors import InputError
from ..vi.text import NUMBER_RE, canonical_number, fold, squash_spaces


@dataclass
class EvalItem:
    id: str
    question: str
    doc: str | None
    evidence: str | None
    facts: list[list[str]]
    kind: str
    article: str | None = None  # retrieval-only sets: the gold article ("Điều 29") of `doc`

    @property
    def answerable(self) -> bool:
        return self.doc is not None


@dataclass
class ItemResult:
    """What the system did on one item, reduced to what the metrics need."""

    id: str
    kind: str
    answerable: bool
    found: bool
    answer: str
    retrieved: list[str]  # chunk texts in rank order
    retrieved_docs: list[str]
    cited_doc: str | None
    quotes_verbatim: bool
    latency: float
    evidence_rank: int | None = None  # 1-based rank of the first chunk holding the evidence
    facts_ok: bool = False
    missing_facts: list[list[str]] = field(default_factory=list)
    answerer: str = "extractive"  # "llm" / "extractive-fallback" with `rag eval --answerer llm`


def _item(row: dict) -> EvalItem:
    """One line of a set. A retrieval-only line (`article`, `article_start`: the gold article and
    its first characters, as in a legal retrieval set) is scored on retrieval: its evidence is the
    article's start and it has no facts."""
    if "article_start" in row and "evidence" not in row:
        row = {k: v for k, v in row.items() if k != "article_start"} | {
            "evidence": row["article_start"], "facts": row.get("facts", [])}
    return EvalItem(**row)


def load_items(path: Path) -> list[EvalItem]:
    if not Path(path).is_file():
        raise InputError(f"Không tìm thấy bộ đánh giá / eval set not found: {path}")
    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                items.append(_item(json.loads(line)))
            except (ValueError, TypeError) as e:
                raise InputError(f"Dòng {n} của {path} không hợp lệ / bad line {n}: {e}") from None
    return items


def select_items(items: list[EvalItem], limit: int | None = None, sample: int | None = None,
                 seed: int = 0) -> list[EvalItem]:
    """The first `limit` items, or `sample` items drawn with a fixed seed (same draw every run,
    in the set's order), for quick runs on large sets."""
    if sample is not None and sample < len(items):
        import random

        keep = set(random.Random(seed).sample(range(len(items)), sample))
        items = [it for i, it in enumerate(items) if i in keep]
    return items[:limit] if limit is not None else items


_SAFE_RE = re.compile(r"[^\w.-]+")


def set_name(path: Path) -> str:
    """A set's short name for its history: `eval/qa.jsonl` → "seeds", `…/viquad/qa.jsonl` →
    "viquad", `…/legal/retrieval.jsonl` → "legal-retrieval"."""
    path = Path(path)
    if path.resolve() == (REPO_ROOT / "eval" / "qa.jsonl").resolve():
        return "seeds"
    parent = _SAFE_RE.sub("_", path.resolve().parent.name) or "set"
    return parent if path.stem == "qa" else f"{parent}-{_SAFE_RE.sub('_', path.stem)}"


def evidence_rank(evidence: str | None, chunks: list[str]) -> int | None:
    """1-based rank of the first chunk containing the evidence (whitespace-insensitive)."""
    if not evidence:
        return None
    ev = squash_spaces(evidence)
    for i, text in enumerate(chunks, 1):
        if ev in squash_spaces(text):
            return i
    return None


def spelling_present(spelling: str, answer: str) -> bool:
    """Is this spelling of a fact in the answer? Numbers compare by value, so '1.305' matches
    '1305' and '58,2' matches '58.2'; words compare without case or diacritic differences."""
    nums = NUMBER_RE.findall(spelling)
    numeric = bool(nums) and re.fullmatch(r"[\d.,\s%]+", spelling.strip()) is not None
    if not numeric:
        return spelling in answer or _bounded(fold(spelling), fold(answer))
    if nums:
        want = canonical_number(nums[0])
        has_pct = "%" in spelling
        for m in NUMBER_RE.finditer(answer):
            if canonical_number(m.group(0)) == want:
                tail = answer[m.end():m.end() + 2]
                if not has_pct or "%" in tail:
                    return True
    return False


def _bounded(needle: str, hay: str) -> bool:
    """`needle` in `hay`, not glued to a digit on either side ('1.305' is not in '11.305')."""
    return re.search(rf"(?<![\d.,]){re.escape(needle)}(?![\d]|[.,]\d)", hay) is not None


def missing_facts(facts: list[list[str]], answer: str) -> list[list[str]]:
    return [group for group in facts if not any(spelling_present(s, answer) for s in group)]


def score_item(item: EvalItem, found: bool, answer: str, retrieved: list[str],
               retrieved_docs: list[str], cited_doc: str | None, quotes_verbatim: bool,
               latency: float) -> ItemResult:
    miss = missing_facts(item.facts, answer) if found else item.facts
    return ItemResult(
        id=item.id, kind=item.kind, answerable=item.answerable, found=found, answer=answer,
        retrieved=retrieved, retrieved_docs=retrieved_docs, cited_doc=cited_doc,
        quotes_verbatim=quotes_verbatim, latency=latency,
        evidence_rank=evidence_rank(item.evidence, retrieved),
        facts_ok=item.answerable and found and not miss, missing_facts=miss,
    )


def _ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den else 0.0


def metrics(results: list[ItemResult], items: dict[str, EvalItem]) -> dict:
    """All scores for a run: retrieval, answers, citations, refusals, latency."""
    ans = [r for r in results if r.answerable]
    una = [r for r in results if not r.answerable]
    refused = [r for r in results if not r.found]
    true_ref = [r for r in refused if not r.answerable]
    lat = sorted(r.latency for r in results) or [0.0]
    by_answerer = {name: sum(r.answerer == name for r in results) for name in ("llm", "extractive-fallback")}
    generated = {  # only for runs of the LLM answerer: how often its answer was kept
        "llm_answers": by_answerer["llm"], "llm_fallbacks": by_answerer["extractive-fallback"],
    } if any(by_answerer.values()) else {}
    return {
        "n": len(results),
        "n_answerable": len(ans),
        "n_unanswerable": len(una),
        "hit@1": _ratio(sum(r.evidence_rank == 1 for r in ans), len(ans)),
        "hit@5": _ratio(sum(r.evidence_rank is not None and r.evidence_rank <= 5 for r in ans), len(ans)),
        "mrr": round(sum(1 / r.evidence_rank for r in ans if r.evidence_rank) / len(ans), 4) if ans else 0.0,
        "answer_accuracy": _ratio(sum(r.facts_ok for r in ans), len(ans)),
        "citation_accuracy": _ratio(
            sum(r.found and r.cited_doc == items[r.id].doc and r.quotes_verbatim for r in ans), len(ans)),
        "false_refusals": sum(not r.found for r in ans),
        "refusal_precision": _ratio(len(true_ref), len(refused)),
        "refusal_recall": _ratio(len(true_ref), len(una)),
        "latency_p50_ms": round(1000 * statistics.median(lat), 1),
        "latency_p95_ms": round(1000 * lat[min(len(lat) - 1, int(0.95 * len(lat)))], 1),
        **generated,
    }


def by_kind(results: list[ItemResult]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for kind in sorted({r.kind for r in results}):
        rs = [r for r in results if r.kind == kind]
        if kind == "unanswerable":
            out[kind] = {"n": len(rs), "refused": _ratio(sum(not r.found for r in rs), len(rs))}
        else:
            out[kind] = {"n": len(rs), "answer_accuracy": _ratio(sum(r.facts_ok for r in rs), len(rs)),
                         "hit@1": _ratio(sum(r.evidence_rank == 1 for r in rs), len(rs))}
    return out


def failures(results: list[ItemResult], items: dict[str, EvalItem]) -> list[dict]:
    out = []
    for r in results:
        it = items[r.id]
        if r.answerable and r.facts_ok and r.cited_doc == it.doc:
            continue
        if not r.answerable and not r.found:
            continue
        out.append({"id": r.id, "kind": r.kind, "question": it.question,
                    "expected": it.facts or "không tìm thấy (refusal)", "expected_doc": it.doc,
                    "got": r.answer, "cited_doc": r.cited_doc, "evidence_rank": r.evidence_rank})
    return out


_ARTICLE_RE = re.compile(r"(?:^|\n)\s*(Điều\s+\d+[a-zđ]?)\.")


def chunk_articles(chunks) -> dict[str, set[str]]:
    """Chunk id → the articles ("Điều 29") it holds text of: the one in force where it starts
    (a long article spans several chunks, only the first holds its heading) and any that start
    in it."""
    out: dict[str, set[str]] = {}
    current: dict[str, str | None] = {}
    for c in chunks:
        heads = [re.sub(r"\s+", " ", m.group(1)) for m in _ARTICLE_RE.finditer(c.text)]
        starts_with_head = bool(heads) and _ARTICLE_RE.match(c.text) is not None
        arts = set(heads)
        if not starts_with_head and current.get(c.doc_id):
            arts.add(current[c.doc_id])
        out[c.chunk_id] = arts
        if heads:
            current[c.doc_id] = heads[-1]
    return out


def article_rank(item: EvalItem, hits, articles: dict[str, set[str]]) -> int | None:
    """1-based rank of the first passage of the gold article."""
    return next((i for i, h in enumerate(hits, 1)
                 if h.chunk.source == item.doc and item.article in articles.get(h.chunk.chunk_id, ())), None)


def run_eval(pipeline, items: list[EvalItem], k: int = 5) -> list[ItemResult]:
    """Answer every item through `pipeline.run` (model and index loaded once). Items that name
    their gold article are ranked by article, not by the article's first characters."""
    index = pipeline.ensure_index()
    articles = chunk_articles(index.chunks) if any(it.article for it in items) else {}
    results = []
    for it in items:
        t0 = time.perf_counter()
        res = pipeline.run(it.question, k=k)
        dt = time.perf_counter() - t0
        a = res.answer
        verbatim = all(c.quote and c.quote in c.text for c in a.citations)
        results.append(score_item(
            it, a.found, a.answer, [h.chunk.text for h in res.hits],
            [h.chunk.source for h in res.hits], a.citations[0].doc if a.citations else None,
            verbatim, dt))
        results[-1].answerer = a.answerer
        if it.article:
            results[-1].evidence_rank = article_rank(it, res.hits, articles)
    return results


def check_thresholds(scores: dict, thresholds: dict) -> list[str]:
    """Scores below their minimum (or above their maximum for 'max_' keys)."""
    problems = []
    for key, bound in thresholds.items():
        if key.startswith("max_"):
            name = key[4:]
            if name in scores and scores[name] > bound:
                problems.append(f"{name} = {scores[name]} > {bound}")
        elif key in scores and scores[key] < bound:
            problems.append(f"{key} = {scores[key]} < {bound}")
    return problems


def result_dict(r: ItemResult) -> dict:
    d = asdict(r)
    d.pop("retrieved")
    return d
