"""rag.store.chunk_table: passages decoded on access, the same passages and answers as a list."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, FakeEmbedder

from rag.answerers.extractive import ExtractiveAnswerer
from rag.errors import IndexStateError
from rag.ingest.chunking import build_document, chunk_document
from rag.ingest.files import RawFile
from rag.store.chunk_table import TABLE_FILE, ChunkTable
from rag.store.index import DocumentRecord, IndexMeta, check, load_index, write_index
from rag.types import Chunk, SearchFilter

DATES = {"lao_cai.txt": "2023-05-10", "quoc_gia.txt": None}


def _chunks(tmp_path: Path) -> list[Chunk]:
    out = []
    for name, text in CORPUS.items():
        out += chunk_document(build_document(RawFile(tmp_path / name, [text], False)))
    # a long document split in several passages, so neighbours and document text are exercised
    long_doc = "\n\n".join(" ".join(f"Đoạn {i}.{j}: tỉnh Hà Giang triển khai chuyển đổi số ở xã thứ {i}, "
                                      "đạt nhiều kết quả về dịch vụ công trực tuyến và chữ ký số." for j in range(4))
                             for i in range(8))
    out += chunk_document(build_document(RawFile(tmp_path / "ha_giang.txt", [long_doc], False)),
                          max_tokens=60, min_chars=20)
    for c in out:
        c.date = DATES.get(c.doc_id, c.date)
    return out


def _write(index_dir: Path, chunks: list[Chunk]) -> Path:
    emb = FakeEmbedder()
    meta = IndexMeta(model_id=emb.model_id, backend=emb.backend, dim=emb.dim, chunking={},
                     documents={c.doc_id: DocumentRecord(path=f"/{c.doc_id}") for c in chunks})
    return write_index(index_dir, meta, chunks, emb.embed_passages([c.text for c in chunks]))


@pytest.fixture
def chunks(tmp_path) -> list[Chunk]:
    found = _chunks(tmp_path)
    assert len({c.doc_id for c in found}) >= 3 and sum(c.doc_id == "ha_giang.txt" for c in found) >= 3
    assert len({c.chunk_id for c in found}) == len(found)
    return found


def test_loaded_passages_are_the_written_ones(tmp_path, chunks) -> None:
    version = _write(tmp_path / "index", chunks)
    table = load_index(tmp_path / "index").chunks
    assert (version / TABLE_FILE).is_file()
    assert isinstance(table, ChunkTable) and len(table) == len(chunks)
    assert list(table) == chunks and table[-1] == chunks[-1] and table[1:3] == chunks[1:3]
    assert table.chunk_ids() == [c.chunk_id for c in chunks]
    for i, c in enumerate(chunks):
        assert table.position(c.chunk_id) == i
        assert table.doc_id(i) == c.doc_id
    assert table.position("không-có") is None and table.position("0" * 40) is None
    with pytest.raises(IndexError):
        table[len(chunks)]


def test_a_read_passage_is_a_copy(tmp_path, chunks) -> None:
    """Callers edit what they read (`rag remove` rewrites also_in): the table must not change."""
    table = ChunkTable.from_chunks(chunks)
    table[0].also_in.append("khác.pdf")
    table[0].text = "đổi"
    assert table[0] == chunks[0]


def test_document_positions_and_filters_match_the_passages(chunks) -> None:
    table = ChunkTable.from_chunks(chunks)
    for doc in {c.doc_id for c in chunks}:
        assert list(table.doc_positions(doc)) == [i for i, c in enumerate(chunks) if c.doc_id == doc]
    assert len(table.doc_positions("không có.txt")) == 0
    for flt in (SearchFilter(doc_ids={"lao_cai.txt", "ha_giang.txt"}), SearchFilter(date_from="2023-01-01"),
                SearchFilter(date_to="2022-12-31"), SearchFilter(doc_ids=set()), SearchFilter()):
        want = [flt.allows(c.doc_id, c.date) for c in chunks]
        assert table.allowed(flt).tolist() == want
    assert any(table.allowed(SearchFilter(date_from="2023-01-01"))), "the filter test needs a dated doc"


def test_answerer_reads_the_same_context_from_the_table_as_from_a_list(chunks) -> None:
    table = ChunkTable.from_chunks(chunks)
    from_list, from_table = ExtractiveAnswerer(chunks=chunks), ExtractiveAnswerer(chunks=table)
    contexts = [from_table.context(c) for c in chunks]
    assert contexts == [from_list.context(c) for c in chunks]
    assert any(chunks[i - 1].text in contexts[i] for i in range(1, len(chunks))
               if chunks[i - 1].doc_id == chunks[i].doc_id), "no passage has a same-document predecessor"
    assert [from_table._folded_doc(c) for c in chunks] == [from_list._folded_doc(c) for c in chunks]
    # a passage the index does not hold: no predecessor, its own text as its document
    stray = Chunk("x", "khác.txt", "khác.txt", "Tiêu đề", None, 1, 0, 4, "Điện Biên")
    assert from_table.context(stray) == from_list.context(stray) == "Tiêu đề\n\nĐiện Biên"


def test_a_loaded_index_holds_no_chunk_objects(tmp_path, chunks) -> None:
    """The point of the table: RAM per passage is a few array entries, not a Python object."""
    _write(tmp_path / "index", chunks)
    del chunks
    gc.collect()
    before = sum(isinstance(o, Chunk) for o in gc.get_objects())
    loaded = load_index(tmp_path / "index")
    answerer = ExtractiveAnswerer(loaded.idf(), loaded.chunks)
    gc.collect()
    assert sum(isinstance(o, Chunk) for o in gc.get_objects()) == before
    assert answerer.context(loaded.chunks[2])  # and it still reads them


def _drop_table(version: Path) -> None:
    """Make `version` look written before chunks.table.npz existed."""
    (version / TABLE_FILE).unlink()
    meta = json.loads((version / "meta.json").read_text(encoding="utf-8"))
    del meta["files"][TABLE_FILE]
    (version / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def test_an_index_written_before_the_table_loads_the_same(tmp_path, chunks) -> None:
    version = _write(tmp_path / "index", chunks)
    new = load_index(tmp_path / "index").chunks
    _drop_table(version)
    old = load_index(tmp_path / "index").chunks
    assert list(old) == list(new) == chunks
    assert [old.position(c.chunk_id) for c in chunks] == list(range(len(chunks)))
    _, problems, warnings = check(tmp_path / "index")
    assert problems == [] and any(TABLE_FILE in w and "rag index" in w for w in warnings)


def test_a_damaged_table_is_a_corrupt_index(tmp_path, chunks) -> None:
    version = _write(tmp_path / "index", chunks)
    data = bytearray((version / TABLE_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (version / TABLE_FILE).write_bytes(bytes(data))
    with pytest.raises(IndexStateError, match="chunks.table.npz"):
        load_index(tmp_path / "index")


def test_a_table_that_disagrees_with_the_passages_is_refused(chunks) -> None:
    table = ChunkTable.from_chunks(chunks)
    arrays = dict(table._a)
    arrays["offsets"] = arrays["offsets"].copy()
    arrays["offsets"][-1] += np.uint64(5)
    with pytest.raises(ValueError, match="covers"):
        ChunkTable(table._buf, arrays)
    arrays = {**table._a, "doc": table._a["doc"][:-1]}
    with pytest.raises(ValueError, match="doc has"):
        ChunkTable(table._buf, arrays)


def test_an_empty_table() -> None:
    table = ChunkTable.from_chunks([])
    assert len(table) == 0 and list(table) == [] and table.position("a") is None
    assert table.allowed(SearchFilter(doc_ids={"a"})).tolist() == []


def test_document_fingerprints_are_packed_and_round_trip(tmp_path, chunks) -> None:
    """Fingerprints are most of meta.json: 8 bytes a hash in RAM, a plain list in the file."""
    from array import array

    from rag.ingest.dedup import fingerprint, is_duplicate
    from rag.store.index import read_meta

    fp = fingerprint(CORPUS["lao_cai.txt"])
    emb = FakeEmbedder()
    record = DocumentRecord(path="/lao_cai.txt", fingerprint=fp)
    assert isinstance(record.fingerprint, array) and list(record.fingerprint) == fp
    assert record.fingerprint.itemsize == 8
    meta = IndexMeta(model_id=emb.model_id, backend=emb.backend, dim=emb.dim, chunking={},
                     documents={"lao_cai.txt": record})
    version = write_index(tmp_path / "index", meta, chunks, emb.embed_passages([c.text for c in chunks]))
    raw = json.loads((version / "meta.json").read_text(encoding="utf-8"))
    assert raw["documents"]["lao_cai.txt"]["fingerprint"] == fp
    again = read_meta(tmp_path / "index").documents["lao_cai.txt"]
    assert again == record and is_duplicate(again.fingerprint, fp)
    with pytest.raises(ValueError, match="fingerprint"):
        DocumentRecord(path="/x", fingerprint=[-1])
