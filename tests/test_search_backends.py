"""The light query-time readers agree with the libraries that built the index."""

import bm25s
import faiss
import numpy as np
import pytest

from rag.store import index as idx
from rag.store.search_backends import BM25Matrix, ExactDense
from rag.vi.text import bm25_terms

DOCS = [
    "Lào Cai tích hợp 1.305 dịch vụ công trực tuyến lên Cổng Dịch vụ công quốc gia.",
    "Cổng Dịch vụ công quốc gia đã tích hợp 3.552 dịch vụ công trực tuyến mức độ 3, 4.",
    "Thái Nguyên thành lập 2.255 Tổ công nghệ số cộng đồng với 17.000 người tham gia.",
    "Doanh thu kinh tế số quý I/2022 đạt khoảng 53 tỷ USD.",
]


def test_bm25_matrix_scores_equal_bm25s(tmp_path):
    retriever = bm25s.BM25()
    retriever.index([bm25_terms(d) for d in DOCS], show_progress=False)
    retriever.save(str(tmp_path / "bm25"), show_progress=False)
    ours = BM25Matrix(tmp_path / "bm25")
    for q in ["lao cai tich hop dich vu cong", "to cong nghe so cong dong", "1305", "không có từ nào"]:
        toks = [t for t in bm25_terms(q) if t in retriever.vocab_dict]
        expected = retriever.get_scores(toks) if toks else np.zeros(len(DOCS))
        np.testing.assert_allclose(ours.get_scores(bm25_terms(q)), expected, rtol=1e-6)
    assert ours.get_scores(["1305"]).argmax() == 0  # "1.305" is also indexed as 1305


def test_exact_dense_equals_faiss_flat():
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(300, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    flat = faiss.IndexFlatIP(32)
    flat.add(vecs)
    q = vecs[7] + 0.1 * rng.normal(size=32).astype(np.float32)
    s1, i1 = flat.search(q.reshape(1, -1), 10)
    s2, i2 = ExactDense(vecs).search(q, 10)
    assert i1.tolist() == i2.tolist()
    np.testing.assert_allclose(s1, s2, rtol=1e-5)
    assert ExactDense(vecs).search(q, 1000)[1].shape == (1, 300)


@pytest.mark.parametrize("n, kind", [(10, "flat"), (idx.EXACT_MAX_CHUNKS, "flat"),
                                     (idx.EXACT_MAX_CHUNKS + 1, "hnsw-sq8")])
def test_index_type_by_corpus_size(n, kind):
    assert idx.choose_dense_type(n) == kind


def _clustered(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(40, 48)).astype(np.float32)
    x = centers[rng.integers(0, 40, 4000)] + 0.3 * rng.normal(size=(4000, 48)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[:100] + 0.05 * rng.normal(size=(100, 48)).astype(np.float32)
    return x, q


@pytest.mark.parametrize("kind", ["hnsw", "hnsw-sq8"])
def test_hnsw_recall_on_clustered_vectors(kind):
    x, q = _clustered()
    _, exact = idx.build_dense(x, "flat").search(q, 10)
    dense = idx.dense_searcher(idx.build_dense(x, kind), x, kind)
    approx = np.vstack([dense.search(q[i:i + 1], 10)[1] for i in range(len(q))])
    recall = np.mean([len(set(exact[i]) & set(approx[i])) / 10 for i in range(len(q))])
    assert recall >= 0.95


def test_8bit_graph_returns_exact_cosines_best_first():
    """The retriever fuses and the answerer reads these scores: true cosines, not the codes'."""
    x, q = _clustered(1)
    dense = idx.dense_searcher(idx.build_dense(x, "hnsw-sq8"), x, "hnsw-sq8")
    assert faiss.downcast_index(idx.build_dense(x, "hnsw-sq8").storage).code_size == 48  # a byte a dimension
    for i in range(10):
        scores, ids = dense.search(q[i:i + 1], 10)
        assert ids.shape == (1, 10) and len(set(ids[0].tolist())) == 10
        np.testing.assert_allclose(scores[0], x[ids[0]] @ q[i], rtol=1e-5)
        assert (np.diff(scores[0]) <= 0).all()


def test_a_large_index_is_written_with_an_8bit_graph_and_loads(tmp_path, monkeypatch):
    from rag.types import Chunk

    monkeypatch.setattr(idx, "EXACT_MAX_CHUNKS", 100)
    x, q = _clustered(2)
    x = x[:300]
    chunks = [Chunk(f"c{i}", f"d{i // 10}", f"d{i // 10}", "", None, i % 10 + 1, 0, 5, f"đoạn số {i}")
              for i in range(len(x))]
    meta = idx.IndexMeta(model_id="m", backend="b", dim=x.shape[1], chunking={},
                         documents={f"d{j}": idx.DocumentRecord(path=f"/d{j}") for j in range(30)})
    idx.write_index(tmp_path, meta, chunks, x)
    loaded = idx.load_index(tmp_path)
    assert loaded.meta.dense_type == "hnsw-sq8"
    scores, ids = loaded.dense.search(x[17], 5)
    assert ids[0][0] == 17 and abs(scores[0][0] - 1.0) < 1e-5


def test_rows_read_from_a_mapped_file_equal_the_map(tmp_path):
    """read_rows/read_range replace memory-map indexing at query time (a mapped page-cache folio
    counts whole in RSS): same values, any order, errors for rows outside the array."""
    from rag.store.search_backends import read_range, read_rows

    x = np.random.default_rng(3).normal(size=(500, 24)).astype(np.float32)
    np.save(tmp_path / "v.npy", x)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    ids = np.array([499, 3, 250, 3, 0])
    np.testing.assert_array_equal(read_rows(mapped, ids), x[ids])
    np.testing.assert_array_equal(read_rows(x, ids), x[ids])
    np.testing.assert_array_equal(read_range(mapped, 17, 40), x[17:40])
    assert read_range(mapped, 5, 5).shape == (0, 24)
    flat = np.arange(1000, dtype=np.int32)
    np.save(tmp_path / "i.npy", flat)
    np.testing.assert_array_equal(read_range(np.load(tmp_path / "i.npy", mmap_mode="r"), 990, 1000), flat[990:])
    with pytest.raises(IndexError):
        read_rows(mapped, np.array([500]))
    many = np.random.default_rng(4).integers(0, 500, 5000)  # past MAX_ROW_READS: the map is indexed
    np.testing.assert_array_equal(read_rows(mapped, many), x[many])
