"""rag.store.index and rag.indexer: atomic versioned writes, corruption handling, incremental builds."""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np
import pytest
from conftest import CORPUS, LAO_CAI, QUOC_GIA, FakeEmbedder

from rag.errors import IndexStateError, InputError
from rag.ingest.chunking import build_document, chunk_document
from rag.ingest.files import RawFile
from rag.store.build import build
from rag.store.index import (
    DocumentRecord,
    IndexMeta,
    current_version,
    exists,
    load_index,
    read_meta,
    write_index,
)


def _chunks(tmp_path: Path, files: dict[str, str] = CORPUS):
    out = []
    for name, text in files.items():
        out += chunk_document(build_document(RawFile(tmp_path / name, [text], False)))
    return out


def _write(index_dir: Path, emb: FakeEmbedder, chunks) -> Path:
    meta = IndexMeta(model_id=emb.model_id, backend=emb.backend, dim=emb.dim,
                     chunking={"max_tokens": 350, "min_chars": 120},
                     documents={"x": DocumentRecord(path="/x.txt", title="X")})
    return write_index(index_dir, meta, chunks, emb.embed_passages([c.text for c in chunks]))


def _entries(index_dir: Path) -> set[str]:
    return {p.name for p in index_dir.iterdir()} - {".lock"}


# ------------------------------------------------------------------ write / load

def test_round_trip(tmp_path, fake_embedder) -> None:
    chunks = _chunks(tmp_path)
    version = _write(tmp_path / "index", fake_embedder, chunks)
    loaded = load_index(tmp_path / "index")
    assert loaded.path == version
    assert list(loaded.chunks) == chunks
    assert loaded.meta.n_chunks == len(chunks) == loaded.dense.ntotal
    assert np.allclose(loaded.vectors, fake_embedder.embed_passages([c.text for c in chunks]))
    assert loaded.meta.model_id == fake_embedder.model_id
    assert loaded.meta.dim == fake_embedder.dim
    assert loaded.meta.chunking == {"max_tokens": 350, "min_chars": 120}
    assert loaded.meta.documents == {"x": DocumentRecord(path="/x.txt", title="X")}
    assert loaded.meta.created
    assert loaded.chunk_ids() == {c.chunk_id: i for i, c in enumerate(chunks)}
    assert loaded.df["lao"] >= 1
    idf = loaded.idf()
    assert idf["lao"] > idf["dich"]  # rarer term weighs more
    assert loaded.vocab.restore("lao cai") == "lào cai"


def test_no_index_is_an_index_state_error(tmp_path) -> None:
    assert not exists(tmp_path / "nothing")
    assert read_meta(tmp_path / "nothing") is None
    with pytest.raises(IndexStateError):
        load_index(tmp_path / "nothing")


def test_current_points_to_new_version_and_old_is_deleted(tmp_path, fake_embedder) -> None:
    index_dir = tmp_path / "index"
    chunks = _chunks(tmp_path)
    v1 = _write(index_dir, fake_embedder, chunks)
    v2 = _write(index_dir, fake_embedder, chunks[:2])
    assert v1 != v2
    assert (index_dir / "CURRENT").read_text(encoding="utf-8").strip() == v2.name
    assert current_version(index_dir) == v2
    assert not v1.exists()
    assert _entries(index_dir) == {"CURRENT", v2.name}
    assert len(load_index(index_dir).chunks) == 2


