"""Bad inputs that used to break a run or give a wrong or unclear result (#11 part B): each
test failed before its fix. The question path's fuzz tests are in test_fuzz_question.py."""

from __future__ import annotations

import json
import os

import pytest
from conftest import FakeEmbedder
from test_cli import _write, run


@pytest.fixture
def env(tmp_path, monkeypatch, make_corpus):
    """As in test_cli: RAG_* into tmp_path, the fake embedder behind Pipeline, the tiny corpus."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_CORPUS", str(make_corpus()))
    monkeypatch.setenv("RAG_SHOW_PROGRESS", "0")
    emb = FakeEmbedder()
    monkeypatch.setattr("rag.pipeline.load_embedder", lambda settings: emb)
    return {"tmp": tmp_path, "index": tmp_path / "index", "embedder": emb}


GOOD = ["Lào Cai tích hợp bao nhiêu dịch vụ công?",
        "Cổng Dịch vụ công quốc gia cung cấp bao nhiêu dịch vụ công trực tuyến?"]


# ------------------------------------------------------------------ rag ask --file (case 6)


def test_ask_file_with_one_bad_line_answers_the_others_and_names_it(env) -> None:
    qfile = _write(env["tmp"] / "q.txt", "\n".join([GOOD[0], "Lào Cai " * 2500, "???", GOOD[1]]) + "\n")
    res = run("ask", "--json", "--file", str(qfile))
    assert res.exit_code == 1
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(objs) == 4  # one JSON line per question, in order, the bad ones included
    assert [o["found"] for o in objs] == [True, False, False, True]
    assert "1.305" in objs[0]["answer"] and "3.552" in objs[3]["answer"]
    assert [o.get("line") for o in objs] == [None, 2, 3, None]
    assert "quá dài" in objs[1]["error"] and "không có chữ hay số" in objs[2]["error"]
    assert f"{qfile}:2: Câu hỏi quá dài" in res.stderr and f"{qfile}:3: Câu hỏi không có chữ" in res.stderr
    assert "2/4" in res.stderr.splitlines()[-1] and "Traceback" not in res.stderr


def test_ask_file_human_output_continues_past_a_bad_line(env) -> None:
    qfile = _write(env["tmp"] / "q.txt", "\n".join([GOOD[0], "x" * 20000, GOOD[1]]) + "\n")
    res = run("ask", "--file", str(qfile))
    assert res.exit_code == 1
    assert "1.305" in res.stdout and "3.552" in res.stdout
    assert f"{qfile}:2:" in res.stderr


def test_ask_file_not_utf8_names_the_line(env) -> None:
    qfile = _write(env["tmp"] / "q.txt", GOOD[0].encode() + b"\nc\xe2u h\xf4i\n")
    res = run("ask", "--file", str(qfile))
    assert res.exit_code == 1 and "dòng / line 2" in res.stderr and res.stdout == ""
