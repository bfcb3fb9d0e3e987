"""rag.search.retrieve: hybrid BM25 + dense search over a real on-disk index and a fake embedder."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CORPUS

from rag.ingest.chunking import build_document, chunk_document
from rag.ingest.files import RawFile
from rag.search.retrieve import HybridRetriever, SearchFilter, normalize, restore_if_unaccented
from rag.store.index import IndexMeta, load_index, write_index


@pytest.fixture
def index(tmp_path, fake_embedder):
    chunks = []
    for name, text in CORPUS.items():
        chunks += chunk_document(build_document(RawFile(tmp_path / name, [text], False)))
    vectors = fake_embedder.embed_passages([c.text for c in chunks])
    meta = IndexMeta(model_id=fake_embedder.model_id, backend=fake_embedder.backend,
                     dim=fake_embedder.dim, chunking={"max_tokens": 350, "min_chars": 120})
    write_index(tmp_path / "index", meta, chunks, vectors)
    return load_index(tmp_path / "index")


@pytest.fixture
def retriever(index, fake_embedder):
    return HybridRetriever(index, fake_embedder, dense_weight=0.4)


def test_bm25_finds_an_exact_term(retriever) -> None:
    hits = retriever.search("3.552", k=3)
    assert hits[0].chunk.doc_id == "quoc_gia.txt"
    assert "3.552" in hits[0].chunk.text
    assert hits[0].bm25_rank == 1


def test_bm25_scores_are_zero_for_unknown_terms(retriever, index) -> None:
    scores = retriever.bm25_scores("xyzzy qwerty")
    assert scores.shape == (len(index.chunks),)
    assert not scores.any()


@pytest.mark.parametrize("question", [
    "Lào Cai tích hợp bao nhiêu dịch vụ công?",
    "lao cai tich hop bao nhieu dich vu cong",
    "LAO CAI TICH HOP BAO NHIEU DICH VU CONG",
])
def test_unaccented_question_finds_the_same_top_chunk(retriever, question: str) -> None:
    accented = retriever.search("Lào Cai tích hợp bao nhiêu dịch vụ công?", k=3)
    hits = retriever.search(question, k=3)
    assert hits[0].chunk.chunk_id == accented[0].chunk.chunk_id
    assert hits[0].chunk.doc_id == "lao_cai.txt"
    assert "1.305" in hits[0].chunk.text


def test_unaccented_question_is_restored_before_the_dense_query(retriever, index, fake_embedder) -> None:
    restored = restore_if_unaccented("lao cai tich hop bao nhieu dich vu cong", index)
    assert restored == "lào cai tích hợp bao nhiêu dịch vụ công"
    retriever.search("lao cai tich hop bao nhieu dich vu cong", k=1)
    assert fake_embedder.queries[-1] == restored


@pytest.mark.parametrize("text", ["Lào Cai tích hợp", "How many services are there?"])
def test_accented_and_english_questions_are_not_restored(index, text: str) -> None:
    assert restore_if_unaccented(text, index) == text


def test_hits_are_sorted_and_carry_ranks(retriever, index) -> None:
    hits = retriever.search("dịch vụ công trực tuyến", k=len(index.chunks))
    assert len(hits) == len(index.chunks)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 + 1e-6 for s in scores)
    assert sorted(h.bm25_rank for h in hits) == list(range(1, len(hits) + 1))
    assert sorted(h.dense_rank for h in hits) == list(range(1, len(hits) + 1))


def test_k_limits_the_hits(retriever) -> None:
    assert len(retriever.search("dịch vụ công", k=2)) == 2


def test_filter_by_doc_ids(retriever) -> None:
    flt = SearchFilter(doc_ids={"da_nang.txt"})
    hits = retriever.search("Lào Cai tích hợp bao nhiêu dịch vụ công?", k=5, flt=flt)
    assert hits and {h.chunk.doc_id for h in hits} == {"da_nang.txt"}


@pytest.mark.parametrize(
    "date_from, date_to, docs",
    [
        ("2023-01-01", None, {"lao_cai.txt", "quoc_gia.txt"}),
        (None, "2022-12-31", {"da_nang.txt"}),
        ("2023-03-02", "2023-03-02", {"quoc_gia.txt"}),  # inclusive bounds
        ("2024-01-01", None, set()),
    ],
)
def test_filter_by_date_range(retriever, date_from, date_to, docs) -> None:
    hits = retriever.search("dịch vụ công", k=10, flt=SearchFilter(date_from=date_from, date_to=date_to))
    assert {h.chunk.doc_id for h in hits} == docs


def test_search_filter_allows() -> None:
    flt = SearchFilter(doc_ids={"a.txt"}, date_from="2023-01-01", date_to="2023-12-31")
    assert flt.allows("a.txt", "2023-06-01")
    assert not flt.allows("b.txt", "2023-06-01")
    assert not flt.allows("a.txt", "2024-01-01")
    assert not flt.allows("a.txt", None)  # undated documents fall outside any date range
    assert SearchFilter().allows("x", None)


def test_explicit_restored_text_is_used(retriever, fake_embedder) -> None:
    retriever.search("cau hoi", k=1, restored="Đà Nẵng kinh tế số")
    assert fake_embedder.queries[-1] == "Đà Nẵng kinh tế số"


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
        ([1.0, 2.0, 4.0], [0.25, 0.5, 1.0]),
        ([0.0, 3.0], [0.0, 1.0]),
        ([], []),
    ],
)
def test_normalize(scores, expected) -> None:
    out = normalize(np.asarray(scores, dtype=np.float32))
    assert np.allclose(out, expected)
    assert np.isfinite(out).all()


def test_empty_index_returns_no_hits(tmp_path, fake_embedder) -> None:
    meta = IndexMeta(model_id=fake_embedder.model_id, backend="fake", dim=fake_embedder.dim, chunking={})
    write_index(tmp_path / "empty", meta, [], np.zeros((0, fake_embedder.dim), dtype=np.float32))
    retriever = HybridRetriever(load_index(tmp_path / "empty"), fake_embedder)
    assert retriever.search("Lào Cai", k=5) == []


def test_query_embedding_runs_beside_bm25_and_its_errors_reach_the_caller(index, fake_embedder) -> None:
    import threading
    import time

    from rag.errors import ModelError

    seen = []

    class SlowEmbedder:
        model_id, backend, dim = fake_embedder.model_id, fake_embedder.backend, fake_embedder.dim

        def embed_query(self, text):
            seen.append(threading.current_thread().name)
            time.sleep(0.05)
            return fake_embedder.embed_query(text)

    retriever = HybridRetriever(index, SlowEmbedder(), dense_weight=0.4)
    assert retriever.search("3.552", k=3)[0].chunk.doc_id == "quoc_gia.txt"
    assert seen == ["rag-embed"]  # off the caller's thread, on the process's one worker

    class Broken(SlowEmbedder):
        def embed_query(self, text):
            raise ModelError("mô hình hỏng / broken model")

    with pytest.raises(ModelError, match="broken model"):
        HybridRetriever(index, Broken(), dense_weight=0.4).search("3.552", k=3)
    assert HybridRetriever(index, SlowEmbedder(), dense_weight=0.4).search("3.552", k=3)  # worker still alive
