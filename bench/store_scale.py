"""The PostgreSQL store at 100k / 1M passages, side by side with the local store, in one run:
build time, hybrid query latency (the retriever each store's pipeline uses), recall@10 of the
approximate dense search against exact search, and size on disk per passage.

    python bench/store_scale.py                        # 100k: starts the embedded PostgreSQL
    python bench/store_scale.py --sizes 100000,1000000 # + 1M (hours on 2 cores: see README)
    python bench/store_scale.py --sizes 5000 --queries 50 --out /tmp/s.json   # smoke

Passages are synthetic, as in bench/scale.py (no model): 384-d unit vectors from its clustered
Gaussian mixture, texts of 40-120 words drawn from the seeds' folded-word frequencies, ten
passages per document. Queries: 5-8 such words (unaccented, so diacritic restoration runs) with a
corpus vector plus noise as their embedding (a fixed embedder hands it out).

- PostgreSQL: `PostgresStore.put_documents` in groups of GROUP_CHUNKS passages (one transaction
  each: passages, postings, vocabulary counts; the next group `prepare`d in a thread meanwhile)
  inside `PostgresStore.bulk()`, which builds the HNSW graph and the postings' impact index once
  after the load; the server gets
  `shared_buffers=SHARED_BUFFERS` (a tuned server's share of RAM, not the tests' 64MB). Then
  `StoreRetriever.search` (k=8, the answer pool `rag ask` searches) — SQL BM25 + HNSW + fusion —
  and dense recall@10 at each `--ef-search` (the first is what the store uses).
- local: `store.index.write_index` (one version: FAISS, BM25 matrix, vocabulary) and
  `HybridRetriever.search` over the loaded version, same k.

Writes bench/results/store_scale.{json,md}. Timings share 2 cores with whatever else runs: the
load columns say how much.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT), str(ROOT / "scripts")]

from benchlib import code_version, load_probe, machine_info, markdown_table, percentiles_ms, write_json  # noqa: E402
from postgres_server import start  # noqa: E402
from scale import make_queries, make_token_docs, make_vectors, seed_words  # noqa: E402

from rag.search.retrieve import HybridRetriever, StoreRetriever  # noqa: E402
from rag.store import index as idx  # noqa: E402
from rag.store.in_place import StoreIndex  # noqa: E402
from rag.store.postgres import EF_SEARCH, PostgresStore, PreparedWrite  # noqa: E402
from rag.types import Chunk  # noqa: E402

K, RECALL_K, PER_DOC, DENSE_WEIGHT = 8, 10, 10, 0.4
MODEL_ID, DIM = "bench/synthetic-384", 384
#: passages per write transaction (as rag.store.writer groups them) and the server's buffer cache
GROUP_CHUNKS, SHARED_BUFFERS = 1000, "1GB"
HEADERS = ["chunks", "store", "build s", "chunks/s", "hybrid p50 ms", "hybrid p95 ms", "dense recall@10",
           "bytes/chunk", "busy cores besides this process: build / queries"]


class FixedEmbedder:
    """The retrievers' embedder: hands out the precomputed query vectors in order."""

    model_id, dim, backend = MODEL_ID, DIM, "fixed"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors, self.next = vectors, 0

    def embed_query(self, text: str) -> np.ndarray:
        v = self.vectors[self.next % len(self.vectors)]
        self.next += 1
        return v


def make_corpus(n: int, rng: np.random.Generator, words: list[str], probs: np.ndarray
                ) -> tuple[list[Chunk], np.ndarray]:
    texts = [" ".join(t) for t in make_token_docs(n, words, probs, rng)]
    chunks = [Chunk(chunk_id=f"{i:08x}", doc_id=f"d{i // PER_DOC:06d}", source=f"d{i // PER_DOC:06d}.txt",
                    title="", date=None, paragraph=i % PER_DOC, start=0, end=len(t), text=t)
              for i, t in enumerate(texts)]
    return chunks, make_vectors(n, rng)


def documents(chunks: list[Chunk]) -> dict[str, idx.DocumentRecord]:
    out: dict[str, idx.DocumentRecord] = {}
    for c in chunks:
        rec = out.setdefault(c.doc_id, idx.DocumentRecord(path=f"/synthetic/{c.source}", source=c.source))
        rec.chunks += 1
    return out


