"""RAM per chunk of a loaded index at 100k and 1M chunks: the format before issue #16 item 4 (a
`Chunk` object per passage, the answerer's copy of every document's text, fingerprints as Python
ints, float vectors in the HNSW graph) against the current one (passages decoded on access,
packed fingerprints, 8-bit HNSW graph re-scored from the memory-mapped vectors), in one table.

    python bench/memory.py                                   # 100k and 1M (≈ 35 min on 2 busy cores)
    python bench/memory.py --sizes 100000 --queries 100 --out /tmp/memory.json
    python bench/memory.py --quick                           # 60k chunks, 30 questions

Data: the seed corpus's passages and documents copied until there are N chunks (each copy a new
document with new ids, same text: real Vietnamese text, titles, neighbours and fingerprints, and
BM25 postings with rag's syllable pairs), synthetic 384-d vectors (bench/scale.py's clustered
generator) and query vectors near corpus vectors. The vocabulary, df and abbreviation files are
the seeds' (a real 1M corpus has more distinct words: those dicts are larger there).

Each (format, size) is loaded by a fresh interpreter running that format's code: the current tree,
and `--before REV` (default 424d0a3, the last commit with the old format) exported with `git
archive`. The child builds `Pipeline(Settings(index_dir=…), embedder=<fixed query vectors>)`,
loads the index (retriever and extractive answerer, as `rag ask` does) and answers the questions
of eval/qa.jsonl through `Pipeline.run`. RSS comes from /proc/self/status: VmRSS, and its parts
RssAnon (the process's own memory) and RssFile (pages of mapped index files it touched; the kernel
can drop those, but they count in RSS). Per chunk = (RSS − RSS before loading) / N.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BEFORE_REV = "424d0a3"  # main before #16 item 4: chunks.jsonl read into Chunk objects, float HNSW
DIM = 384
MODEL_ID = "bench/synthetic-384"


# ------------------------------------------------------------------ child: load and ask

def _status() -> dict[str, float]:
    """VmRSS, RssAnon, RssFile, VmHWM of this process, in MB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


class _FixedEmbedder:
    """The query vectors handed out in turn (the corpus is synthetic: a real model's vector
    would find nothing); passages are never embedded here."""

    backend = "fixed"

    def __init__(self, vectors: np.ndarray) -> None:
        self.dim = vectors.shape[1]
        self.model_id = MODEL_ID
        self._vectors = vectors
        self._next = 0

    def embed_query(self, text: str) -> np.ndarray:
        v = self._vectors[self._next % len(self._vectors)]
        self._next += 1
        return v

    def embed_passages(self, texts, show_progress: bool = False) -> np.ndarray:
        raise RuntimeError("the bench never embeds passages")


def measure(index_dir: Path, queries: Path, questions: list[str]) -> dict[str, object]:
    """In the child: RSS before loading, after loading, after answering `questions`."""
    import gc

    import faiss  # noqa: F401 - the library's own pages are not the index's

    from rag.config import Settings
    from rag.pipeline import Pipeline

    embedder = _FixedEmbedder(np.load(queries))
    pipeline = Pipeline(Settings(index_dir=index_dir, show_progress=False), embedder=embedder)
    gc.collect()
    base = _status()
    t0 = time.perf_counter()
    loaded = pipeline.ensure_index()
    pipeline.run(questions[0])  # the record (retriever, answerer) is built on the first question
    load_s = time.perf_counter() - t0
    gc.collect()
    after_load = _status()
    times, cpu = [], []
    for q in questions:
        t, c = time.perf_counter(), time.process_time()
        pipeline.run(q)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)  # less swayed than wall time by other processes
    gc.collect()
    return {"n": len(loaded.chunks), "base": base, "after_load": after_load, "after_queries": _status(),
            "load_s": load_s, "query_s": times, "query_cpu_s": cpu}


# ------------------------------------------------------------------ parent: build the indexes

