"""One suite, both stores: the local folder of files and PostgreSQL + pgvector (a real server,
tests/pg_server.py). What one store answers, the other must answer the same way."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, LAO_CAI, FakeEmbedder, write_files
from pg_server import pg_server, pg_url  # noqa: F401  (fixtures)

from rag.ingest.chunking import build_document, chunk_document
from rag.ingest.files import read_file
from rag.store.index import DocumentRecord
from rag.store.local import LocalStore
from rag.types import Chunk, SearchFilter
from rag.vi.text import bm25_terms

EMB = FakeEmbedder(dim=128)
REPO = Path(__file__).resolve().parents[1]


def read_docs(folder: Path, names: list[str] | None = None
              ) -> list[tuple[str, DocumentRecord, list[Chunk], np.ndarray]]:
    """The standard corpus (or the files `names`) through ingest, as `rag index` reads it."""
    out = []
    for name in names or sorted(CORPUS):
        doc = build_document(read_file(folder / name), doc_id=name)
        chunks = chunk_document(doc, 350, 120)
        record = DocumentRecord(path=str(folder / name), source=doc.source, title=doc.title, date=doc.date,
                                content_hash=doc.content_hash, chunks=len(chunks))
        out.append((name, record, chunks, EMB.embed_passages([c.text for c in chunks])))
    return out


@pytest.fixture
def docs(tmp_path: Path):
    return read_docs(write_files(tmp_path / "corpus", CORPUS))


def _open(kind: str, tmp_path: Path, request: pytest.FixtureRequest):
    if kind == "local":
        return LocalStore(tmp_path / "index", EMB.model_id, EMB.dim)
    from rag.store.postgres import PostgresStore

    store = PostgresStore(request.getfixturevalue("pg_url"), EMB.model_id, EMB.dim)
    request.addfinalizer(store.close)
    return store


@pytest.fixture(params=["local", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    return _open(request.param, tmp_path, request)


@pytest.fixture
def filled(store, docs):
    for doc_id, record, chunks, vectors in docs:
        store.put_document(doc_id, record, chunks, vectors)
    return store


def test_put_then_snapshot_round_trips_records_chunks_and_vectors(filled, docs):
    snap = filled.snapshot()
    assert list(snap.documents) == [d for d, *_ in docs]
    assert snap.documents["lao_cai.txt"].date == docs[1][1].date
    assert snap.chunks == [c for *_, chunks, _ in docs for c in chunks]
    np.testing.assert_allclose(snap.vectors, np.vstack([v for *_, v in docs]), atol=1e-6)
    assert filled.documents() == snap.documents


def test_replace_swaps_every_passage_and_keeps_the_document_order(filled, docs):
    before = filled.version()
    doc_id, record, chunks, _ = docs[0]
    new = [replace(chunks[0], chunk_id="new-1", text="Đà Nẵng thử nghiệm trợ lý ảo cho công dân số")]
    filled.put_document(doc_id, replace(record, chunks=1, title="Bản mới"), new, EMB.embed_passages([new[0].text]))
    assert filled.version() != before
    snap = filled.snapshot()
    assert list(snap.documents) == [d for d, *_ in docs]
    assert snap.documents[doc_id].title == "Bản mới"
    assert [c.chunk_id for c in snap.chunks if c.doc_id == doc_id] == ["new-1"]
    assert [h.chunk.chunk_id for h in filled.lexical_top(bm25_terms("trợ lý ảo"), 3)] == ["new-1"]
    assert len(snap.chunks) == sum(len(c) for *_, c, _ in docs[1:]) + 1


def test_delete_removes_a_document_from_both_searches(filled, docs):
    assert filled.delete_document("lao_cai.txt") is True
    assert filled.delete_document("lao_cai.txt") is False
    assert "lao_cai.txt" not in filled.documents()
    q = EMB.embed_query(LAO_CAI)
    assert all(h.chunk.doc_id != "lao_cai.txt" for h in filled.dense_top(q, 10))
    assert all(h.chunk.doc_id != "lao_cai.txt" for h in filled.lexical_top(bm25_terms("Lào Cai 1.305"), 10))


def test_dense_top_finds_a_passage_by_its_own_vector_best_first(filled, docs):
    _, _, chunks, vectors = docs[1]
    hits = filled.dense_top(vectors[0], 5)
    assert hits[0].chunk.chunk_id == chunks[0].chunk_id
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_lexical_top_ranks_the_document_with_the_terms_first(filled):
    hits = filled.lexical_top(bm25_terms("Lào Cai tích hợp bao nhiêu dịch vụ công"), 5)
    assert hits[0].chunk.doc_id == "lao_cai.txt"
    assert all(h.score > 0 for h in hits)
    assert filled.lexical_top(bm25_terms("xyzzy"), 5) == []


@pytest.mark.parametrize("flt, allowed", [
    (SearchFilter(doc_ids={"quoc_gia.txt"}), {"quoc_gia.txt"}),
    (SearchFilter(date_from="2023-05-01"), {"lao_cai.txt"}),
    (SearchFilter(date_to="2023-04-30"), {"quoc_gia.txt", "da_nang.txt"}),
])
def test_filters_restrict_both_searches(filled, docs, flt, allowed):
    dates = {d: r.date for d, r, *_ in docs}
    allowed = {d for d in allowed if flt.allows(d, dates[d])}
    assert allowed, "the case must leave something to find"
    q = EMB.embed_query("dịch vụ công trực tuyến")
    dense = filled.dense_top(q, 10, flt)
    lexical = filled.lexical_top(bm25_terms("dịch vụ công trực tuyến"), 10, flt)
    assert dense and {h.chunk.doc_id for h in dense} <= allowed
    assert lexical and {h.chunk.doc_id for h in lexical} <= allowed


def test_both_stores_give_the_same_scores(tmp_path, docs, request):
    """BM25 in SQL equals the local BM25 matrix; pgvector's cosine equals the exact search."""
    stores = [_open(kind, tmp_path, request) for kind in ("local", "postgres")]
    for s in stores:
        for doc_id, record, chunks, vectors in docs:
            s.put_document(doc_id, record, chunks, vectors)
    for question in ["Lào Cai tích hợp bao nhiêu dịch vụ công?", "cổng dịch vụ công quốc gia kết nối dân cư",
                     "Đà Nẵng chuyển đổi số"]:
        terms = bm25_terms(question)
        local, pg = (s.lexical_top(terms, 10) for s in stores)
        assert [h.chunk.chunk_id for h in local] == [h.chunk.chunk_id for h in pg]
        np.testing.assert_allclose([h.score for h in local], [h.score for h in pg], rtol=1e-5)
        q = EMB.embed_query(question)
        local, pg = (s.dense_top(q, 5) for s in stores)
        assert [h.chunk.chunk_id for h in local] == [h.chunk.chunk_id for h in pg]
        np.testing.assert_allclose([h.score for h in local], [h.score for h in pg], atol=1e-5)


