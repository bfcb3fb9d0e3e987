"""Quality guard for the int8 encoder on an existing index built in fp32 (issue #16, item 2).

    python bench/onnx_quality.py --index /work/devidx/viquad --set ../shared/devsets/viquad/qa.jsonl
    python bench/onnx_quality.py --index /work/devidx/legal --set ../shared/devsets/legal/qa.jsonl --n 500

Re-embedding a whole dev corpus in int8 is 10+ min of CPU each, so this measures what decides
retrieval without it:
  * passages: a fixed random sample of `--n` chunks embedded by ONNX int8, cosine to the vectors
    the index holds (sentence-transformers fp32 when the index says so);
  * queries: every question of the set embedded by int8 and by fp32 (sentence-transformers),
    each searched exactly over all the index's vectors; how many of the fp32 top-5 chunks the
    int8 top-5 keeps, and how often the top-1 is the same chunk.
The full check (`rag eval --set … ` with RAG_BACKEND=onnx against the same index) is in
bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import code_version, machine_info, markdown_table, write_json  # noqa: E402
from index_speed import index_chunks  # noqa: E402

from rag.config import load_settings  # noqa: E402
from rag.embedders.factory import load_embedder  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--set", type=Path, required=True, help="questions (jsonl with a 'question' field)")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)

    version = args.index / (args.index / "CURRENT").read_text().strip()
    meta = json.loads((version / "meta.json").read_text())
    vectors = np.load(version / "vectors.npy")
    texts = index_chunks(args.index)
    pick = sorted(np.random.default_rng(args.seed).choice(len(texts), min(args.n, len(texts)), replace=False))
    settings = load_settings(show_progress=False)
    int8 = load_embedder(settings.with_overrides(backend="onnx"))
    fp32 = load_embedder(settings.with_overrides(backend="sentence-transformers"))

    cos = np.sum(int8.embed_passages([texts[i] for i in pick]) * vectors[pick], axis=1)
    questions = [json.loads(line)["question"] for line in args.set.open(encoding="utf-8") if line.strip()]
    q8 = np.stack([int8.embed_query(q) for q in questions])
    q32 = np.stack([fp32.embed_query(q) for q in questions])
    top8 = np.argsort(-(q8 @ vectors.T), axis=1)[:, :args.k]
    top32 = np.argsort(-(q32 @ vectors.T), axis=1)[:, :args.k]
    overlap = np.array([len(set(a) & set(b)) / args.k for a, b in zip(top8, top32)])
    same1 = float(np.mean(top8[:, 0] == top32[:, 0]))
    qcos = np.sum(q8 * q32, axis=1)

    headers = ["index (built by)", "chunks sampled", "passage cos min", "passage cos p1", "passage cos mean",
               "questions", "query cos min", f"top-{args.k} overlap (mean)", "same top-1"]
    row = [f"{args.index.name} ({meta.get('backend')})", len(pick), *(f"{x:.4f}" for x in (
        cos.min(), np.percentile(cos, 1), cos.mean())), len(questions), f"{qcos.min():.4f}",
        f"{overlap.mean():.3f}", f"{same1:.3f}"]
    table = markdown_table(headers, [row])
    print(table)
    if args.out:
        write_json(args.out, {"machine": machine_info(), "code": code_version(), "args": vars(args),
                              "table": {"headers": headers, "rows": [row]},
                              "passage_cos": cos.tolist(), "overlap": overlap.tolist()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
