"""Lexical search in PostgreSQL on eval/qa.jsonl: BM25 in SQL (what rag/store/postgres.py does,
equal to the local store's BM25) against PostgreSQL full-text search (`ts_rank`, `ts_rank_cd`)
over the same folded terms — the issue asks which is better.

    python bench/store_lexical.py        # starts the embedded server, seeds only; ~1 min

Lexical only (no dense, no diacritic restoration, no abbreviations): a document hit is the eval
item's document among the top k passages for the question's BM25 terms. Writes
bench/results/store_lexical.{json,md}.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from postgres_server import start  # noqa: E402

from rag.config import Settings  # noqa: E402
from rag.evaluation.run import load_items  # noqa: E402
from rag.ingest.chunking import build_document, chunk_document  # noqa: E402
from rag.ingest.files import collect_paths, read_file  # noqa: E402
from rag.search.query import QUESTION_WORDS  # noqa: E402
from rag.store.index import DocumentRecord  # noqa: E402
from rag.store.postgres import PostgresStore  # noqa: E402
from rag.vi.text import bm25_terms  # noqa: E402

K = 5
FTS_SQL = """
    WITH q AS (SELECT %s::tsquery AS q)
    SELECT c.chunk->>'source', {rank}(
        (SELECT string_agg(quote_literal(t) || ':' || least(i, 16383), ' ')
         FROM unnest(string_to_array(c.folded, ' ')) WITH ORDINALITY AS u(t, i))::tsvector, q.q) AS score
    FROM chunks c, q ORDER BY score DESC, c.id LIMIT %s"""


def tsquery(terms: list[str]) -> str:
    return " | ".join("'" + t.replace("'", "''") + "'" for t in dict.fromkeys(terms))


def main() -> None:
    settings = Settings()
    items = [it for it in load_items(ROOT / "eval" / "qa.jsonl") if it.answerable]
    server = start()
    try:
        store = PostgresStore(server.url(), "bench/lexical-only", 4)
        rng = np.random.default_rng(0)
        for f in collect_paths([settings.corpus]):
            doc = build_document(read_file(f), doc_id=f.name)
            chunks = chunk_document(doc, settings.max_chunk_tokens, settings.min_chunk_chars)
            vecs = rng.normal(size=(len(chunks), 4)).astype(np.float32)
            store.put_document(f.name, DocumentRecord(path=str(f), source=doc.source, chunks=len(chunks)),
                               chunks, vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
        def fts(rank: str):
            sql = FTS_SQL.format(rank=rank)
            return lambda terms: [r[0] for r in store._conn.execute(sql, (tsquery(terms), K)).fetchall()]

        scorers = {"bm25 (SQL, = local store)": lambda terms: [h.chunk.source for h in store.lexical_top(terms, K)],
                   "fts simple ts_rank": fts("ts_rank"), "fts simple ts_rank_cd": fts("ts_rank_cd")}
        rows = []
        for name, fn in scorers.items():
            ranks, times = [], []
            for it in items:
                terms = bm25_terms(it.question, QUESTION_WORDS)
                t0 = time.perf_counter()
                found = fn(terms)
                times.append(time.perf_counter() - t0)
                ranks.append(found.index(it.doc) + 1 if it.doc in found else None)
            rows.append({"scorer": name, "items": len(items),
                         "hit@1": round(sum(r == 1 for r in ranks) / len(items), 3),
                         f"hit@{K}": round(sum(r is not None for r in ranks) / len(items), 3),
                         f"mrr@{K}": round(sum(1 / r for r in ranks if r) / len(items), 3),
                         "p50_ms": round(1000 * statistics.median(times), 2)})
        n_chunks = store._conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        store.close()
    finally:
        server.stop()
    out = ROOT / "bench" / "results"
    (out / "store_lexical.json").write_text(json.dumps({"chunks": n_chunks, "rows": rows}, indent=1), encoding="utf-8")
    keys = list(rows[0])
    md = [f"# Lexical search in PostgreSQL on eval/qa.jsonl ({len(items)} answerable items, {n_chunks} chunks)",
          "", "`python bench/store_lexical.py`: question terms only (no dense, no diacritic restoration).", "",
          "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    md += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    (out / "store_lexical.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
