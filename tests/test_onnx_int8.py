"""The int8 ONNX encoder must stand in for the fp32 model it was quantized from.

An index built by one backend is queried by another, so int8 vectors must stay close to the
fp32 ones (cosine ≥ 0.99, the issue's quality guard) on the seeds, for passages and queries,
and a text's batch neighbours may move its vector only within that bound.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from rag.config import load_settings
from rag.embedders.onnx_int8 import OnnxEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SEEDS = Path(__file__).parents[1] / "seeds"
MIN_COSINE = 0.99
QUERIES = [
    "Chuyển đổi số là gì?",
    "Lào Cai tích hợp bao nhiêu dịch vụ công?",
    "Ủy ban Quốc gia về chuyển đổi số do ai làm Chủ tịch?",
    "chuyen doi so quoc gia den nam 2030",
    "Which ministry leads digital government in Vietnam?",
]


def test_batches_are_longest_first_and_cover_every_row() -> None:
    emb = object.__new__(OnnxEmbedder)
    emb.batch_size, emb.batch_tokens = 2, 1000
    lengths = [3, 9, 1, 9, 5]
    batches = [list(b) for b in emb.batches(lengths)]
    assert batches == [[1, 3], [4, 0], [2]]


def test_batches_are_bounded_by_padded_tokens() -> None:
    """A long passage goes alone; short sentences share a call up to the token budget."""
    emb = object.__new__(OnnxEmbedder)
    emb.batch_size, emb.batch_tokens = 16, 256
    lengths = [40, 300, 40, 40, 40, 40, 40, 40, 40, 200]
    batches = [list(b) for b in emb.batches(lengths)]
    assert batches == [[1], [9], [0, 2, 3, 4, 5, 6], [7, 8]]
    assert sorted(r for b in batches for r in b) == list(range(len(lengths)))
    emb.batch_size = 4
    assert [len(b) for b in emb.batches(lengths)] == [1, 1, 4, 4]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory):
    return load_settings(cache_dir=tmp_path_factory.mktemp("onnx-cache"), show_progress=False, threads=1)


@pytest.fixture(scope="module")
def onnx(settings) -> OnnxEmbedder:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    return OnnxEmbedder(settings)


@pytest.fixture(scope="module")
def fp32(settings, onnx):
    from rag.embedders.sentence_transformers import STEmbedder

    return STEmbedder(settings)  # the folder the ONNX model was exported from, already converted


def _chunks() -> list[str]:
    from rag.ingest.chunking import build_document, chunk_document
    from rag.ingest.files import read_file

    texts = []
    for path in sorted(SEEDS.glob("*.txt")):
        doc = build_document(read_file(path, 0, False), doc_id=path.name)
        texts += [c.text for c in chunk_document(doc, 350, 120)]
    assert len(texts) >= 50
    return texts


@pytest.mark.slow
def test_passages_match_fp32_on_the_seeds(onnx, fp32, record_property) -> None:
    texts = _chunks()
    cos = np.sum(onnx.embed_passages(texts) * fp32.embed_passages(texts), axis=1)
    record_property("min_cosine", float(cos.min()))
    assert onnx.dim == fp32.dim == 384
    assert cos.min() >= MIN_COSINE, texts[int(cos.argmin())][:80]


@pytest.mark.slow
def test_queries_match_fp32(onnx, fp32) -> None:
    for q in QUERIES:
        assert float(onnx.embed_query(q) @ fp32.embed_query(q)) >= MIN_COSINE, q


@pytest.mark.slow
def test_batch_neighbours_barely_move_a_vector(onnx) -> None:
    """Dynamic quantization scales activations per tensor, i.e. over the whole batch, so a text's
    vector depends slightly on its neighbours and padding (measured: cosine 0.997 for a short
    text beside a 400-token one). The attention mask must keep that within the quality guard."""
    short, long = "Chuyển đổi số.", " ".join(["Chính phủ số phục vụ người dân."] * 40)
    alone = onnx.embed_passages([short])[0]
    budget, onnx.batch_tokens = onnx.batch_tokens, 10_000  # one call for both, whatever the default
    try:
        together = onnx.embed_passages([short, long])[0]
        assert float(alone @ together) >= MIN_COSINE
        assert np.allclose(np.linalg.norm(onnx.embed_passages([short, long]), axis=1), 1.0, atol=1e-5)
    finally:
        onnx.batch_tokens = budget


@pytest.mark.slow
def test_residual_layer_norms_stay_unfused(onnx, tmp_path) -> None:
    """ONNX Runtime's SkipLayerNormalization CPU kernel took 13 ns an element against 2 ns for
    Add + LayerNormalization, a quarter of the int8 model's time: neither the converted file
    nor the graph the session runs may hold it (the session would fuse it back by default)."""
    import onnx as onnx_format
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    onnxruntime.InferenceSession(onnx._path, opts, providers=["CPUExecutionProvider"],
                                 disabled_optimizers=onnx._unfused)
    for path in (onnx._path, opts.optimized_model_filepath):
        ops = {n.op_type for n in onnx_format.load(path, load_external_data=False).graph.node}
        assert "SkipLayerNormalization" not in ops and "LayerNormalization" in ops, path
        assert ops & {"Attention", "QAttention"}, path  # attention stays fused


@pytest.mark.slow
def test_converted_folder_is_reused(onnx, settings) -> None:
    from rag.embedders.onnx_convert import MODEL_FILE, ensure_onnx

    folder = ensure_onnx(Path(settings.cache_dir) / "models", progress=False)
    before = (folder / MODEL_FILE).stat().st_mtime_ns
    assert ensure_onnx(Path(settings.cache_dir) / "models", progress=False) == folder
    assert (folder / MODEL_FILE).stat().st_mtime_ns == before
    assert (folder / MODEL_FILE).stat().st_size < 150e6  # int8: ~1/4 of the fp32 weights