def timed_queries(search: Callable[[str], object], questions: list[str]) -> dict[str, float]:
    search(questions[0])  # warm
    times = []
    for q in questions:
        t0 = time.perf_counter()
        search(q)
        times.append(time.perf_counter() - t0)
    return percentiles_ms(times)


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return sum(len(set(f) & set(t.tolist())) for f, t in zip(found, truth)) / truth.size


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_postgres(url: str, chunks: list[Chunk], vectors: np.ndarray, queries: np.ndarray,
                   questions: list[str], truth: np.ndarray, ef_search: list[int], reuse: bool = False
                   ) -> dict[str, object]:
    store = PostgresStore(url, MODEL_ID, DIM)
    store.set_ef_search(ef_search[0])
    conn = store._conn
    empty = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    docs = documents(chunks)
    n = len(chunks)
    held = conn.execute("SELECT n_chunks FROM corpus_stats WHERE id = 1").fetchone()[0]
    if reuse and held == n:  # queries only, over the store an earlier run with --url built
        empty = conn.execute("SELECT pg_database_size('template1')").fetchone()[0]
        return _query_postgres(store, n, empty, None, queries, questions, truth, ef_search)
    with load_probe() as load:
        t0 = time.perf_counter()
        def group(start: int) -> PreparedWrite:
            return store.prepare([(chunks[i].doc_id, docs[chunks[i].doc_id], chunks[i:i + PER_DOC],
                                   vectors[i:i + PER_DOC])
                                  for i in range(start, min(n, start + GROUP_CHUNKS), PER_DOC)])

        with store.bulk(), ThreadPoolExecutor(1) as pool:  # the next group is prepared while one is written
            ahead = pool.submit(group, 0)
            for start in range(0, n, GROUP_CHUNKS):
                ready = ahead.result()
                if start + GROUP_CHUNKS < n:
                    ahead = pool.submit(group, start + GROUP_CHUNKS)
                store.put_documents(ready)
                if start % (n // 20 or 1) < GROUP_CHUNKS:
                    print(f"[store_scale] postgres {start:,}/{n:,} {time.perf_counter() - t0:.0f} s",
                          file=sys.stderr, flush=True)
            loaded = time.perf_counter() - t0
        build = time.perf_counter() - t0
    return _query_postgres(store, n, empty, (build, loaded, load.background_cores), queries, questions, truth,
                           ef_search)


def _query_postgres(store: PostgresStore, n: int, empty: int, built: tuple[float, float, float] | None,
                    queries: np.ndarray, questions: list[str], truth: np.ndarray, ef_search: list[int]
                    ) -> dict[str, object]:
    """Latency, recall and size of a loaded store; `built`: (build s, load s, busy cores), None
    when the store was built by an earlier run."""
    conn = store._conn
    conn.execute("VACUUM ANALYZE")
    sizes = dict(conn.execute(
        "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN "
        "('chunks', 'postings', 'vocab_grams', 'chunks_embedding', 'documents')").fetchall())
    total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] - empty
    version = store.version()
    index = StoreIndex(store, version, "bench", MODEL_ID, DIM, store.documents())
    emb = FixedEmbedder(queries)
    retriever = StoreRetriever(index, store, emb, DENSE_WEIGHT)
    with load_probe() as qload:
        lat = timed_queries(lambda q: retriever.search(q, K), questions)
    dense_lat = timed_queries(lambda q: store.dense_top(emb.embed_query(q), RECALL_K), questions)
    recalls = {}
    for ef in ef_search:
        store.set_ef_search(ef)
        recalls[ef] = recall([[int(h.chunk.chunk_id, 16) for h in store.dense_top(v, RECALL_K)] for v in queries],
                             truth)
    store.close()
    build, loaded, busy = built or (float("nan"), float("nan"), float("nan"))
    return {"store": f"postgresql (HNSW m=32 efC=128, ef_search={ef_search[0]}; SQL BM25)", "build_s": build,
            "load_s": loaded, "index_s": build - loaded, "recall_by_ef_search": recalls,
            "hybrid": lat, "dense_top10": dense_lat, "recall": recalls[ef_search[0]],
            "bytes_per_chunk": total / n, "relation_bytes_per_chunk": {k: v / n for k, v in sizes.items()},
            "load_build": busy, "load_query": qload.background_cores}


