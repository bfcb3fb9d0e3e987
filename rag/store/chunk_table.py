"""The passages of an index, decoded on access instead of held as a million `Chunk` objects.

Python `Chunk` objects cost ≈ 2 KB each (UCS-2 text because of Vietnamese letters, the title
repeated in every passage, a dict per object): the largest part of a loaded index's RAM
(bench/README.md, "Memory per chunk"). A question only
reads its top hits and their neighbours, so `ChunkTable` keeps each passage as its JSON line
(in `chunks.jsonl`, read with pread, or one bytes buffer for an in-memory index) and, in small numpy
arrays, what the other code asks of *every* passage: where its line starts, its id (the answerer
and the UI look passages up by id), its document and its date (search filters).

On disk the arrays are `chunks.table.npz`, written beside `chunks.jsonl` in each version folder
and covered by its checksums; an index written before it existed is read by scanning
`chunks.jsonl` once at load (slower to load, same answers; any `rag index` run writes the file).
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..types import Chunk, SearchFilter

TABLE_FILE = "chunks.table.npz"
_ARRAYS = ("offsets", "ids", "id_order", "doc", "date", "doc_names", "dates", "doc_order", "doc_starts")


def chunk_line(chunk: Chunk) -> bytes:
    """One passage as `chunks.jsonl` stores it (UTF-8, newline-terminated)."""
    return (json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")


class ChunkTable(Sequence[Chunk]):
    """A read-only sequence of passages: `table[i]` decodes passage i (a new `Chunk` each time,
    so a caller that edits one changes nothing shared); `position`, `doc_positions` and
    `allowed` answer from the arrays without decoding."""

    def __init__(self, source: bytes | Path, arrays: dict[str, np.ndarray]) -> None:
        """`source`: the JSON lines themselves, or the file holding them (read with pread: a
        memory map would put whole page-cache folios of it in the process's RSS, see
        search_backends.read_range)."""
        self._buf = source if isinstance(source, bytes) else None
        self._fd = None
        if isinstance(source, Path):
            self._fd = os.open(source, os.O_RDONLY)
            weakref.finalize(self, os.close, self._fd)
        size = len(source) if isinstance(source, bytes) else os.fstat(self._fd).st_size
        self._a = arrays
        self._offsets = arrays["offsets"]
        self._n = len(self._offsets) - 1
        if self._n < 0 or int(self._offsets[-1]) != size:
            raise ValueError(f"chunk table covers {int(self._offsets[-1]) if self._n >= 0 else 0} "
                             f"bytes, chunks.jsonl has {size}")
        for name in ("ids", "id_order", "doc", "date", "doc_order"):
            if len(arrays[name]) != self._n:
                raise ValueError(f"chunk table: {name} has {len(arrays[name])} rows, not {self._n}")

    # ---------------------------------------------------------------- building

    @classmethod
    def from_chunks(cls, chunks: Iterable[Chunk]) -> ChunkTable:
        """An in-memory table (a store snapshot, tests): the passages as one bytes buffer."""
        chunks = list(chunks)
        lines = [chunk_line(c) for c in chunks]
        return cls(b"".join(lines), table_arrays([len(line) for line in lines], [c.chunk_id for c in chunks],
                                                 [c.doc_id for c in chunks], [c.date for c in chunks]))

    @classmethod
    def open(cls, folder: Path) -> ChunkTable:
        """The table of a version folder: `chunks.jsonl` read on access, the arrays from
        `chunks.table.npz`, or from one scan of `chunks.jsonl` when the folder predates it."""
        folder = Path(folder)
        table_file = folder / TABLE_FILE
        if table_file.exists():
            with np.load(table_file, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in _ARRAYS}
        else:
            arrays = _scan((folder / "chunks.jsonl").read_bytes().splitlines(keepends=True))
        return cls(folder / "chunks.jsonl", arrays)

    def save(self, folder: Path) -> None:
        """Write `chunks.jsonl` and `chunks.table.npz` into a (new) version folder."""
        with open(folder / "chunks.jsonl", "wb") as fh:
            fh.write(self._read(0, int(self._offsets[-1])))
        with open(folder / TABLE_FILE, "wb") as fh:
            np.savez(fh, **self._a)

    # ---------------------------------------------------------------- reading

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        i = int(i)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"passage {i} of {self._n}")
        return Chunk(**json.loads(self._read(int(self._offsets[i]), int(self._offsets[i + 1]))))

    def _read(self, start: int, end: int) -> bytes:
        if self._buf is not None:
            return self._buf[start:end]
        data = os.pread(self._fd, end - start, start)
        if len(data) != end - start:
            raise ValueError(f"chunks.jsonl ends at {start + len(data)}, passage runs to {end}")
        return data

    def __iter__(self) -> Iterator[Chunk]:
        for i in range(self._n):
            yield self[i]

    def chunk_id(self, i: int) -> str:
        value = self._a["ids"][i]
        return value.decode("ascii") if isinstance(value, bytes) else str(value)

    def chunk_ids(self) -> list[str]:
        return [self.chunk_id(i) for i in range(self._n)]

    def position(self, chunk_id: str) -> int | None:
        """Where the passage with this id is (the last one, should two share it), or None."""
        ids, order = self._a["ids"], self._a["id_order"]
        key = _id_key(chunk_id, ids.dtype)
        if key is None or not self._n:
            return None
        j = int(np.searchsorted(ids, key, side="right", sorter=order)) - 1
        return int(order[j]) if j >= 0 and ids[order[j]] == key else None

    def doc_id(self, i: int) -> str:
        return str(self._a["doc_names"][self._a["doc"][i]])

    def doc_positions(self, doc_id: str) -> np.ndarray:
        """Positions of the document's passages, in index order (empty if it has none)."""
        names = self._a["doc_names"]
        d = int(np.searchsorted(names, doc_id))
        if d >= len(names) or names[d] != doc_id:
            return np.zeros(0, dtype=np.int64)
        starts = self._a["doc_starts"]
        return self._a["doc_order"][starts[d]:starts[d + 1]]

    def allowed(self, flt: SearchFilter,
                collection: Callable[[str], str | None] = lambda doc_id: None) -> np.ndarray:
        """A boolean per passage: whether `flt` lets it through (evaluated once per distinct
        document and date, not per passage); `collection` names a document's collection."""
        doc, date = self._a["doc"].astype(np.int64), self._a["date"].astype(np.int64)
        names, dates = self._a["doc_names"], self._a["dates"]
        combo = doc * (len(dates) + 1) + (date + 1)
        uniq, inverse = np.unique(combo, return_inverse=True)
        ok = np.array([flt.allows(str(names[u // (len(dates) + 1)]),
                                  None if u % (len(dates) + 1) == 0 else str(dates[u % (len(dates) + 1) - 1]),
                                  collection(str(names[u // (len(dates) + 1)])))
                       for u in uniq.tolist()], dtype=bool)
        return ok[inverse] if len(uniq) else np.zeros(0, dtype=bool)

    def nbytes(self) -> int:
        """RAM the arrays take (the passages themselves stay in the mapped file)."""
        return sum(a.nbytes for a in self._a.values())


def _id_key(chunk_id: str, dtype: np.dtype) -> bytes | str | None:
    if dtype.kind != "S":
        return chunk_id
    try:
        key = chunk_id.encode("ascii")
    except UnicodeEncodeError:
        return None
    return key if len(key) <= dtype.itemsize else None


def _scan(lines: list[bytes]) -> dict[str, np.ndarray]:
    """The arrays of an index written before `chunks.table.npz`: each line decoded once."""
    raw = [json.loads(line) for line in lines]
    return table_arrays([len(line) for line in lines], [r["chunk_id"] for r in raw],
                        [r["doc_id"] for r in raw], [r.get("date") for r in raw])


def table_arrays(sizes: Sequence[int], ids: Sequence[str], doc_of: Sequence[str],
                 date_of: Sequence[str | None]) -> dict[str, np.ndarray]:
    """The arrays of a table whose passages' lines have these byte sizes, ids, documents and dates."""
    offsets = np.zeros(len(sizes) + 1, dtype=np.uint64)
    offsets[1:] = np.cumsum(np.asarray(sizes, dtype=np.uint64), dtype=np.uint64)
    id_arr = np.array(ids, dtype="S" if all(i.isascii() for i in ids) else "U") if ids else np.zeros(0, "S1")
    names = sorted(set(doc_of))
    doc_names = np.array(names, dtype="U") if names else np.zeros(0, "U1")
    where = {name: i for i, name in enumerate(names)}
    doc = np.array([where[d] for d in doc_of], dtype=np.int32)
    day_names = sorted({d for d in date_of if d is not None})
    dates = np.array(day_names, dtype="U") if day_names else np.zeros(0, "U1")
    day = {d: i for i, d in enumerate(day_names)}
    date = np.array([-1 if d is None else day[d] for d in date_of], dtype=np.int32)
    doc_order = np.argsort(doc, kind="stable").astype(np.int64)
    doc_starts = np.searchsorted(doc[doc_order], np.arange(len(names) + 1)).astype(np.int64)
    return {"offsets": offsets, "ids": id_arr, "id_order": np.argsort(id_arr, kind="stable").astype(np.int64),
            "doc": doc, "date": date, "doc_names": doc_names, "dates": dates,
            "doc_order": doc_order, "doc_starts": doc_starts}