def _seed_parts():
    from scale import seed_chunks

    from rag.config import Settings
    from rag.ingest.dedup import fingerprint
    from rag.ingest.files import collect_paths, read_file
    from rag.store import index as idx

    chunks = seed_chunks()
    texts = {}
    from rag.ingest.chunking import build_document

    for f in collect_paths([Settings().corpus]):
        doc = build_document(read_file(f))
        texts[doc.doc_id] = doc
    records = {d: idx.DocumentRecord(path=f"/corpus/{d}", source=d, title=doc.title, date=doc.date,
                                     content_hash=doc.content_hash, fingerprint=fingerprint(doc.text))
               for d, doc in texts.items()}
    return chunks, records, idx.bm25_corpus_tokens(chunks)


def build_indexes(n: int, work: Path, rng: np.random.Generator) -> dict[str, object]:
    """`work/before` and `work/after`: one index each, sharing every file but the dense index,
    the chunk table and meta.json (hard links). Files already in `work/shared` from an earlier
    run of the same size are reused (passages and BM25 are deterministic, the vectors are made
    again from the same seed). Returns build facts, dense recall included."""
    import bm25s
    import faiss
    from scale import make_queries, make_vectors

    from rag.store import index as idx
    from rag.store.chunk_table import chunk_line, table_arrays
    from rag.vi.abbreviations import learn as learn_abbreviations
    from rag.vi.vocab import Vocabulary

    seeds, records, seed_tokens = _seed_parts()
    info: dict[str, object] = {"seed_chunks": len(seeds), "seed_docs": len(records)}
    shared = work / "shared"
    shared.mkdir(parents=True, exist_ok=True)
    reuse = (shared / "chunks.table.npz").is_file() and (shared / "bm25" / "params.index.json").is_file()
    t0 = time.perf_counter()
    documents: dict[str, object] = {}
    sizes, ids, docs, dates, tokens = [], [], [], [], []
    df: dict[str, int] = {}
    with open(os.devnull if reuse else shared / "chunks.jsonl", "wb") as fh:
        for copy in range(math.ceil(n / len(seeds))):
            for j, c in enumerate(seeds[:n - copy * len(seeds)]):
                doc_id = f"{copy:06d}_{c.doc_id}"
                if doc_id not in documents:
                    rec = records[c.doc_id]
                    documents[doc_id] = idx.DocumentRecord(**{**rec.__dict__, "path": f"/corpus/{doc_id}",
                                                              "source": doc_id, "chunks": 0})
                documents[doc_id].chunks += 1
                if reuse:
                    continue
                chunk = type(c)(**{**c.__dict__, "chunk_id": f"{copy:08x}{j:08x}", "doc_id": doc_id,
                                   "source": doc_id})
                line = chunk_line(chunk)
                fh.write(line)
                sizes.append(len(line))
                ids.append(chunk.chunk_id)
                docs.append(doc_id)
                dates.append(chunk.date)
                tokens.append(seed_tokens[j])
                for t in set(seed_tokens[j]):
                    df[t] = df.get(t, 0) + 1
    info["reused_passages_and_bm25"] = reuse
    if not reuse:
        np.savez(shared / "chunks.table.npz", **table_arrays(sizes, ids, docs, dates))
        info["write_chunks_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        retriever.save(str(shared / "bm25"), show_progress=False)
        del retriever, tokens
        info["bm25_s"] = round(time.perf_counter() - t0, 1)
        (shared / "df.json").write_text(json.dumps(df, ensure_ascii=False), encoding="utf-8")
        seed_texts = [c.text for c in seeds]
        (shared / "vocab.json").write_text(json.dumps(Vocabulary.build(seed_texts).to_dict(), ensure_ascii=False),
                                           encoding="utf-8")
        (shared / "abbreviations.json").write_text(json.dumps(learn_abbreviations(seed_texts),
                                                              ensure_ascii=False), encoding="utf-8")
    x = make_vectors(n, rng)
    np.save(shared / "vectors.npy", x)
    q = make_queries(x, 200, rng)
    np.save(work / "queries.npy", q)
    truth = exact_top10(x, q)
    t0 = time.perf_counter()
    graph = idx.build_dense(x, "hnsw")  # rag's float HNSW: the format before
    graph_s = time.perf_counter() - t0
    recall: dict[str, object] = {}
    for name, dense_type in (("before", "hnsw"), ("after", idx.choose_dense_type(n))):
        index = graph if dense_type == "hnsw" else _same_graph_8bit(graph, x)
        folder = work / name / "v-20000101T000000-1-1"
        folder.mkdir(parents=True)
        for f in shared.rglob("*"):
            if f.is_file() and (name == "after" or f.name != "chunks.table.npz"):
                (folder / f.relative_to(shared)).parent.mkdir(parents=True, exist_ok=True)
                os.link(f, folder / f.relative_to(shared))
        faiss.write_index(index, str(folder / "dense.faiss"))
        searcher = idx.dense_searcher(index, np.load(shared / "vectors.npy", mmap_mode="r"), dense_type)
        found, times = [], []
        for i in range(len(q)):
            t = time.perf_counter()
            found.append(searcher.search(q[i:i + 1], 10)[1][0])
            times.append(time.perf_counter() - t)
        recall[name] = {"dense_type": dense_type, "graph_build_s": round(graph_s, 1),
                        "recall_at_10": float(np.mean([len(set(f.tolist()) & t) / 10 for f, t in zip(found, truth)])),
                        "search_p50_ms": 1000 * float(np.median(times))}
        meta = idx.IndexMeta(model_id=MODEL_ID, backend="fixed", dim=DIM, chunking={}, documents=documents,
                             dense_type=dense_type, created="bench", n_chunks=n)
        meta.files = idx.checksums(folder)
        (folder / "meta.json").write_text(json.dumps(meta.to_json(), ensure_ascii=False), encoding="utf-8")
        (work / name / "CURRENT").write_text(folder.name + "\n", encoding="ascii")
        print(f"[memory] {n:,} {name}: {dense_type}, recall@10 {recall[name]['recall_at_10']:.3f}",
              file=sys.stderr, flush=True)
    info["dense"] = recall
    info["documents"] = len(documents)
    info["disk_mb"] = {p.name: round(sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 2**20, 1)
                       for p in (work / "before", work / "after")}
    return info


def _same_graph_8bit(graph, x: np.ndarray):
    """The 8-bit index on the float index's graph: one HNSW build per size instead of two (at 1M
    each takes 5-30 min here). Its size is what rag's own 8-bit build has (the graph is M links a
    node either way); rag builds that graph with 8-bit distances, whose recall
    tests/test_search_backends.py checks and which gave the same recall@10 as the float graph at
    60k and 100k (0.9995/0.9995, 0.993/0.992; bench/README.md)."""
    import faiss

    from rag.store import index as idx

    sq = faiss.IndexHNSWSQ(x.shape[1], faiss.ScalarQuantizer.QT_8bit, idx.HNSW_M, faiss.METRIC_INNER_PRODUCT)
    sq.train(x)
    sq.hnsw = graph.hnsw
    sq.storage.add(x)
    sq.ntotal = graph.ntotal
    sq.hnsw.efSearch = idx.HNSW_EF_SEARCH
    return sq


def exact_top10(x: np.ndarray, q: np.ndarray) -> list[set[int]]:
    """Each query's exact 10 nearest corpus vectors (inner product), 20 queries at a time."""
    out = []
    for i in range(0, len(q), 20):
        scores = x @ q[i:i + 20].T
        out += [set(col.tolist()) for col in np.argpartition(-scores, 10, axis=0)[:10].T]
    return out


def export_before(rev: str, dest: Path) -> Path:
    """The code of `rev` (its rag/ and everything it reads), for the 'before' child."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def run_child(code: Path, index_dir: Path, queries: Path, n_questions: int, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(PYTHONPATH=f"{code}:{BENCH}", RAG_HOME=str(home), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure", str(index_dir),
                          "--queries-file", str(queries), "--questions", str(n_questions)],
                         cwd=code, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def questions(n: int) -> list[str]:
    lines = (REPO / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines()
    qs = [json.loads(line)["question"] for line in lines]
    return (qs * (n // len(qs) + 1))[:n]


# ------------------------------------------------------------------ report

HEADERS = ["chunks", "format", "RSS after load MB", "B/chunk after load", "RSS after questions MB",
           "B/chunk after questions", "of which anon B/chunk", "of which mapped files B/chunk",
           "load + 1st question s", "question p50 ms", "dense", "dense recall@10", "dense search p50 ms"]


def rows_for(n: int, name: str, child: dict, dense: dict) -> list[object]:
    base, load, after = child["base"], child["after_load"], child["after_queries"]
    per = lambda mb: (mb * 2**20) / n  # noqa: E731
    return [f"{n:,}", name, round(load["VmRSS"]), round(per(load["VmRSS"] - base["VmRSS"])),
            round(after["VmRSS"]), round(per(after["VmRSS"] - base["VmRSS"])),
            round(per(after["RssAnon"] - base["RssAnon"])), round(per(after["RssFile"] - base["RssFile"])),
            round(child["load_s"], 2), round(1000 * float(np.median(child["query_s"])), 1),
            dense["dense_type"], round(dense["recall_at_10"], 3), round(dense["search_p50_ms"], 2)]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100000,1000000", help="comma-separated corpus sizes (chunks)")
    p.add_argument("--questions", type=int, default=100, help="questions answered after loading")
    p.add_argument("--before", default=BEFORE_REV, help="git revision with the old format")
    p.add_argument("--quick", action="store_true", help="60k chunks (just above exact search), 30 questions")
    p.add_argument("--work", type=Path, help="keep the generated indexes here (default: a temporary folder, "
                   "removed); passages and BM25 already there for a size are reused")
    p.add_argument("--out", type=Path, default=BENCH / "results" / "memory.json",
                   help="JSON results; the Markdown table goes beside it (.md)")
    p.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--queries-file", type=Path, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.queries_file, questions(args.questions))))
        return 0
    sys.path.insert(0, str(REPO))
    from benchlib import code_version, load_probe, machine_info, markdown_table, write_json

    sizes = [60_000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    nq = 30 if args.quick else args.questions
    results: dict[str, object] = {"machine": machine_info(), "code": code_version(), "before": args.before,
                                  "questions": nq, "sizes": {}}
    table = []
    with tempfile.TemporaryDirectory(prefix="ragbench-memory-") as tmp:
        before_code = export_before(args.before, Path(tmp) / "before-code")
        for n in sizes:
            work = (args.work or Path(tmp)) / f"n{n}"
            for name in ("before", "after"):  # made again each run: dense index, meta.json, links
                subprocess.run(["rm", "-rf", str(work / name)], check=True)
            with load_probe() as lp:
                info = build_indexes(n, work, np.random.default_rng(n))
            info["build_load"] = lp.as_dict()
            for name, code in (("before", before_code), ("after", REPO)):
                with load_probe() as lp:
                    child = run_child(code, work / name, work / "queries.npy", nq, Path(tmp) / "home")
                info[name] = {**child, "load": lp.as_dict()}
                table.append(rows_for(n, name, child, info["dense"][name]))  # type: ignore[index]
                print(f"[memory] {n:,} {name}: {table[-1]}", file=sys.stderr, flush=True)
            results["sizes"][n] = info  # type: ignore[index]
            write_json(args.out, results)
            if not args.work:  # the next size needs the disk more than this one
                subprocess.run(["rm", "-rf", str(work)], check=True)
    md = markdown_table(HEADERS, table)
    args.out.with_suffix(".md").write_text(md + "\n", encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