def bench_local(folder: Path, chunks: list[Chunk], vectors: np.ndarray, queries: np.ndarray,
                questions: list[str], truth: np.ndarray) -> dict[str, object]:
    meta = idx.IndexMeta(model_id=MODEL_ID, backend="fixed", dim=DIM, chunking={}, documents=documents(chunks))
    with load_probe() as load:
        t0 = time.perf_counter()
        version = idx.write_index(folder, meta, chunks, vectors)
        build = time.perf_counter() - t0
    loaded = idx.load_version(version)
    emb = FixedEmbedder(queries)
    retriever = HybridRetriever(loaded, emb, DENSE_WEIGHT)
    with load_probe() as qload:
        lat = timed_queries(lambda q: retriever.search(q, K), questions)
    found = [[int(loaded.chunks[i].chunk_id, 16) for i in loaded.dense.search(v.reshape(1, -1), RECALL_K)[1][0]
              if i >= 0] for v in queries]
    return {"store": f"local ({loaded.meta.dense_type} FAISS; bm25s matrix)", "build_s": build, "hybrid": lat,
            "recall": recall(found, truth), "bytes_per_chunk": folder_bytes(version) / len(chunks),
            "load_build": load.background_cores, "load_query": qload.background_cores}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100000", help="comma-separated corpus sizes (passages)")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--url", help="an existing PostgreSQL database (default: start the embedded server)")
    p.add_argument("--skip-local", action="store_true")
    p.add_argument("--reuse", action="store_true",
                   help="with --url: a database already holding the corpus is queried, not built again")
    p.add_argument("--ef-search", default=str(EF_SEARCH),
                   help="comma-separated hnsw.ef_search values for recall; the first is used for latency")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "store_scale.json")
    args = p.parse_args()
    words, probs = seed_words()
    rows, results = [], []
    ef_search = [int(e) for e in args.ef_search.split(",")]
    server = None if args.url else start(shared_buffers=SHARED_BUFFERS)
    tmp = Path(tempfile.mkdtemp(prefix="store-scale-"))
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            rng = np.random.default_rng(n)
            chunks, vectors = make_corpus(n, rng, words, probs)
            queries = make_queries(vectors, args.queries, rng)
            questions = [" ".join(t) for t in make_token_docs(args.queries, words, probs, rng, 5, 8)]
            truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :RECALL_K]  # exact top-10 (ids = order)
            url = args.url or server.create_database(f"scale_{n}")
            parts = [bench_postgres(url, chunks, vectors, queries, questions, truth, ef_search, args.reuse)]
            if not args.skip_local:
                parts.append(bench_local(tmp / f"local_{n}", chunks, vectors, queries, questions, truth))
                shutil.rmtree(tmp / f"local_{n}", ignore_errors=True)
            for r in parts:
                r["n"] = n
                rows.append([f"{n:,}", r["store"], round(r["build_s"], 1), n / r["build_s"] // 1,
                             r["hybrid"]["p50_ms"], r["hybrid"]["p95_ms"], round(r["recall"], 3),
                             round(r["bytes_per_chunk"]), f"{r['load_build']:.2f} / {r['load_query']:.2f}"])
                results.append(r)
                print(markdown_table(HEADERS, rows[-1:]), file=sys.stderr, flush=True)
            write_json(args.out, {"machine": machine_info(), "code": code_version(), "results": results,
                                  "command": " ".join(["python", "bench/store_scale.py", *sys.argv[1:]])})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if server is not None:
            server.stop()
    table = markdown_table(HEADERS, rows)
    print(table)
    args.out.with_suffix(".md").write_text(
        f"`python bench/store_scale.py {' '.join(sys.argv[1:])}` on {os.cpu_count()} cores "
        "(busy cores besides this process, the PostgreSQL server included, during build / queries)\n\n"
        + table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
