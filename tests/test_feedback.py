"""Feedback store: one row per answer, WAL, many concurrent writers; export of 👎 items."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.app.cli import main
from rag.app.feedback import DOWN, UP, FeedbackStore, export_negative, to_eval_item
from rag.errors import InputError
from rag.types import Answer, Citation

QUOTE = "tỉnh Lào Cai tích hợp 1.305 dịch vụ công trực tuyến lên Cổng Dịch vụ công quốc gia"


def make_answer(question: str = "Lào Cai tích hợp bao nhiêu dịch vụ công?", found: bool = True) -> Answer:
    cite = Citation(n=1, doc="lao_cai.txt", title="Lào Cai đẩy mạnh dịch vụ công", date="2023-05-10",
                    chunk_id="c1", text=f"Tính đến hết tháng 4, {QUOTE}, tăng 215 dịch vụ.", quote=QUOTE,
                    score=0.9)
    if found:
        return Answer(question, f"{QUOTE} [1]", True, citations=[cite])
    return Answer(question, "Không tìm thấy thông tin này trong tài liệu.", False, related=[cite])


def test_record_update_comment_remove(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    ans = make_answer()
    store.record("a1", UP, ans, question="lao cai tich hop bao nhieu dich vu cong")
    store.record("a1", DOWN, ans)  # changing one's mind updates the same row
    assert store.set_comment("a1", "  Thiếu số liệu năm 2023  ")
    [item] = store.items()
    assert (item.rating, item.comment) == (DOWN, "Thiếu số liệu năm 2023")
    assert item.question == "lao cai tich hop bao nhieu dich vu cong"
    assert item.standalone_question == ans.question and item.answer == ans.answer and item.found
    assert item.citations[0]["quote"] == QUOTE and item.created.endswith("Z")
    store.record("a1", DOWN, ans)  # a re-rating without a comment keeps the comment
    assert store.get("a1").comment == "Thiếu số liệu năm 2023"
    assert not store.set_comment("unknown", "x")
    store.remove("a1")
    assert store.items() == [] and store.counts() == {"up": 0, "down": 0}


def test_store_uses_wal(tmp_path):
    FeedbackStore(tmp_path / "fb.sqlite3")
    with sqlite3.connect(tmp_path / "fb.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("rating", [0, 2, "up"])
def test_bad_rating_is_refused(tmp_path, rating):
    with pytest.raises(InputError):
        FeedbackStore(tmp_path / "fb.sqlite3").record("a", rating, make_answer())


def test_db_path_that_is_a_folder_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="thư mục"):
        FeedbackStore(tmp_path)


def _write_many(path: str, prefix: str, n: int) -> None:
    store = FeedbackStore(Path(path))
    for i in range(n):
        store.record(f"{prefix}-{i}", DOWN if i % 2 else UP, make_answer(f"câu hỏi {prefix} {i}"))
        if i % 5 == 0:
            store.set_comment(f"{prefix}-{i}", f"góp ý {i}")


def test_concurrent_writers_threads_and_processes(tmp_path):
    """Tabs are threads of one server; several servers are processes: nothing may be lost."""
    path = str(tmp_path / "fb.sqlite3")
    FeedbackStore(Path(path))
    threads = [threading.Thread(target=_write_many, args=(path, f"t{j}", 40)) for j in range(4)]
    # other servers are fresh interpreters: a spawned multiprocessing child would re-run whatever
    # module is __main__ in this process (after a Streamlit AppTest, the chat page itself)
    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
              "from test_feedback import _write_many; _write_many(*sys.argv[1:3], int(sys.argv[3]))")
    procs = [subprocess.Popen([sys.executable, "-c", script, path, f"p{j}", "40"]) for j in range(2)]
    for w in threads:
        w.start()
    for w in threads:
        w.join(60)
    assert all(p.wait(120) == 0 for p in procs)
    store = FeedbackStore(Path(path))
    assert len(store.items()) == 6 * 40
    assert store.counts() == {"up": 120, "down": 120}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_export_item_follows_the_eval_format(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.record("a1", DOWN, make_answer(), question="lao cai?", comment="sai tỉnh")
    store.record("a2", UP, make_answer("Câu khác?"))
    store.record("a3", DOWN, make_answer("Yên Bái tích hợp bao nhiêu dịch vụ công?", found=False))
    out = tmp_path / "review.jsonl"
    items = export_negative(store, out)
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert lines == items and len(items) == 2  # only 👎
    first, second = items
    assert {"id", "question", "doc", "evidence", "facts", "kind"} <= set(first)
    assert first["question"] == "Lào Cai tích hợp bao nhiêu dịch vụ công?"
    assert (first["doc"], first["evidence"], first["facts"]) == ("lao_cai.txt", QUOTE, [])
    assert first["kind"] == "number" and first["needs_review"] is True
    assert first["feedback"]["comment"] == "sai tỉnh" and first["feedback"]["typed_question"] == "lao cai?"
    # a refused answer cites nothing: doc/evidence are left for the reviewer
    assert (second["doc"], second["evidence"]) == (None, None)
    assert second["feedback"]["related_docs"] == ["lao_cai.txt"]
    assert "Lào Cai" in out.read_text(encoding="utf-8")  # not ASCII-escaped


def test_long_quote_evidence_is_a_prefix_cut_at_a_word(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    ans = make_answer()
    long_quote = ("Đến nay, 100% thủ tục hành chính của tỉnh đủ điều kiện lên dịch vụ công trực tuyến "
                  "mức độ 4; tích hợp 1.305 dịch vụ công mức độ 3, 4 lên Cổng dịch vụ công Quốc gia, đạt "
                  "81,7%, đứng thứ 3 toàn quốc, và còn nhiều kết quả khác nữa trong năm.")
    ans.citations[0].quote = long_quote
    store.record("a", DOWN, ans)
    [item] = export_negative(store)
    assert len(item["evidence"]) <= 200 and long_quote.startswith(item["evidence"])
    assert not item["evidence"].endswith(" ")


def test_cli_export(tmp_path):
    db = tmp_path / "fb.sqlite3"
    FeedbackStore(db).record("a1", DOWN, make_answer())
    out = tmp_path / "out" / "review.jsonl"
    r = CliRunner().invoke(main, ["feedback", "export", "--db", str(db), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text(encoding="utf-8"))["doc"] == "lao_cai.txt"
    r = CliRunner().invoke(main, ["feedback", "export", "--db", str(db)])
    assert r.exit_code == 0 and json.loads(r.stdout.splitlines()[0])["id"] == "fb-0001"


def test_cli_export_default_db_follows_index_dir(tmp_path, monkeypatch):
    FeedbackStore(tmp_path / "idx" / "feedback.sqlite3").record("a1", DOWN, make_answer())
    r = CliRunner().invoke(main, ["--index-dir", str(tmp_path / "idx"), "feedback", "export"])
    assert r.exit_code == 0 and "lao_cai.txt" in r.stdout


def test_cli_export_without_store_is_a_one_line_error(tmp_path):
    r = CliRunner().invoke(main, ["feedback", "export", "--db", str(tmp_path / "none.sqlite3")])
    assert r.exit_code == 1 and "Chưa có góp ý" in r.output and "Traceback" not in r.output


def test_to_eval_item_kind_falls_back_to_paraphrase():
    from rag.app.feedback import FeedbackItem

    item = FeedbackItem(7, "x", "t", "t", DOWN, "", "q", "Đề án 06 có ý nghĩa gì?", "a", True, [], [], "")
    assert to_eval_item(item)["kind"] == "paraphrase" and to_eval_item(item)["id"] == "fb-0007"