def test_failure_during_write_keeps_previous_index(tmp_path, fake_embedder, monkeypatch) -> None:
    index_dir = tmp_path / "index"
    chunks = _chunks(tmp_path)
    v1 = _write(index_dir, fake_embedder, chunks)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(faiss, "write_index", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        _write(index_dir, fake_embedder, chunks[:1])
    monkeypatch.undo()
    assert _entries(index_dir) == {"CURRENT", v1.name}  # no stray .tmp-* folder
    loaded = load_index(index_dir)
    assert loaded.path == v1 and len(loaded.chunks) == len(chunks)


def test_failure_while_swapping_current_leaves_no_orphans(tmp_path, fake_embedder, monkeypatch) -> None:
    index_dir = tmp_path / "index"
    chunks = _chunks(tmp_path)
    v1 = _write(index_dir, fake_embedder, chunks)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("rag.store.index.os.replace", boom)
    with pytest.raises(OSError):
        _write(index_dir, fake_embedder, chunks[:1])
    monkeypatch.undo()
    assert load_index(index_dir).path == v1
    assert _entries(index_dir) == {"CURRENT", v1.name}


def _corrupt_chunks(version: Path) -> None:
    (version / "chunks.jsonl").write_text("{not json\n", encoding="utf-8")


def _chunks_wrong_fields(version: Path) -> None:
    (version / "chunks.jsonl").write_text('{"foo": 1}\n' * 7, encoding="utf-8")


def _drop_a_chunk(version: Path) -> None:
    lines = (version / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    (version / "chunks.jsonl").write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")


def _delete(name: str):
    def _do(version: Path) -> None:
        (version / name).unlink()
    return _do


def _garbage(name: str):
    def _do(version: Path) -> None:
        (version / name).write_bytes(b"\x00\x01garbage")
    return _do


def _meta_missing_field(version: Path) -> None:
    (version / "meta.json").write_text('{"model_id": "x"}', encoding="utf-8")


def _meta_old_format(version: Path) -> None:
    import json

    meta = json.loads((version / "meta.json").read_text(encoding="utf-8"))
    meta["format_version"] = 0
    (version / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


@pytest.mark.parametrize(
    "damage",
    [
        _corrupt_chunks, _chunks_wrong_fields, _drop_a_chunk,
        _delete("bm25/data.csc.index.npy"), _delete("chunks.jsonl"), _delete("meta.json"), _delete("vocab.json"),
        _delete("vectors.npy"), _delete("df.json"),
        _garbage("bm25/vocab.index.json"), _garbage("meta.json"), _garbage("vectors.npy"), _garbage("vocab.json"),
        _meta_missing_field, _meta_old_format,
    ],
    ids=[
        "chunks-not-json", "chunks-wrong-fields", "chunks-one-missing",
        "no-bm25-scores", "no-chunks", "no-meta", "no-vocab", "no-vectors", "no-df",
        "garbage-bm25-vocab", "garbage-meta", "garbage-vectors", "garbage-vocab",
        "meta-missing-field", "meta-old-format",
    ],
)
def test_damaged_index_raises_index_state_error(tmp_path, fake_embedder, damage) -> None:
    version = _write(tmp_path / "index", fake_embedder, _chunks(tmp_path))
    damage(version)
    with pytest.raises(IndexStateError):
        load_index(tmp_path / "index")


def test_current_pointing_nowhere_is_an_error_naming_repair(tmp_path, fake_embedder) -> None:
    index_dir = tmp_path / "index"
    _write(index_dir, fake_embedder, _chunks(tmp_path))
    (index_dir / "CURRENT").write_text("v-20200101T000000-1-1", encoding="utf-8")
    with pytest.raises(IndexStateError, match="rag index --repair"):
        exists(index_dir)
    with pytest.raises(IndexStateError, match="rag index --repair"):
        load_index(index_dir)


# ------------------------------------------------------------------ incremental builds

def test_build_records_meta_and_report(make_corpus, settings_for, fake_embedder) -> None:
    settings = settings_for(make_corpus())
    report = build(settings, fake_embedder)
    assert report.documents == 3
    assert report.chunks == report.embedded > 0 and report.reused == 0
    assert report.skipped == []
    loaded = load_index(settings.index_dir)
    assert loaded.path == report.path
    assert loaded.meta.model_id == fake_embedder.model_id
    assert loaded.meta.backend == "fake"
    assert loaded.meta.dim == fake_embedder.dim
    assert loaded.meta.chunking == {"max_tokens": settings.max_chunk_tokens,
                                    "min_chars": settings.min_chunk_chars}
    assert set(loaded.meta.documents) == set(CORPUS)
    doc = loaded.meta.documents["lao_cai.txt"]
    assert doc.title == "Lào Cai đẩy mạnh cung cấp dịch vụ công trực tuyến"
    assert doc.date == "2023-05-10"
    assert doc.chunks == sum(c.doc_id == "lao_cai.txt" for c in loaded.chunks)


def test_second_build_embeds_nothing(make_corpus, settings_for, fake_embedder) -> None:
    settings = settings_for(make_corpus())
    first = build(settings, fake_embedder)
    before = load_index(settings.index_dir)
    n_calls = len(fake_embedder.embedded_texts)
    second = build(settings, fake_embedder)
    assert len(fake_embedder.embedded_texts) == n_calls
    assert second.embedded == 0 and second.reused == first.chunks
    after = load_index(settings.index_dir)
    assert [c.chunk_id for c in after.chunks] == [c.chunk_id for c in before.chunks]
    assert np.array_equal(np.asarray(after.vectors), np.asarray(before.vectors))


def test_changing_one_file_reembeds_only_its_chunks(make_corpus, settings_for, fake_embedder) -> None:
    corpus = make_corpus()
    settings = settings_for(corpus)
    build(settings, fake_embedder)
    fake_embedder.passage_batches.clear()
    (corpus / "quoc_gia.txt").write_text(QUOC_GIA.replace("3.552", "3.600"), encoding="utf-8")
    report = build(settings, fake_embedder)
    texts, units = fake_embedder.passage_batches  # the passage, then its answer units
    assert report.embedded == len(texts) == 1
    assert "3.600" in texts[0]
    assert units and all(u in texts[0] for u in units)  # only the changed passage's sentences
    loaded = load_index(settings.index_dir)
    assert any("3.600" in c.text for c in loaded.chunks)
    assert not any("3.552" in c.text for c in loaded.chunks)
    # reused vectors stay aligned with their chunks
    fresh = FakeEmbedder().embed_passages([c.text for c in loaded.chunks])
    assert np.allclose(np.asarray(loaded.vectors), fresh)


def test_adding_a_single_file_keeps_the_others(make_corpus, settings_for, fake_embedder, tmp_path) -> None:
    settings = settings_for(make_corpus())
    build(settings, fake_embedder)
    extra = make_corpus({"moi.txt": "Hòa Lâm số hóa hồ sơ đất đai\nTỉnh đã số hóa 85% hồ sơ địa chính "
                                    "trong năm qua, phục vụ tra cứu trực tuyến cho người dân."}, name="extra")
    report = build(settings, fake_embedder, paths=[extra / "moi.txt"])
    assert report.documents == 4
    assert set(load_index(settings.index_dir).meta.documents) == {*CORPUS, "moi.txt"}
    rebuilt = build(settings, fake_embedder, paths=[extra / "moi.txt"], rebuild=True)
    assert rebuilt.documents == 1


def test_model_change_reembeds_everything(make_corpus, settings_for, fake_embedder) -> None:
    settings = settings_for(make_corpus())
    first = build(settings, fake_embedder)
    other = FakeEmbedder(model_id="test/another-model")
    report = build(settings, other)
    assert report.embedded == first.chunks
    assert load_index(settings.index_dir).meta.model_id == "test/another-model"


def test_corrupt_previous_index_is_an_error_not_a_smaller_index(make_corpus, settings_for,
                                                                fake_embedder) -> None:
    """Issue #11.2: an incremental build over a damaged index used to rebuild from the given
    paths alone (every other document dropped, one warning line)."""
    settings = settings_for(make_corpus())
    first = build(settings, fake_embedder)
    _corrupt_chunks(first.path)
    extra = make_corpus({"moi.txt": "Hòa Lâm số hóa hồ sơ đất đai\nTỉnh đã số hóa 85% hồ sơ địa chính "
                                    "trong năm qua, phục vụ tra cứu trực tuyến cho người dân."}, name="extra")
    with pytest.raises(IndexStateError, match="rag index --repair"):
        build(settings, fake_embedder, paths=[extra / "moi.txt"])
    assert current_version(settings.index_dir) == first.path  # untouched
    report = build(settings, fake_embedder, rebuild=True)  # the named way out still works
    assert len(load_index(settings.index_dir).chunks) == report.chunks == first.chunks


@pytest.mark.parametrize(
    "bad_name, bad_content",
    [
        ("latin1.txt", "Hòa Lâm".encode("cp1258", errors="replace") + b"\xff\xfe tr\xe0n"),
        ("empty.pdf", b""),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf"),
        ("blank.txt", b"   \n\n"),
        ("binary.txt", b"abc\x00def"),
    ],
)
def test_a_bad_file_is_skipped_with_a_warning(make_corpus, settings_for, fake_embedder,
                                              bad_name, bad_content) -> None:
    corpus = make_corpus({**CORPUS, bad_name: bad_content})
    settings = settings_for(corpus)
    report = build(settings, fake_embedder)
    assert report.documents == 3
    assert [Path(p).name for p, _ in report.skipped] == [bad_name]
    assert report.skipped[0][1]  # a reason the user can act on
    assert bad_name not in load_index(settings.index_dir).meta.documents


def test_a_file_with_only_boilerplate_is_skipped(make_corpus, settings_for, fake_embedder) -> None:
    corpus = make_corpus({**CORPUS, "footer.txt": "Thống kê truy cập\nĐang truy cập: 3\nTổng truy cập: 99"})
    report = build(settings_for(corpus), fake_embedder)
    assert [Path(p).name for p, _ in report.skipped] == ["footer.txt"]


@pytest.mark.parametrize(
    "files",
    [
        {"latin1.txt": b"\xff\xfe tr\xe0n"},
        {"empty.pdf": b"", "blank.md": b"\n"},
        {"notes.docx": b"PK\x03\x04", "image.png": b"\x89PNG"},  # nothing supported at all
    ],
    ids=["non-utf8", "empty-pdf-and-blank-md", "no-supported-files"],
)
def test_no_usable_file_is_an_input_error_and_writes_nothing(make_corpus, settings_for, fake_embedder,
                                                             files) -> None:
    settings = settings_for(make_corpus(files))
    with pytest.raises(InputError):
        build(settings, fake_embedder)
    assert not exists(settings.index_dir)
    assert fake_embedder.embedded_texts == []


def test_same_file_name_in_two_subfolders_are_two_documents(make_corpus, settings_for, fake_embedder) -> None:
    corpus = make_corpus({"2022/bao_cao.txt": LAO_CAI, "2023/bao_cao.txt": QUOC_GIA})
    report = build(settings_for(corpus), fake_embedder)
    assert report.documents == 2


def test_build_holds_no_tmp_leftovers(make_corpus, settings_for, fake_embedder) -> None:
    settings = settings_for(make_corpus())
    build(settings, fake_embedder)
    build(settings, fake_embedder)
    names = _entries(settings.index_dir)
    assert len(names) == 2 and "CURRENT" in names
    assert not any(n.startswith((".tmp-", ".CURRENT-")) for n in os.listdir(settings.index_dir))
