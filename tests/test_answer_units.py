"""Answer units: their vectors stored per index version, the similarity features built on them,
and the exported tree model that scores candidates."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FakeEmbedder

from rag.answerers.features import relative_features
from rag.answerers.scorer import TreeEnsemble, load_model
from rag.config import PACKAGED_MODEL
from rag.ingest.units import answer_units
from rag.pipeline import Pipeline
from rag.search.units import UnitSimilarity
from rag.store import index as idx
from rag.store.build import build, remove
from rag.store.units import UnitVectors, unit_texts


def test_every_passage_has_one_vector_per_answer_unit(make_corpus, settings_for, fake_embedder) -> None:
    settings = settings_for(make_corpus())
    build(settings, fake_embedder)
    loaded = idx.load_index(settings.index_dir)
    assert loaded.units is not None
    for i, c in enumerate(loaded.chunks):
        texts = unit_texts(c)
        assert len(texts) == len(answer_units(c.text)) > 0
        want = FakeEmbedder().embed_passages(texts)
        assert np.allclose(loaded.units.of(i), want, atol=2e-3)  # float16 on disk


def test_removing_a_document_keeps_unit_vectors_aligned(make_corpus, settings_for, fake_embedder) -> None:
    settings = settings_for(make_corpus())
    build(settings, fake_embedder)
    doc = idx.load_index(settings.index_dir).chunks[0].doc_id
    remove(settings, [doc])
    loaded = idx.load_index(settings.index_dir)
    assert loaded.units is not None and doc not in {c.doc_id for c in loaded.chunks}
    for i, c in enumerate(loaded.chunks):
        assert np.allclose(loaded.units.of(i), FakeEmbedder().embed_passages(unit_texts(c)), atol=2e-3)


def test_unit_files_are_checksummed(make_corpus, settings_for, fake_embedder) -> None:
    settings = settings_for(make_corpus())
    version = build(settings, fake_embedder).path
    with open(version / "units.npy", "r+b") as fh:  # one flipped byte in the vectors
        fh.seek(-7, 2)
        b = fh.read(1)
        fh.seek(-7, 2)
        fh.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(idx.IndexStateError, match="units.npy"):
        idx.load_index(settings.index_dir)


def test_an_index_without_unit_vectors_embeds_them_on_first_use(make_corpus, settings_for, fake_embedder) -> None:
    settings = settings_for(make_corpus())
    version = build(settings, fake_embedder).path
    old = idx.load_index(settings.index_dir)
    emb = FakeEmbedder()
    question = "Lào Cai tích hợp bao nhiêu dịch vụ công?"
    stored = UnitSimilarity(old, emb, emb.embed_query)(question, [old.chunks[0], old.chunks[1]])
    for name in ("units.npy", "unit_offsets.npy"):  # as written before they existed
        (version / name).unlink()
    meta = idx.read_version_meta(version)
    meta.files = {k: v for k, v in meta.files.items() if not k.startswith("unit")}
    import json

    (version / "meta.json").write_text(json.dumps(meta.to_json()), encoding="utf-8")
    loaded = idx.load_index(settings.index_dir)
    assert loaded.units is None
    sim = UnitSimilarity(loaded, emb, emb.embed_query)
    got = sim(question, [loaded.chunks[0], loaded.chunks[1]])
    assert all(np.allclose(a, b, atol=2e-3) for a, b in zip(got, stored))
    n = len(emb.passage_batches)
    sim(question, [loaded.chunks[0], loaded.chunks[1]])
    assert len(emb.passage_batches) == n  # cached


def test_unit_vectors_reject_offsets_that_disagree(tmp_path) -> None:
    UnitVectors(np.zeros((3, 4), np.float16), np.array([0, 2, 3])).save(tmp_path)
    assert UnitVectors.load(tmp_path, 2) is not None
    with pytest.raises(ValueError):
        UnitVectors.load(tmp_path, 3)
    kept = UnitVectors(np.arange(12, dtype=np.float16).reshape(3, 4), np.array([0, 2, 3])).take([1])
    assert kept.offsets.tolist() == [0, 1] and kept.vectors.tolist() == [[8, 9, 10, 11]]


def test_answering_reuses_the_question_vector_retrieval_computed(make_corpus, settings_for, monkeypatch) -> None:
    emb = FakeEmbedder(model_id=PACKAGED_MODEL)  # the scorer's own model: its similarity is used
    calls: list[str] = []
    real = emb.embed_query
    emb.embed_query = lambda text: calls.append(text) or real(text)  # type: ignore[method-assign]
    asked: list[str] = []
    real_call = UnitSimilarity.__call__
    monkeypatch.setattr(UnitSimilarity, "__call__",
                        lambda self, q, chunks: asked.append(q) or real_call(self, q, chunks))
    pipe = Pipeline(settings_for(make_corpus()), embedder=emb)
    pipe.index()
    pipe.run("Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert asked and len(calls) == 1


def test_relative_features() -> None:
    spans = [(0, 0, 5), (0, 6, 10), (1, 0, 4)]
    sims = np.array([0.80, 0.90, 0.85])
    cov = np.array([0.5, 0.2, 0.4])
    x = relative_features(spans, cov, sims, "Năm 2023 có bao nhiêu?", ["năm 2023 có", "không", "2023"])
    sim, gap, pgap, neighbour, nxt, cov_gap, best, numbers = x.T
    assert np.allclose(gap, [0.10, 0.0, 0.05]) and np.allclose(pgap, [0.10, 0.0, 0.0])
    assert np.allclose(neighbour, [0.90, 0.80, 0.0]) and np.allclose(nxt, [0.90, 0.0, 0.0])
    assert np.allclose(cov_gap, [0.0, 0.3, 0.1]) and best.tolist() == [0, 1, 0]
    assert numbers.tolist() == [1.0, 0.0, 1.0]


def test_tree_ensemble_descends_each_tree() -> None:
    # one stump on feature 1 (x <= 0.5 → -1, else +2), one leaf-only tree (+0.5), baseline 0.1
    model = load_model({"kind": "trees", "features": ["a", "b"], "baseline": 0.1, "depth": 2, "trees": [
        {"feature": [1, 0, 0], "threshold": [0.5, 0, 0], "left": [1, 0, 0], "right": [2, 0, 0],
         "value": [0, -1.0, 2.0], "leaf": [0, 1, 1]},
        {"feature": [0], "threshold": [0], "left": [0], "right": [0], "value": [0.5], "leaf": [1]}]})
    assert isinstance(model, TreeEnsemble)
    got = model.decision(np.array([[9.0, 0.2], [9.0, 0.7], [0.0, 0.5]]))
    assert np.allclose(got, [0.1 - 1 + 0.5, 0.1 + 2 + 0.5, 0.1 - 1 + 0.5])
    assert np.allclose(model.probabilities(np.array([[0.0, 0.7]])), 1 / (1 + np.exp(-2.6)))


def test_each_unit_text_is_embedded_once_and_a_one_sentence_passage_reuses_its_vector() -> None:
    """Indexing time: repeated clauses and one-sentence passages cost no extra embedding."""
    from rag.store.units import embed_units
    from rag.types import Chunk

    def chunk(i: int, text: str) -> Chunk:
        return Chunk(chunk_id=f"c{i}", doc_id="d", source="d.txt", title="d", date=None, paragraph=i,
                     start=0, end=len(text), text=text)

    shared = "Hồ sơ nộp trực tuyến qua Cổng dịch vụ công quốc gia."
    chunks = [chunk(0, f"Điều 1. Phạm vi điều chỉnh của nghị định. {shared}"),
              chunk(1, f"Điều 2. Đối tượng áp dụng là cơ quan nhà nước. {shared}"),
              chunk(2, "Thời hạn giải quyết là 15 ngày làm việc.")]
    emb = FakeEmbedder()
    passages = emb.embed_passages([c.text for c in chunks])
    emb.passage_batches.clear()
    units = embed_units(chunks, emb, {}, passage_vectors=passages)
    assert sorted(emb.embedded_texts) == sorted({t for c in chunks[:2] for t in unit_texts(c)})
    assert unit_texts(chunks[2]) == [chunks[2].text]
    for i, c in enumerate(chunks):
        assert np.allclose(units.of(i), FakeEmbedder().embed_passages(unit_texts(c)), atol=2e-3)