# ---------------------------------------------------------------- PostgreSQL only

def test_migrations_are_recorded_and_reopening_applies_nothing_twice(pg_url):  # noqa: F811
    from rag.store.postgres import PostgresStore, migrations

    first = PostgresStore(pg_url, EMB.model_id, EMB.dim)
    first.close()
    again = PostgresStore(pg_url, EMB.model_id, EMB.dim)
    try:
        assert again.schema_version() == migrations()[-1][0]
    finally:
        again.close()


def test_a_store_made_for_another_model_is_refused(pg_url):  # noqa: F811
    from rag.errors import IndexStateError
    from rag.store.postgres import PostgresStore

    PostgresStore(pg_url, EMB.model_id, EMB.dim).close()
    with pytest.raises(IndexStateError, match="other-model"):
        PostgresStore(pg_url, "other-model", EMB.dim)


def test_an_unreachable_server_is_one_clear_error():
    from pg_server import free_port

    from rag.errors import IndexStateError
    from rag.store.postgres import PostgresStore

    with pytest.raises(IndexStateError, match="cannot connect to postgresql://u:\\*\\*\\*@127.0.0.1"):
        PostgresStore(f"postgresql://u:secret@127.0.0.1:{free_port()}/x", EMB.model_id, EMB.dim)


KILLED_WRITER = """
import os, signal, sys
sys.path[:0] = [{tests!r}, {repo!r}]
from test_store_contract import EMB, read_docs
from rag.store.postgres import PostgresStore
from pathlib import Path

class Dying(PostgresStore):
    def _notify(self):  # the last statement before COMMIT: the writer dies mid-transaction
        os.kill(os.getpid(), signal.SIGKILL)

store = Dying({url!r}, EMB.model_id, EMB.dim)
doc_id, record, chunks, vectors = read_docs(Path({folder!r}))[0]
store.put_document(doc_id, record, chunks[:1], vectors[:1])
"""


