"""`rag index` / `rag ask` on a PostgreSQL store (RAG_STORE, --store), against a real server:
same answers as the local store, and what one process writes the next question elsewhere sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, FakeEmbedder, write_files
from pg_server import pg_server, pg_url  # noqa: F401  (fixtures)

from rag.app.cli import main
from rag.config import Settings
from rag.errors import InputError
from rag.pipeline import Pipeline

QUESTIONS = ["Lào Cai tích hợp bao nhiêu dịch vụ công trực tuyến?",
             "Cổng Dịch vụ công quốc gia cung cấp bao nhiêu dịch vụ?",
             "Đà Nẵng làm gì về chuyển đổi số?",
             "tỷ lệ hồ sơ giải quyết trực tuyến toàn trình của lào cai"]

NEW_DOC = ("Hà Giang triển khai chữ ký số cho cán bộ\nCập nhật: 12/06/2023 08:00\nTỉnh Hà Giang đã cấp "
           "4.120 chứng thư chữ ký số cho cán bộ, công chức cấp xã trong quý II năm 2023, giúp ký văn bản "
           "điện tử thay cho văn bản giấy tại mọi xã của tỉnh.")


def _pipelines(tmp_path: Path, url: str) -> tuple[Pipeline, Pipeline]:
    corpus = write_files(tmp_path / "corpus", CORPUS)
    emb = FakeEmbedder()
    common = {"corpus": corpus, "show_progress": False}
    local = Pipeline(Settings(index_dir=tmp_path / "index", **common), embedder=emb)
    shared = Pipeline(Settings(index_dir=tmp_path / "unused", store=url, **common), embedder=emb)
    return local, shared


def test_both_stores_answer_every_question_the_same(tmp_path, pg_url):  # noqa: F811
    local, shared = _pipelines(tmp_path, pg_url)
    local.index()
    report = shared.index()
    assert (report.documents, report.chunks) == (3, sum(r.chunks for r in local.documents().values()))
    assert not (tmp_path / "unused").exists(), "the PostgreSQL store writes no index folder"
    for q in QUESTIONS:
        a, b = local.run(q), shared.run(q)
        assert [h.chunk.chunk_id for h in a.hits] == [h.chunk.chunk_id for h in b.hits], q
        assert a.answer.answer == b.answer.answer, q
        assert [c.chunk_id for c in a.answer.citations] == [c.chunk_id for c in b.answer.citations], q
    assert "1.305" in shared.ask(QUESTIONS[0]).answer


def test_a_document_indexed_by_one_process_is_answered_by_another(tmp_path, pg_url):  # noqa: F811
    _, writer = _pipelines(tmp_path, pg_url)
    writer.index()
    reader = Pipeline(writer.settings, embedder=FakeEmbedder())  # another process: its own connection
    assert "4.120" not in reader.ask("Hà Giang cấp bao nhiêu chứng thư chữ ký số?").answer
    extra = write_files(tmp_path / "more", {"ha_giang.txt": NEW_DOC})
    report = writer.index([extra])
    assert report.embedded > 0 and report.documents == 4
    assert "4.120" in reader.ask("Hà Giang cấp bao nhiêu chứng thư chữ ký số?").answer
    again = writer.index([extra])  # unchanged file: nothing embedded again
    assert again.embedded == 0 and again.reused > 0
    removed, _ = reader.remove(["ha_giang.txt"])
    assert removed.removed == ["ha_giang.txt"]
    assert "ha_giang.txt" not in writer.documents()


def test_rebuild_keeps_exactly_the_given_documents(tmp_path, pg_url):  # noqa: F811
    _, shared = _pipelines(tmp_path, pg_url)
    shared.index()
    only = write_files(tmp_path / "only", {"lao_cai.txt": CORPUS["lao_cai.txt"]})
    report = shared.index([only], rebuild=True)
    assert list(shared.documents()) == ["lao_cai.txt"] and report.documents == 1
    with pytest.raises(InputError, match="--check"):
        shared.check()


def test_cli_index_and_ask_with_store_flag_and_variable(rag_env, pg_url, monkeypatch):  # noqa: F811
    runner = CliRunner()
    done = runner.invoke(main, ["--store", pg_url, "index"])
    assert done.exit_code == 0, done.output
    assert "3 tài liệu" in done.output and "postgresql:" in done.output
    assert not rag_env.index.exists()
    monkeypatch.setenv("RAG_STORE", pg_url)
    asked = runner.invoke(main, ["ask", "Lào Cai tích hợp bao nhiêu dịch vụ công trực tuyến?"])
    assert asked.exit_code == 0, asked.output
    assert "1.305" in asked.output


def test_a_store_setting_that_is_no_url_is_refused(monkeypatch):
    monkeypatch.setenv("RAG_STORE", "mysql://x")
    done = CliRunner().invoke(main, ["ask", "câu hỏi"])
    assert done.exit_code == 1 and "RAG_STORE" in done.output


class _FailsSecond(FakeEmbedder):
    """Dies embedding the second group of passages."""

    def embed_passages(self, texts, show_progress=False):
        if len(self.passage_batches) == 1:
            raise RuntimeError("embedder died")
        return super().embed_passages(texts, show_progress)


def _index_failing_on_the_second_group(tmp_path, url: str) -> Pipeline:
    corpus = write_files(tmp_path / "corpus", CORPUS)
    shared = Pipeline(Settings(corpus=corpus, store=url, show_progress=False), embedder=_FailsSecond())
    with pytest.raises(RuntimeError, match="embedder died"):
        shared.index()
    return shared


def test_an_index_run_that_fails_midway_keeps_the_documents_it_committed(tmp_path, pg_url, monkeypatch):  # noqa: F811
    """Documents are embedded and committed group by group: a run that dies on the second group
    (here the embedder fails) leaves the first one answerable and nothing half-written."""
    monkeypatch.setattr("rag.store.writer.GROUP_CHUNKS", 1)

    shared = _index_failing_on_the_second_group(tmp_path, pg_url)
    docs = shared.documents()
    assert list(docs) == ["da_nang.txt"]
    store = shared.store
    snap = store.snapshot()
    assert len(snap.chunks) == docs["da_nang.txt"].chunks > 0


def test_a_large_first_load_is_written_in_bulk_and_answers_the_same(tmp_path, pg_url, monkeypatch):  # noqa: F811
    """Above BULK_MIN_CHUNKS an empty store is loaded group by group inside bulk(): the same
    answers as the local index, and the deferred search indexes are there afterwards."""
    import psycopg

    from rag.store.postgres import DEFERRED_INDEXES

    monkeypatch.setattr("rag.store.writer.BULK_MIN_CHUNKS", 1)
    local, shared = _pipelines(tmp_path, pg_url)
    local.index()
    shared.index()
    for q in QUESTIONS:
        a, b = local.run(q), shared.run(q)
        assert [h.chunk.chunk_id for h in a.hits] == [h.chunk.chunk_id for h in b.hits], q
        assert a.answer.answer == b.answer.answer, q
    with psycopg.connect(pg_url) as conn:
        assert all(conn.execute("SELECT to_regclass(%s)", [n]).fetchone()[0] for n in DEFERRED_INDEXES)


def test_a_bulk_load_that_fails_midway_keeps_its_first_group_and_its_indexes(tmp_path, pg_url, monkeypatch):  # noqa: F811
    import psycopg

    from rag.store.postgres import DEFERRED_INDEXES

    monkeypatch.setattr("rag.store.writer.BULK_MIN_CHUNKS", 1)
    monkeypatch.setattr("rag.store.writer.GROUP_CHUNKS", 1)

    shared = _index_failing_on_the_second_group(tmp_path, pg_url)
    assert list(shared.documents()) == ["da_nang.txt"]
    with psycopg.connect(pg_url) as conn:  # built again when the load failed, not left to the next open
        assert all(conn.execute("SELECT to_regclass(%s)", [n]).fetchone()[0] for n in DEFERRED_INDEXES)
