"""What verifying index checksums costs (issue #11.9): load time with and without verification, and a
full `rag index --check`, on synthetic indexes written by `rag.store.index.write_index`.

    python bench/index_checksums.py                         # 10k and 100k chunks (≈ 3 min on 2 cores)
    python bench/index_checksums.py --sizes 2000 --repeat 3 # a quick look

Vectors: random 384-d unit vectors. Text: 40–80 words per chunk drawn from the seeds' words, so
the BM25 arrays, vocabulary and df files have realistic sizes. Prints a Markdown table on stdout.
Timings are warm-cache (files just written or read): the hash cost, not the disk's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.store import index as idx  # noqa: E402
from rag.types import Chunk  # noqa: E402

DIM = 384


def synthetic(n: int, seed: int = 0) -> tuple[list[Chunk], np.ndarray]:
    words = " ".join(p.read_text(encoding="utf-8") for p in sorted(Path("seeds").glob("*.txt"))).split()
    rng = np.random.default_rng(seed)
    chunks = []
    for i in range(n):
        text = " ".join(words[j] for j in rng.integers(0, len(words), int(rng.integers(40, 81))))
        chunks.append(Chunk(chunk_id=f"{i:016x}", doc_id=f"d{i // 20}.txt", source=f"d{i // 20}.txt",
                            title=f"Tài liệu {i // 20}", date=None, paragraph=i % 20 + 1, start=0,
                            end=len(text), text=text))
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return chunks, vectors


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def measure(n: int, repeat: int) -> str:
    """One table row for an index of n chunks."""
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        chunks, vectors = synthetic(n)
        meta = idx.IndexMeta(model_id="bench", backend="bench", dim=DIM, chunking={})
        print(f"writing {n} chunks…", file=sys.stderr)
        with idx.build_lock(index_dir):
            version = idx.write_index(index_dir, meta, chunks, vectors)
        meta = idx.read_version_meta(version)
        size = sum(f["size"] for f in meta.files.values())
        on_load = [f for f in idx._LOADED_FILES if f in meta.files]
        sampled = sum("sample" in meta.files[f] for f in on_load)
        verified = timed(lambda: idx.load_index(index_dir), repeat)
        real = idx.verify_files
        idx.verify_files = lambda *a, **k: []
        try:
            unverified = timed(lambda: idx.load_index(index_dir), repeat)
        finally:
            idx.verify_files = real
        only = timed(lambda: idx.verify_files(version, meta, on_load), repeat)
        full = timed(lambda: idx.check(index_dir), max(1, repeat // 2))
    return (f"| {n:,} | {size / 2**20:.0f} MiB | {len(on_load) - sampled} / {sampled} | {verified:.0f} ms "
            f"| {unverified:.0f} ms | {only:.1f} ms | {full:.0f} ms |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print("| chunks | index size | files hashed whole / sampled on load | load, verified | load, not verified "
          "| verification on load | `rag index --check` |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        print(measure(n, args.repeat), flush=True)


if __name__ == "__main__":
    main()
