"""Pipeline behaviour around the index lifecycle (fake embedder, tiny corpus)."""

import json

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
    assert fresh.ask("Lào Cai tích hợp bao nhiêu dịch vụ công?").question


def test_first_use_builds_the_corpus_index(make_corpus, settings_for, fake_embedder):
    settings = settings_for(make_corpus())
    assert not idx.exists(settings.index_dir)
    Pipeline(settings, embedder=fake_embedder).ask("Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert idx.exists(settings.index_dir)
