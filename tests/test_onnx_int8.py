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
    emb.batch_size = 2
    lengths = [3, 9, 1, 9, 5]
    batches = [list(b) for b in emb.batches(lengths)]
    assert batches == [[1, 3], [4, 0], [2]]


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
    together = onnx.embed_passages([short, long])[0]
    assert float(alone @ together) >= MIN_COSINE
    assert np.allclose(np.linalg.norm(onnx.embed_passages([short, long]), axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_converted_folder_is_reused(onnx, settings) -> None:
    from rag.embedders.onnx_convert import MODEL_FILE, ensure_onnx

    folder = ensure_onnx(Path(settings.cache_dir) / "models", progress=False)
    before = (folder / MODEL_FILE).stat().st_mtime_ns
    assert ensure_onnx(Path(settings.cache_dir) / "models", progress=False) == folder
    assert (folder / MODEL_FILE).stat().st_mtime_ns == before
    assert (folder / MODEL_FILE).stat().st_size < 150e6  # int8: ~1/4 of the fp32 weights