def test_a_writer_killed_mid_write_leaves_the_previous_state(pg_url, docs, tmp_path):  # noqa: F811
    from rag.store.postgres import PostgresStore

    store = PostgresStore(pg_url, EMB.model_id, EMB.dim)
    try:
        for doc_id, record, chunks, vectors in docs:
            store.put_document(doc_id, record, chunks, vectors)
        before = store.snapshot()
        script = KILLED_WRITER.format(tests=str(REPO / "tests"), repo=str(REPO), url=pg_url,
                                      folder=str(tmp_path / "corpus"))
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
        assert run.returncode == -9, run.stderr.decode()[-500:]
        after = store.snapshot()
        assert after.version == before.version
        assert after.chunks == before.chunks
        assert [h.chunk.doc_id for h in store.lexical_top(bm25_terms("Đà Nẵng"), 1)] == ["da_nang.txt"]
    finally:
        store.close()


def test_documents_written_in_one_transaction_read_as_written_one_by_one(pg_url, docs, tmp_path):  # noqa: F811
    """put_documents (the bulk path) stores what put_document per document stores: the same
    passages, vectors, vocabulary and term counts, so searches score alike."""
    from rag.store.postgres import PostgresStore

    one_by_one = LocalStore(tmp_path / "index", EMB.model_id, EMB.dim)
    for doc_id, record, chunks, vectors in docs:
        one_by_one.put_document(doc_id, record, chunks, vectors)
    store = PostgresStore(pg_url, EMB.model_id, EMB.dim)
    try:
        store.put_documents(docs[:2])
        store.put_documents(docs[2:])
        store.put_documents(docs[1:2])  # a replace inside a group write
        assert store.snapshot().chunks == one_by_one.snapshot().chunks
        for question in ["Lào Cai tích hợp bao nhiêu dịch vụ công?", "Đà Nẵng chuyển đổi số"]:
            terms = bm25_terms(question)
            want, got = one_by_one.lexical_top(terms, 10), store.lexical_top(terms, 10)
            assert [h.chunk.chunk_id for h in want] == [h.chunk.chunk_id for h in got]
            np.testing.assert_allclose([h.score for h in want], [h.score for h in got], rtol=1e-5)
        n, df = store.term_frequencies(["lao", "cai", "dich"])
        assert n == sum(len(c) for _, _, c, _ in docs) and df["lao"] > 0
    finally:
        store.close()


KILLED_BULK = """
import os, signal, sys
sys.path[:0] = [{tests!r}, {repo!r}]
from test_store_contract import EMB, read_docs
from rag.store.postgres import PostgresStore
from pathlib import Path

store = PostgresStore({url!r}, EMB.model_id, EMB.dim)
docs = read_docs(Path({folder!r}))
loading = store.bulk()  # held: a collected generator would run its finally (the index build)
loading.__enter__()
store.put_documents(docs[:2])
os.kill(os.getpid(), signal.SIGKILL)  # dies before the deferred indexes are built
"""


