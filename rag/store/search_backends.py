"""Query-time readers of the index's search structures, light enough for a cold `rag ask`.

Building uses bm25s and FAISS; answering one question needs neither import (scipy alone costs
~0.5 s of start-up). The BM25 score matrix bm25s saves (CSC: a column of precomputed term
scores per token) is read here with numpy memory maps, and an exact dense search over the
stored normalized vectors is one matrix product. Approximate FAISS indexes, used for large
corpora, are loaded with faiss.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class BM25Matrix:
    """Scores of a bm25s index, read from its saved arrays; equal to `bm25s.BM25.get_scores`."""

    def __init__(self, folder: Path) -> None:
        folder = Path(folder)
        self.data = np.load(folder / "data.csc.index.npy", mmap_mode="r")
        self.indices = np.load(folder / "indices.csc.index.npy", mmap_mode="r")
        self.indptr = np.load(folder / "indptr.csc.index.npy", mmap_mode="r")
        self.vocab_dict: dict[str, int] = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        self.num_docs = int(params["num_docs"])
        n = len(self.data)
        if (len(self.indices) != n or len(self.indptr) < len(self.vocab_dict)
                or (len(self.indptr) and (int(self.indptr[0]) != 0 or int(self.indptr[-1]) != n))):
            raise ValueError("BM25 arrays disagree in length")

    def get_scores(self, tokens: list[str]) -> np.ndarray:
        """Raises IndexStateError when the arrays point outside themselves: bytes damaged in an
        index written before checksums existed, where loading could not tell."""
        try:
            return self._scores(tokens)
        except (IndexError, ValueError) as e:
            from ..errors import IndexStateError

            raise IndexStateError(f"Chỉ mục hỏng / corrupt BM25 arrays ({e}): "
                                  "rag index --check; rag index --rebuild") from None

    def _scores(self, tokens: list[str]) -> np.ndarray:
        scores = np.zeros(self.num_docs, dtype=np.float32)
        for tok in tokens:
            t = self.vocab_dict.get(tok)
            if t is None:
                continue
            start = int(self.indptr[t])
            end = int(self.indptr[t + 1]) if t + 1 < len(self.indptr) else len(self.data)
            np.add.at(scores, np.asarray(self.indices[start:end]), np.asarray(self.data[start:end]))
        return scores


class ExactDense:
    """Exact inner-product search over normalized vectors: what faiss.IndexFlatIP computes."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors
        self.ntotal = int(vectors.shape[0])

    def search(self, q: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        scores = np.asarray(self.vectors @ q.reshape(-1)).astype(np.float32)
        n = min(n, self.ntotal)
        ids = np.argpartition(-scores, n - 1)[:n] if n < self.ntotal else np.arange(self.ntotal)
        ids = ids[np.argsort(-scores[ids], kind="stable")]
        return scores[ids].reshape(1, -1), ids.reshape(1, -1).astype(np.int64)


class RescoredDense:
    """An approximate FAISS index over 8-bit codes, its candidates re-ranked by their exact
    cosine from the (memory-mapped) float vectors: the scores the retriever fuses and the
    answerer reads are true cosines, and asking the graph for `widen`× the candidates wins back
    most of what the codes cost in recall (bench/results/memory.md)."""

    def __init__(self, index, vectors: np.ndarray, widen: int = 2) -> None:
        self.index = index
        self.vectors = vectors
        self.widen = widen
        self.ntotal = int(index.ntotal)

    def search(self, q: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(q, dtype=np.float32).reshape(1, -1)
        _, ids = self.index.search(q, min(self.ntotal, self.widen * n))
        ids = ids[0][ids[0] >= 0]
        order = np.sort(ids)  # rows read in file order
        scores = np.asarray(self.vectors[order] @ q[0], dtype=np.float32)
        best = np.argsort(-scores, kind="stable")[:n]
        return scores[best].reshape(1, -1), order[best].reshape(1, -1).astype(np.int64)
