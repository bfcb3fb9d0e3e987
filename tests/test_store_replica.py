"""A PostgreSQL primary and a streaming read replica (real servers on loopback, pg_basebackup -R):
writes go to the primary, questions are answered from the replica, and a reader on the replica
learns of a write without NOTIFY (which does not reach replicas) by polling the version row."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from conftest import CORPUS, FakeEmbedder, write_files
from pg_server import pg_replica, pg_server, pg_url, replica_url  # noqa: F401  (fixtures)
from test_store_pipeline import NEW_DOC

from rag.app.cli import main
from rag.config import Settings
from rag.errors import IndexStateError, InputError
from rag.pipeline import Pipeline
from rag.store.postgres import PostgresStore

QUESTION = "Hà Giang cấp bao nhiêu chứng thư chữ ký số?"


def _settings(tmp_path: Path, url: str, read: str = "") -> Settings:
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        write_files(corpus, CORPUS)
    return Settings(corpus=corpus, index_dir=tmp_path / "unused", store=url, store_read=read, show_progress=False)


def _served_by(store: PostgresStore) -> tuple[int, bool]:
    """The port and recovery state of the server the store's searches read from."""
    with store._reading() as conn:
        return conn.info.port, conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]


def test_questions_go_to_the_replica_and_see_a_write_to_the_primary(tmp_path, pg_url, pg_replica):  # noqa: F811
    read = replica_url(pg_replica, pg_url)
    writer = Pipeline(_settings(tmp_path, pg_url), embedder=FakeEmbedder())
    writer.index()
    reader = Pipeline(_settings(tmp_path, pg_url, read), embedder=FakeEmbedder())
    assert _served_by(reader.store) == (pg_replica.port, True)
    assert "1.305" in reader.ask("Lào Cai tích hợp bao nhiêu dịch vụ công trực tuyến?").answer
    since = reader.store.version()
    assert "4.120" not in reader.ask(QUESTION).answer

    writer.index([write_files(tmp_path / "more", {"ha_giang.txt": NEW_DOC})])
    t0 = time.monotonic()
    changed = reader.store.wait_for_change(since, 10)  # no NOTIFY on a replica: polled
    assert changed is not None and changed != since, "the replica never replayed the write"
    assert time.monotonic() - t0 < 5
    assert "4.120" in reader.ask(QUESTION).answer


def test_a_process_reads_its_own_write_through_the_replica(tmp_path, pg_url, pg_replica):  # noqa: F811
    """Writes go to the primary; the next question of the same process waits for the replica to
    replay them instead of answering from the state before (replay paused here to show it)."""
    import threading

    read = replica_url(pg_replica, pg_url)
    both = Pipeline(_settings(tmp_path, pg_url, read), embedder=FakeEmbedder())
    both.index()
    with psycopg.connect(pg_url, autocommit=True) as primary, \
            psycopg.connect(read, autocommit=True) as replica:
        assert both.store.version() == str(primary.execute("SELECT version FROM corpus_stats").fetchone()[0])
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            replica.execute("UPDATE corpus_stats SET version = 0")
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            both.index([write_files(tmp_path / "more", {"ha_giang.txt": NEW_DOC})])
            assert "ha_giang.txt" in both.documents()  # the document list is the primary's
            answers: list[str] = []
            asking = threading.Thread(target=lambda: answers.append(both.ask(QUESTION).answer))
            asking.start()
            asking.join(1.0)
            assert asking.is_alive() and not answers, "answered from a replica that has not replayed the write"
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")
        asking.join(15)
    assert answers and "4.120" in answers[0]


def test_cli_store_read_flag(tmp_path, pg_url, pg_replica, rag_env):  # noqa: F811
    runner = CliRunner()
    read = replica_url(pg_replica, pg_url)
    done = runner.invoke(main, ["--store", pg_url, "--store-read", read, "index"])
    assert done.exit_code == 0, done.output
    asked = runner.invoke(main, ["--store", pg_url, "--store-read", read, "ask",
                                 "Lào Cai tích hợp bao nhiêu dịch vụ công trực tuyến?"])
    assert asked.exit_code == 0 and "1.305" in asked.output, asked.output


def test_an_unreachable_replica_is_one_clear_bilingual_error(pg_url):  # noqa: F811
    from pg_server import free_port

    emb = FakeEmbedder()
    with pytest.raises(IndexStateError, match="bản sao đọc / cannot connect to the read replica "
                                              r"postgresql://u:\*\*\*@127.0.0.1"):
        PostgresStore(pg_url, emb.model_id, emb.dim, f"postgresql://u:secret@127.0.0.1:{free_port()}/x")


def test_a_replica_url_without_a_primary_is_refused(monkeypatch):
    with pytest.raises(InputError, match="RAG_STORE_READ.*RAG_STORE"):
        Settings(store_read="postgresql://u@127.0.0.1:5434/rag")
    monkeypatch.setenv("RAG_STORE_READ", "mysql://x")
    monkeypatch.setenv("RAG_STORE", "postgresql://u@127.0.0.1/rag")
    done = CliRunner().invoke(main, ["ask", "câu hỏi"])
    assert done.exit_code == 1 and "RAG_STORE_READ" in done.output