def test_a_bulk_load_killed_before_its_indexes_keeps_its_documents_and_the_next_open_builds_them(
        pg_url, docs, tmp_path):  # noqa: F811
    import psycopg

    from rag.store.postgres import DEFERRED_INDEXES, PostgresStore

    script = KILLED_BULK.format(tests=str(REPO / "tests"), repo=str(REPO), url=pg_url,
                                folder=str(tmp_path / "corpus"))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert run.returncode == -9, run.stderr.decode()[-500:]
    with psycopg.connect(pg_url) as conn:
        missing = [n for n in DEFERRED_INDEXES if conn.execute("SELECT to_regclass(%s)", [n]).fetchone()[0] is None]
        assert missing == list(DEFERRED_INDEXES)  # the bulk load had dropped them
    store = PostgresStore(pg_url, EMB.model_id, EMB.dim)
    try:
        assert list(store.documents()) == [d for d, *_ in docs[:2]]
        with psycopg.connect(pg_url) as conn:
            assert all(conn.execute("SELECT to_regclass(%s)", [n]).fetchone()[0] for n in DEFERRED_INDEXES)
            assert not conn.execute("SELECT count(*) FROM store_meta WHERE key LIKE 'deferred%'").fetchone()[0]
        q = docs[0][3][0]
        assert store.dense_top(q, 1)[0].chunk.chunk_id == docs[0][2][0].chunk_id
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["local", "postgres"])
def test_a_reader_learns_of_a_commit_by_another_writer_within_a_second(kind, docs, tmp_path, request):
    import threading
    import time

    writer, reader = (_open(kind, tmp_path, request) for _ in range(2))
    since = reader.version()
    got: list[tuple[str | None, float]] = []
    waiting = threading.Thread(target=lambda: got.append((reader.wait_for_change(since, 10), time.monotonic())))
    waiting.start()
    time.sleep(0.3)  # the listener is waiting before the write commits
    doc_id, record, chunks, vectors = docs[0]
    writer.put_document(doc_id, record, chunks, vectors)
    committed = time.monotonic()
    waiting.join(15)
    assert got and got[0][0] == writer.version() != since
    assert got[0][1] - committed < 1.0
    assert reader.wait_for_change(since, 0.1) == writer.version()  # already changed: no wait
    assert reader.wait_for_change(writer.version(), 0.2) is None


def test_collections_restrict_both_searches_and_round_trip(store, docs):
    """Issue #14: a passage of a collection the user may not read never comes back from either
    store's search; the collection is kept with the record."""
    for doc_id, record, chunks, vectors in docs:
        coll = "noi-bo" if doc_id == "lao_cai.txt" else "chung"
        store.put_document(doc_id, replace(record, collection=coll), chunks, vectors)
    assert store.snapshot().documents["lao_cai.txt"].collection == "noi-bo"
    assert store.documents()["da_nang.txt"].collection == "chung"
    q, terms = EMB.embed_query(LAO_CAI), bm25_terms("Lào Cai tích hợp 1.305 dịch vụ công")
    public = SearchFilter(collections={"chung"})
    assert store.dense_top(q, 10)[0].chunk.doc_id == "lao_cai.txt"  # the case: unfiltered, it ranks first
    for hits in (store.dense_top(q, 10, public), store.lexical_top(terms, 10, public)):
        assert hits and all(h.chunk.doc_id != "lao_cai.txt" for h in hits)
    inside = SearchFilter(collections={"noi-bo"})
    for hits in (store.dense_top(q, 10, inside), store.lexical_top(terms, 10, inside)):
        assert hits and {h.chunk.doc_id for h in hits} == {"lao_cai.txt"}
    assert store.dense_top(q, 10, SearchFilter(collections=set())) == []
