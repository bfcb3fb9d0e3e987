"""Staff feedback on answers (👍/👎 + comment) in SQLite, and export of 👎 items for review.

The store is one SQLite file in WAL mode: readers never block the writer, and every operation
opens its own short connection with a busy timeout, so several browser tabs, server threads or
processes can write at once without corrupting it. One row per answer (`answer_id`): changing a
rating or adding a comment updates that row instead of adding another.

Exported items follow the eval-set format (eval/README.md) with `facts: []` and
`needs_review: true`: a person checks the evidence, writes the facts and drops the flag before
adding them to eval/ (`rag eval` rejects lines with unknown fields, so unreviewed ones cannot
slip in).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..search.query import answer_type
from ..types import Answer, _citation_dict

UP, DOWN = 1, -1
MAX_EVIDENCE_CHARS = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    standalone_question TEXT NOT NULL,
    answer TEXT NOT NULL,
    found INTEGER NOT NULL,
    citations TEXT NOT NULL,
    related TEXT NOT NULL,
    session TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feedback_rating ON feedback (rating);
"""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class FeedbackItem:
    id: int
    answer_id: str
    created: str
    updated: str
    rating: int
    comment: str
    question: str
    standalone_question: str
    answer: str
    found: bool
    citations: list[dict]
    related: list[dict]
    session: str


class FeedbackStore:
    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        if self.path.exists() and self.path.is_dir():
            raise InputError(f"Đường dẫn CSDL góp ý là thư mục / feedback db path is a folder: {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection per operation (sqlite3 connections must not cross threads);
        `with conn` commits or rolls back one transaction."""
        try:
            with closing(sqlite3.connect(self.path, timeout=self.timeout)) as conn:
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                conn.execute("PRAGMA synchronous = NORMAL")
                with conn:
                    yield conn
        except sqlite3.DatabaseError as e:
            raise InputError(f"Không ghi/đọc được CSDL góp ý / feedback store error at {self.path}: "
                             f"{e}") from None

    def record(self, answer_id: str, rating: int, answer: Answer, question: str | None = None,
               comment: str | None = None, session: str = "") -> None:
        """Save (or update) the rating of one answer. `question` is what the user typed;
        `answer.question` is the standalone question that was answered. A `comment` of None
        keeps the stored comment."""
        if rating not in (UP, DOWN):
            raise InputError(f"rating phải là 1 (👍) hoặc -1 (👎), không phải {rating!r}")
        if not answer_id:
            raise InputError("answer_id trống / empty answer_id")
        now = _now()
        row = (answer_id, now, now, rating, (comment or "").strip(), question or answer.question,
               answer.question, answer.answer, int(answer.found),
               json.dumps([_citation_dict(c) for c in answer.citations], ensure_ascii=False),
               json.dumps([_citation_dict(c) for c in answer.related], ensure_ascii=False), session)
        keep_comment = "comment" if comment is None else "excluded.comment"
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO feedback (answer_id, created, updated, rating, comment, question, "
                "standalone_question, answer, found, citations, related, session) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(answer_id) DO UPDATE SET rating = excluded.rating, "
                f"comment = {keep_comment}, updated = excluded.updated", row)

    def set_comment(self, answer_id: str, comment: str) -> bool:
        """Attach a comment to an answer already rated; False if it has no rating yet."""
        with self._connect() as conn:
            cur = conn.execute("UPDATE feedback SET comment = ?, updated = ? WHERE answer_id = ?",
                               (comment.strip(), _now(), answer_id))
            return cur.rowcount > 0

    def remove(self, answer_id: str) -> None:
        """The user cleared their rating."""
        with self._connect() as conn:
            conn.execute("DELETE FROM feedback WHERE answer_id = ?", (answer_id,))

    def items(self, rating: int | None = None) -> list[FeedbackItem]:
        sql = "SELECT * FROM feedback" + (" WHERE rating = ?" if rating is not None else "") + " ORDER BY id"
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(sql, () if rating is None else (rating,)).fetchall()
        return [FeedbackItem(**{**dict(r), "found": bool(r["found"]),
                                "citations": json.loads(r["citations"]),
                                "related": json.loads(r["related"])}) for r in rows]

    def get(self, answer_id: str) -> FeedbackItem | None:
        return next((i for i in self.items() if i.answer_id == answer_id), None)

    def counts(self) -> dict[str, int]:
        with self._connect() as conn:
            rows = dict(conn.execute("SELECT rating, COUNT(*) FROM feedback GROUP BY rating").fetchall())
        return {"up": rows.get(UP, 0), "down": rows.get(DOWN, 0)}


# ------------------------------------------------------------------ export for eval/

_KINDS = {"percent": "percent", "number": "number", "day": "date", "date": "date", "person": "person",
          "list": "list", "decision": "decision"}


def _evidence(quote: str) -> str:
    """A prefix of the quote (so still an exact substring of the document), cut at a word."""
    quote = quote.strip()
    if len(quote) <= MAX_EVIDENCE_CHARS:
        return quote
    cut = quote[:MAX_EVIDENCE_CHARS]
    return cut[:cut.rfind(" ")].rstrip(" ,;:") if " " in cut else cut


def to_eval_item(item: FeedbackItem) -> dict:
    """One 👎 item in the eval-set format, to be reviewed before it joins eval/qa.jsonl."""
    cited = item.citations[0] if item.citations else None
    return {
        "id": f"fb-{item.id:04d}",
        "question": item.standalone_question,
        "doc": cited["doc"] if cited else None,
        "evidence": _evidence(cited["quote"] or cited["text"]) if cited else None,
        "facts": [],
        "kind": _KINDS.get(answer_type(item.standalone_question), "paraphrase"),
        "needs_review": True,
        "feedback": {
            "typed_question": item.question,
            "answer": item.answer,
            "found": item.found,
            "comment": item.comment,
            "created": item.created,
            "related_docs": list(dict.fromkeys(r["doc"] for r in item.related))[:3],
        },
    }


def cites_only(item: FeedbackItem, allowed_docs: set[str]) -> bool:
    """Whether every passage the item shows (cited or related) comes from an allowed document."""
    return all(c.get("doc") in allowed_docs for c in item.citations + item.related)


def export_negative(store: FeedbackStore, out: Path | None = None,
                    allowed_docs: set[str] | None = None) -> list[dict]:
    """Write the 👎 items as JSON Lines to `out` (atomically) and return them. `allowed_docs`
    (document file names): only items all of whose passages come from these — an export for a
    user leaves out answers quoting a collection they may not read (issue #14)."""
    items = [to_eval_item(i) for i in store.items(DOWN) if allowed_docs is None or cites_only(i, allowed_docs)]
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        tmp.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
        os.replace(tmp, out)
    return items

