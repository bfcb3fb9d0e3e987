"""Query-time readers of the index's search structures, light enough for a cold `rag ask`.

Building uses bm25s and FAISS; answering one question needs neither import (scipy alone costs
~0.5 s of start-up). The BM25 score matrix bm25s saves (CSC: a column of precomputed term
scores per token) is read here with numpy memory maps, and an exact dense search over the
stored normalized vectors is one matrix product. Approximate FAISS indexes, used for large
corpora, are loaded with faiss.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np


def read_range(arr: np.ndarray, start: int, stop: int) -> np.ndarray:
    """`arr[start:stop]` (rows of a memory-mapped .npy array) read with pread into fresh memory.

    Touching a mapped file maps far more than the bytes read: Linux maps a page-cache folio
    whole (measured: 40 random rows of a 88 MB vectors.npy put 48 MB of it in the process's RSS,
    the first question all of it). A read copies only what is asked, and the page cache it
    leaves behind is the kernel's to drop, not the process's memory."""
    if not isinstance(arr, np.memmap) or arr.filename is None or stop <= start:
        return np.asarray(arr[start:stop])
    row = arr.dtype.itemsize * int(np.prod(arr.shape[1:], dtype=np.int64))
    fd = os.open(arr.filename, os.O_RDONLY)
    try:
        data = os.pread(fd, (stop - start) * row, arr.offset + start * row)
    finally:
        os.close(fd)
    return np.frombuffer(data, dtype=arr.dtype).reshape(stop - start, *arr.shape[1:])


#: above this many rows (a filtered search scores every passage) one read per row costs more
#: than mapping the file: `read_rows` indexes the map instead
MAX_ROW_READS = 4096


def read_rows(arr: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """`arr[ids]` for a few scattered rows, read like `read_range`."""
    ids = np.asarray(ids, dtype=np.int64)
    if not isinstance(arr, np.memmap) or arr.filename is None or len(ids) > MAX_ROW_READS:
        return np.asarray(arr[ids])
    row = arr.dtype.itemsize * int(np.prod(arr.shape[1:], dtype=np.int64))
    out = np.empty((len(ids), *arr.shape[1:]), dtype=arr.dtype)
    view = out.reshape(len(ids), -1).view(np.uint8)
    fd = os.open(arr.filename, os.O_RDONLY)
    try:
        for j, i in enumerate(ids.tolist()):
            if not 0 <= i < arr.shape[0]:
                raise IndexError(f"row {i} of {arr.shape[0]}")
            view[j] = np.frombuffer(os.pread(fd, row, arr.offset + i * row), dtype=np.uint8)
    finally:
        os.close(fd)
    return out


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
            np.add.at(scores, read_range(self.indices, start, end), read_range(self.data, start, end))
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
        scores = np.asarray(read_rows(self.vectors, order) @ q[0], dtype=np.float32)
        best = np.argsort(-scores, kind="stable")[:n]
        return scores[best].reshape(1, -1), order[best].reshape(1, -1).astype(np.int64)
