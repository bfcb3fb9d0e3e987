"""The PostgreSQL store read in place (rag/store/in_place.py): questions are answered without
loading the corpus — each retriever's top list, the candidates' scores, neighbouring passages,
documents, word weights, vocabulary counts and abbreviations are asked of the database, and each
equals what the local index computes from the whole corpus in memory."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import CORPUS, FakeEmbedder, write_files
from pg_server import pg_server, pg_url  # noqa: F401  (fixtures)
from test_store_contract import EMB, read_docs
from test_store_pipeline import QUESTIONS

from rag.config import Settings
from rag.pipeline import Pipeline
from rag.store.in_place import StoreContext, StoreVocabulary
from rag.store.local import LocalStore
from rag.store.postgres import PostgresStore
from rag.types import SearchFilter
from rag.vi.abbreviations import learn
from rag.vi.text import bm25_terms
from rag.vi.vocab import Vocabulary, gram_counts

UNACCENTED = ["lao cai tich hop bao nhieu dich vu cong truc tuyen", "da nang lam gi ve chuyen doi so",
              "cong dich vu cong quoc gia ket noi co so du lieu dan cu"]
ABBR_DOC = ("Sở Thông tin và Truyền thông (STTTT) Hà Giang họp về chuyển đổi số\nCập nhật: 01/06/2023 08:00\n"
            "Ủy ban nhân dân (UBND) tỉnh Hà Giang giao Sở Thông tin và Truyền thông (STTTT) chủ trì triển khai "
            "nền tảng số cho 193 xã, thị trấn trong năm 2023.")


@pytest.fixture
def filled(pg_url, tmp_path):  # noqa: F811
    store = PostgresStore(pg_url, EMB.model_id, EMB.dim)
    files = {**CORPUS, "ha_giang.txt": ABBR_DOC}
    docs = read_docs(write_files(tmp_path / "corpus", files), sorted(files))
    for doc_id, record, chunks, vectors in docs:
        store.put_document(doc_id, record, chunks, vectors)
    yield store, docs
    store.close()


def _grams(store: PostgresStore) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for g, f, n in store._conn.execute("SELECT gram, form, n FROM vocab_grams ORDER BY gram, first"):
        out.setdefault(g, {})[f] = n
    return out


def _expected(docs) -> dict[str, dict[str, int]]:
    return {g: dict(forms) for g, forms in gram_counts(c.text for *_, chunks, _ in docs for c in chunks).items()}


def test_vocabulary_counts_follow_every_write(filled):
    store, docs = filled
    assert _grams(store) == _expected(docs)
    # same spellings in the same first-seen order: restoration ties break alike
    assert {g: list(f) for g, f in _grams(store).items()} == {g: list(f) for g, f in _expected(docs).items()}
    store.delete_document("lao_cai.txt")
    assert _grams(store) == _expected([d for d in docs if d[0] != "lao_cai.txt"])
    doc_id, record, chunks, vectors = docs[0]
    store.put_document(doc_id, record, chunks[:1], vectors[:1])  # replaced by a shorter version
    rest = [d for d in docs if d[0] not in ("lao_cai.txt", doc_id)]
    want = Counter()
    for g, forms in _expected([(doc_id, record, chunks[:1], vectors[:1]), *rest]).items():
        want.update({(g, f): n for f, n in forms.items()})
    assert {(g, f): n for g, forms in _grams(store).items() for f, n in forms.items()} == dict(want)


def test_restoration_equals_the_local_vocabulary(filled):
    store, docs = filled
    local = Vocabulary.build(c.text for *_, chunks, _ in docs for c in chunks)
    for q in UNACCENTED:
        assert StoreVocabulary(store).restore(q) == local.restore(q), q
    assert StoreVocabulary(store).restore(UNACCENTED[0]).startswith("lào cai tích hợp")


def test_abbreviations_context_and_weights_equal_the_corpus_in_memory(filled):
    from rag.answerers.extractive import MemoryContext
    from rag.store.index import bm25_corpus_tokens

    store, docs = filled
    chunks = [c for *_, cs, _ in docs for c in cs]
    assert store.abbreviations() == learn(c.text for c in chunks)
    assert store.abbreviations()["STTTT"] == "Sở Thông tin và Truyền thông"
    df = Counter(t for toks in bm25_corpus_tokens(chunks) for t in set(toks))
    import math
    idf = {t: math.log(1 + (len(chunks) - d + 0.5) / (d + 0.5)) for t, d in df.items()}
    memory, ctx = MemoryContext(idf, chunks), StoreContext(store)
    ctx.prefetch(chunks, ["lao", "cai", "xyzzy", "dich"])
    for c in chunks:
        assert ctx.previous_text(c) == memory.previous_text(c)
        assert ctx.document_text(c) == memory.document_text(c)
    assert ctx.idf("xyzzy") is None is memory.idf("xyzzy")
    for t in ["lao", "cai", "dich", "truc"]:
        assert ctx.idf(t) == pytest.approx(memory.idf(t)), t


def test_questions_never_load_the_corpus(tmp_path, pg_url, monkeypatch):  # noqa: F811
    """Answering asks the store for top lists and a few passages: a snapshot or a listing of
    every passage would defeat a corpus larger than RAM."""
    corpus = write_files(tmp_path / "corpus", CORPUS)
    local = Pipeline(Settings(corpus=corpus, index_dir=tmp_path / "index", show_progress=False),
                     embedder=FakeEmbedder())
    shared = Pipeline(Settings(corpus=corpus, store=pg_url, show_progress=False), embedder=FakeEmbedder())
    local.index()
    shared.index()

    def refuse(self, *a, **k):
        raise AssertionError("the query path loaded the whole corpus")

    monkeypatch.setattr(PostgresStore, "snapshot", refuse)
    monkeypatch.setattr(PostgresStore, "chunks", refuse)
    assert shared.ensure_index().chunk_ids() == set(local.ensure_index().chunk_ids())  # the UI's check
    for q in [*QUESTIONS, *UNACCENTED]:
        a, b = local.run(q), shared.run(q)
        assert b.restored == a.restored, q
        assert [(h.chunk.chunk_id, h.dense_rank) for h in b.hits] == [(h.chunk.chunk_id, h.dense_rank)
                                                                      for h in a.hits], q
        # the local list also ranks passages BM25 scores 0 (in index order); the store lists none
        assert all(y.bm25_rank in (x.bm25_rank, None) for x, y in zip(a.hits, b.hits)), q
        assert [h.score for h in b.hits] == pytest.approx([h.score for h in a.hits], abs=1e-5)
        assert b.answer.answer == a.answer.answer, q


def test_migration_3_fills_the_query_side_of_an_older_store(filled, pg_url, tmp_path):  # noqa: F811
    store, docs = filled
    conn = store._conn
    conn.execute("ALTER TABLE documents DROP COLUMN abbreviations")
    conn.execute("DROP TABLE vocab_grams")
    conn.execute("DROP INDEX chunks_chunk_id")
    # the postings indexes of migrations 1-2 (migration 4 replaces them)
    conn.execute("DROP INDEX postings_top")
    conn.execute("DROP INDEX postings_chunk")
    conn.execute("ALTER TABLE postings ADD PRIMARY KEY (term, chunk)")
    conn.execute("CREATE INDEX postings_chunk ON postings (chunk)")
    conn.execute("ALTER TABLE postings DROP COLUMN dl, DROP COLUMN impact")
    conn.execute("DROP TABLE term_df")
    q = EMB.embed_query("Lào Cai tích hợp bao nhiêu dịch vụ công")
    conn.execute("DELETE FROM schema_migrations WHERE version >= 3")
    terms = bm25_terms("Lào Cai tích hợp bao nhiêu dịch vụ công")
    before = [(h.chunk.chunk_id, round(h.score, 4)) for h in store.dense_top(q, 5)]
    again = PostgresStore(pg_url, EMB.model_id, EMB.dim)
    try:
        assert _grams(again) == _expected(docs)
        assert [(h.chunk.chunk_id, round(h.score, 4)) for h in again.dense_top(q, 5)] == before
        local = LocalStore(tmp_path / "index", EMB.model_id, EMB.dim)
        for doc_id, record, chunks, vectors in docs:
            local.put_document(doc_id, record, chunks, vectors)
        want = [(h.chunk.chunk_id, pytest.approx(h.score, rel=1e-5)) for h in local.lexical_top(terms, 8)]
        assert [(h.chunk.chunk_id, h.score) for h in again.lexical_top(terms, 8)] == want
        assert again.abbreviations()["STTTT"] == "Sở Thông tin và Truyền thông"
    finally:
        again.close()


def test_a_question_ignores_passages_removed_between_its_queries(filled):
    """Another writer may delete a candidate between the top lists and the score look-up."""
    from rag.search.retrieve import StoreRetriever
    from rag.store.in_place import StoreIndex

    store, docs = filled
    index = StoreIndex(store, store.version(), "store/v", EMB.model_id, EMB.dim, store.documents())
    retriever = StoreRetriever(index, store, EMB, 0.4)
    real = store.passage_scores

    def racing(ids, terms, query):
        store.delete_document("lao_cai.txt")
        return real(ids, terms, query)

    store.passage_scores = racing
    hits = retriever.search("Lào Cai tích hợp bao nhiêu dịch vụ công trực tuyến?", 5)
    assert hits and all(h.cosine is not None for h in hits)



def test_bm25_past_the_depth_reads_the_strongest_postings_only(filled, monkeypatch):
    """A term in more passages than LEXICAL_DEPTH: only its strongest postings are read, so a
    score can only be lower than the exact one, and the passages that hold the terms most
    strongly still come first."""
    import rag.store.postgres as pg

    store, _ = filled
    terms = bm25_terms("Lào Cai tích hợp bao nhiêu dịch vụ công trực tuyến")
    exact = {h.chunk.chunk_id: h.score for h in store.lexical_top(terms, 50)}
    monkeypatch.setattr(pg, "LEXICAL_DEPTH", 2)
    pruned = store.lexical_top(terms, 50)
    assert len(pruned) < len(exact)
    assert all(h.score <= exact[h.chunk.chunk_id] + 1e-9 for h in pruned)
    assert pruned[0].chunk.chunk_id == max(exact, key=exact.get)


def test_collections_restrict_the_store_read_in_place(tmp_path, pg_url):  # noqa: F811
    """Issue #14 on the query path of #13: the SQL BM25 scan, the HNSW search, the answer and the
    document lists of a store read in place keep a document of another collection out."""
    from test_collections import INSIDE, NOI_BO, PUBLIC, QUESTION, cited_docs

    corpus = write_files(tmp_path / "corpus", CORPUS)
    internal = write_files(tmp_path / "noi_bo", {"bo_nhiem_giam_doc.txt": NOI_BO})
    pipe = Pipeline(Settings(corpus=corpus, store=pg_url, show_progress=False), embedder=FakeEmbedder())
    pipe.index([corpus])
    pipe.index([internal], collection="noi-bo")
    assert pipe.ensure_index().meta.documents["bo_nhiem_giam_doc.txt"].collection == "noi-bo"
    assert set(pipe.documents(PUBLIC)) == set(CORPUS)
    assert "bo_nhiem_giam_doc.txt" in pipe.documents(INSIDE)
    inside = pipe.ask(QUESTION, readable=INSIDE)
    assert inside.found and inside.citations[0].doc == "bo_nhiem_giam_doc.txt"
    outside = pipe.ask(QUESTION, k=10, readable=PUBLIC)
    assert "bo_nhiem_giam_doc.txt" not in cited_docs(outside) and "Vinh" not in outside.answer
    hits = pipe.search(QUESTION, k=50, readable=PUBLIC).hits
    assert hits and all(h.chunk.doc_id != "bo_nhiem_giam_doc.txt" for h in hits)
    terms = bm25_terms(QUESTION)
    store = pipe.store
    assert any(h.chunk.doc_id == "bo_nhiem_giam_doc.txt" for h in store.lexical_top(terms, 50))
    public = SearchFilter(collections=set(PUBLIC))
    assert all(h.chunk.doc_id != "bo_nhiem_giam_doc.txt" for h in store.lexical_top(terms, 50, public))
    assert store.lexical_top(terms, 50, SearchFilter(collections=set())) == []
