"""Pipeline behaviour around the index lifecycle (fake embedder, tiny corpus)."""

import dataclasses
import json

import pytest
from conftest import write_files

from rag.pipeline import Pipeline
from rag.store import index as idx


def test_old_format_index_is_rebuilt_from_its_recorded_files(make_corpus, settings_for, fake_embedder):
    settings = settings_for(make_corpus())
    pipe = Pipeline(settings, embedder=fake_embedder)
    first = pipe.ensure_index()
    meta_path = first.path / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["format_version"] = idx.FORMAT_VERSION - 1
    meta_path.write_text(json.dumps(meta), encoding="utf-8")

    fresh = Pipeline(settings, embedder=fake_embedder)
    loaded = fresh.ensure_index()
    assert loaded.meta.format_version == idx.FORMAT_VERSION
    assert set(loaded.meta.documents) == set(first.meta.documents)
    answer = fresh.ask("Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert answer.found and "1.305" in answer.answer and answer.citations[0].doc == "lao_cai.txt"


def test_first_use_builds_the_corpus_index(make_corpus, settings_for, fake_embedder):
    settings = settings_for(make_corpus())
    assert not idx.exists(settings.index_dir)
    Pipeline(settings, embedder=fake_embedder).ask("Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert idx.exists(settings.index_dir)


Q = "Lào Cai tích hợp bao nhiêu dịch vụ công?"


def test_a_new_index_version_replaces_the_loaded_record_whole(make_corpus, settings_for, fake_embedder):
    settings = settings_for(make_corpus())
    pipe = Pipeline(settings, embedder=fake_embedder)
    pipe.ask(Q)
    before = pipe._loaded
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.retriever = None  # type: ignore[misc]
    extra = write_files(settings.corpus.parent / "more", {"ha_giang.txt": "Hà Giang chuyển đổi số\n"
                        "Tỉnh Hà Giang đã cấp 12.000 chữ ký số cho người dân trong năm 2023, theo Sở "
                        "Thông tin và Truyền thông tỉnh.\n"})
    Pipeline(settings, embedder=fake_embedder).index([extra])  # another tab or process
    answer = pipe.ask("Hà Giang đã cấp bao nhiêu chữ ký số?")
    after = pipe._loaded
    assert after is not before and after.index.path == idx.current_version(settings.index_dir)
    assert after.retriever.index is after.index and after.answerer is not before.answerer
    assert answer.found and answer.citations[0].doc == "ha_giang.txt"


def test_stream_of_an_extractive_answer_is_the_run_answer_in_one_piece(make_corpus, settings_for,
                                                                        fake_embedder):
    pipe = Pipeline(settings_for(make_corpus()), embedder=fake_embedder)
    live = pipe.stream(Q, k=3, answerer="extractive")
    pieces = list(live)
    ran = pipe.run(Q, k=3, answerer="extractive")
    assert pieces == [ran.answer.answer] and "1.305" in pieces[0]
    assert live.result().answer == ran.answer and len(live.result().hits) == 3


def test_read_document_checks_a_file_without_touching_the_index(make_corpus, settings_for,
                                                                 fake_embedder, tmp_path):
    settings = settings_for(make_corpus())
    pipe = Pipeline(settings, embedder=fake_embedder)
    doc, chunks, warnings = pipe.read_document(settings.corpus / "lao_cai.txt")
    assert doc.title.startswith("Lào Cai") and chunks and warnings == []
    assert not pipe.has_index() and pipe.documents() == {}
    pipe.index()
    assert set(pipe.documents()) == {"lao_cai.txt", "quoc_gia.txt", "da_nang.txt"}
