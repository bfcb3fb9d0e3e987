"""One e5 vector per answer unit (sentence, clause, table cell) of every passage.

Stored with each index version as `units.npy` (float16: half the disk, and cosines move by
< 0.001) and `unit_offsets.npy` (passage i's units are rows offsets[i]:offsets[i+1]); only the
rows of the passages a question retrieves are read, with pread (search_backends.read_range: a
memory map would put far more of the file in the process's memory). The answerer's
question–sentence similarity comes from these, so answering embeds nothing but the question.
Computing them is about half the passage embedding time again (units are short, so the model
runs ~5× more texts of ~1/5 the length).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..embedders.base import Embedder
from ..ingest.units import answer_units, unit_text
from ..progress import status
from ..types import Chunk
from .search_backends import read_range

FILES = ("units.npy", "unit_offsets.npy")


@dataclass(frozen=True)
class UnitVectors:
    vectors: np.ndarray  # (n_units, dim) float16
    offsets: np.ndarray  # (n_chunks + 1,) int64

    def of(self, i: int) -> np.ndarray:
        """The unit vectors of passage `i`, in `answer_units` order."""
        return read_range(self.vectors, int(self.offsets[i]), int(self.offsets[i + 1])).astype(np.float32)

    def take(self, keep: list[int]) -> UnitVectors:
        """The rows of the passages `keep`, in that order (a removal rewrites the index)."""
        parts = [self.vectors[int(self.offsets[i]):int(self.offsets[i + 1])] for i in keep]
        sizes = np.array([len(p) for p in parts], dtype=np.int64)
        dim = self.vectors.shape[1]
        return UnitVectors(np.concatenate(parts) if parts else np.zeros((0, dim), np.float16),
                           np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))

    def save(self, folder: Path) -> None:
        np.save(folder / FILES[0], np.ascontiguousarray(self.vectors, dtype=np.float16))
        np.save(folder / FILES[1], np.ascontiguousarray(self.offsets, dtype=np.int64))

    @classmethod
    def load(cls, folder: Path, n_chunks: int) -> UnitVectors | None:
        """None for a version written before unit vectors existed (its answers embed the units
        of the retrieved passages at question time instead)."""
        if not all((folder / f).exists() for f in FILES):
            return None
        vectors = np.load(folder / FILES[0], mmap_mode="r")
        offsets = np.load(folder / FILES[1])
        if offsets.shape != (n_chunks + 1,) or int(offsets[-1]) != vectors.shape[0]:
            raise ValueError("unit vectors disagree with the passages")
        return cls(vectors, offsets)


def unit_texts(chunk: Chunk) -> list[str]:
    """What is embedded for each answer unit (`unit_text`)."""
    return [unit_text(chunk.text, s, e) for s, e in answer_units(chunk.text)]


def embed_units(chunks: list[Chunk], embedder: Embedder, reuse: dict[str, np.ndarray],
                show_progress: bool = False, passage_vectors: np.ndarray | None = None) -> UnitVectors:
    """Unit vectors of `chunks`; a passage whose text is in `reuse` keeps those rows.

    Each distinct unit text is embedded once, and a passage that is a single unit takes its
    passage vector (`passage_vectors`, row per chunk; units and passages are both embedded as
    "passage: "). On the legal dev corpus that leaves 13,164 of 16,402 unit texts to embed
    (one-sentence articles, repeated clauses), for the same vectors."""
    texts = [unit_texts(c) for c in chunks]
    whole = [passage_vectors is not None and ts == [c.text] for c, ts in zip(chunks, texts)]
    todo = list(dict.fromkeys(t for c, ts, w in zip(chunks, texts, whole) if c.text not in reuse and not w
                              for t in ts))
    row = {t: i for i, t in enumerate(todo)}
    fresh = np.zeros((0, embedder.dim), np.float16)
    if todo:
        status(f"Đang nhúng {len(todo)} câu / embedding {len(todo)} sentences "
               f"({embedder.model_id}, {embedder.backend})", show_progress)
        fresh = embedder.embed_passages(todo, show_progress=show_progress).astype(np.float16)
    parts = []
    for i, (c, ts) in enumerate(zip(chunks, texts)):
        if c.text in reuse:
            parts.append(np.asarray(reuse[c.text], dtype=np.float16))
        elif whole[i]:
            parts.append(np.asarray(passage_vectors[i:i + 1], dtype=np.float16))  # type: ignore[index]
        else:
            parts.append(fresh[[row[t] for t in ts]].reshape(len(ts), embedder.dim))
    sizes = np.array([len(p) for p in parts], dtype=np.int64)
    vectors = np.concatenate(parts) if parts else np.zeros((0, embedder.dim), np.float16)
    return UnitVectors(vectors.reshape(-1, embedder.dim), np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))
