"""Sanity checks for the hand-written evaluation set eval/qa.jsonl."""
import json
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
QA_PATH = ROOT / "eval" / "qa.jsonl"
SEEDS = ROOT / "seeds"

FIELDS = {"id", "question", "doc", "evidence", "facts", "kind"}
KINDS = {
    "number", "percent", "date", "list", "person", "organization", "decision",
    "paraphrase", "unaccented", "english", "unanswerable",
}
MAX_EVIDENCE_CHARS = 200


def _load():
    items = []
    with open(QA_PATH, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                items.append((lineno, json.loads(line)))
            except json.JSONDecodeError as e:  # pragma: no cover - reported by test
                pytest.fail(f"qa.jsonl line {lineno} is not valid JSON: {e}")
    return items


ITEMS = _load()
ROWS = [r for _, r in ITEMS]
_DOC_CACHE = {}


def _doc_text(name):
    if name not in _DOC_CACHE:
        _DOC_CACHE[name] = (SEEDS / name).read_text(encoding="utf-8")
    return _DOC_CACHE[name]


def _answerable():
    return [r for r in ROWS if r.get("kind") != "unanswerable"]


def test_file_not_empty():
    assert ROWS, "eval/qa.jsonl is empty"


@pytest.mark.parametrize("lineno,row", ITEMS, ids=[str(r.get("id")) for _, r in ITEMS])
def test_row_schema(lineno, row):
    assert set(row) >= FIELDS, f"line {lineno}: missing fields {FIELDS - set(row)}"
    assert isinstance(row["id"], str) and row["id"].strip()
    assert isinstance(row["question"], str) and row["question"].strip()
    assert row["kind"] in KINDS, f"line {lineno}: bad kind {row['kind']!r}"
    assert isinstance(row["facts"], list)
    for group in row["facts"]:
        assert isinstance(group, list) and group, f"{row['id']}: empty fact group"
        assert all(isinstance(s, str) and s.strip() for s in group), row["id"]


def test_ids_unique():
    dup = [k for k, v in Counter(r["id"] for r in ROWS).items() if v > 1]
    assert not dup, f"duplicate ids: {dup}"


@pytest.mark.parametrize("row", _answerable(), ids=[r["id"] for r in _answerable()])
def test_answerable_item_grounded(row):
    doc = row["doc"]
    assert isinstance(doc, str) and (SEEDS / doc).is_file(), f"{row['id']}: doc {doc!r} not in seeds/"
    text = _doc_text(doc)
    ev = row["evidence"]
    assert isinstance(ev, str) and ev.strip(), f"{row['id']}: empty evidence"
    assert ev in text, f"{row['id']}: evidence is not an exact substring of {doc}"
    assert "\n" not in ev, f"{row['id']}: evidence spans several lines"
    assert len(ev) <= MAX_EVIDENCE_CHARS, f"{row['id']}: evidence longer than {MAX_EVIDENCE_CHARS}"
    assert len(row["facts"]) >= 1, f"{row['id']}: no fact groups"
    for group in row["facts"]:
        assert any(s in text for s in group), f"{row['id']}: no spelling of {group} occurs in {doc}"


@pytest.mark.parametrize(
    "row",
    [r for r in ROWS if r["kind"] == "unanswerable"],
    ids=[r["id"] for r in ROWS if r["kind"] == "unanswerable"],
)
def test_unanswerable_item(row):
    assert row["doc"] is None, row["id"]
    assert row["evidence"] is None, row["id"]
    assert row["facts"] == [], row["id"]


def test_unaccented_questions_have_no_diacritics():
    bad = [r["id"] for r in ROWS if r["kind"] == "unaccented" and not r["question"].isascii()]
    assert not bad, f"unaccented questions with non-ASCII characters: {bad}"


def test_counts():
    kinds = Counter(r["kind"] for r in ROWS)
    assert len(ROWS) >= 90, f"only {len(ROWS)} questions"
    assert kinds["unanswerable"] >= 12, kinds
    assert kinds["unaccented"] >= 10, kinds
    assert kinds["english"] >= 3, kinds
    assert kinds["paraphrase"] >= 10, kinds
    seed_docs = {p.name for p in SEEDS.glob("*.txt")}
    covered = {r["doc"] for r in ROWS if r["doc"]}
    assert seed_docs <= covered, f"documents without questions: {sorted(seed_docs - covered)}"
