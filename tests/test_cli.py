"""rag.app.cli: exit codes, one-line errors, the --json contract and --file batches (fake embedder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.app.cli import main

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parent


@pytest.fixture
def env(rag_env):
    """conftest's rag_env as a dict: tmp, corpus, index, embedder."""
    return vars(rag_env)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def _assert_clean_error(result) -> str:
    """Exit 1, no uncaught exception, exactly one one-line 'Lỗi / error:' message, no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Lỗi / error:")]
    assert len(errors) == 1, result.stderr
    assert result.stdout == ""
    return errors[0]


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _garbage_index(env) -> None:
    assert run("index").exit_code == 0
    version = env["index"] / (env["index"] / "CURRENT").read_text(encoding="utf-8").strip()
    (version / "chunks.jsonl").write_text("this is not json\n", encoding="utf-8")


CASES = {
    "empty-question": lambda env: ["ask", ""],
    "blank-question": lambda env: ["ask", "   "],
    "no-question": lambda env: ["ask"],
    "too-long-question": lambda env: ["ask", "Lào Cai " * 300],
    "index-missing-path": lambda env: ["index", str(env["tmp"] / "khong-co")],
    "index-unsupported-extension": lambda env: [
        "index", str(_write(env["tmp"] / "bao-cao.docx", b"PK\x03\x04"))],
    "index-non-utf8-txt-alone": lambda env: [
        "index", str(_write(env["tmp"] / "latin1.txt", b"H\xf2a L\xe2m tr\xe0n \xff"))],
    "index-empty-pdf-alone": lambda env: ["index", str(_write(env["tmp"] / "rong.pdf", b""))],
    "ask-corrupt-index": lambda env: (_garbage_index(env), ["ask", "Lào Cai có bao nhiêu dịch vụ?"])[1],
    "file-missing": lambda env: ["ask", "--file", str(env["tmp"] / "khong-co.txt")],
    "file-non-utf8": lambda env: ["ask", "--file", str(_write(env["tmp"] / "q.txt", b"c\xe2u h\xf4i\n"))],
    "file-empty": lambda env: ["ask", "--file", str(_write(env["tmp"] / "q.txt", "\n  \n"))],
    "file-and-question": lambda env: [
        "ask", "Lào Cai?", "--file", str(_write(env["tmp"] / "q.txt", "Lào Cai có bao nhiêu dịch vụ?\n"))],
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_error_exit_1(env, case: str) -> None:
    args = CASES[case](env)
    _assert_clean_error(run(*args))


def test_corrupt_index_message_says_how_to_fix(env) -> None:
    _garbage_index(env)
    line = _assert_clean_error(run("ask", "Lào Cai có bao nhiêu dịch vụ?"))
    assert "rag index --rebuild" in line


def test_no_usable_file_writes_no_index(env) -> None:
    _assert_clean_error(run("index", str(_write(env["tmp"] / "latin1.txt", b"\xff\xfe"))))
    assert not (env["index"] / "CURRENT").exists()


def test_malformed_env_var_is_a_clean_error(env, monkeypatch) -> None:
    monkeypatch.setenv("RAG_K", "abc")
    _assert_clean_error(run("ask", "Lào Cai có bao nhiêu dịch vụ?"))


def test_index_dir_that_is_a_file_is_a_clean_error(env, monkeypatch) -> None:
    not_a_dir = _write(env["tmp"] / "index-file", "x")
    monkeypatch.setenv("RAG_INDEX_DIR", str(not_a_dir))
    _assert_clean_error(run("ask", "Lào Cai có bao nhiêu dịch vụ?"))


# ------------------------------------------------------------------ happy paths

CITATION_KEYS = {"n", "doc", "title", "date", "chunk_id", "text", "quote", "score"}


def test_index_then_ask_json(env) -> None:
    res = run("index")
    assert res.exit_code == 0, res.stderr
    assert "3 tài liệu" in res.stdout
    res = run("ask", "--json", "Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    assert {"question", "answer", "found", "citations"} <= set(obj)
    assert obj["question"] == "Lào Cai tích hợp bao nhiêu dịch vụ công?"
    assert obj["found"] is True
    assert "1.305" in obj["answer"] and "[1]" in obj["answer"]
    assert obj["citations"]
    for c in obj["citations"]:
        assert CITATION_KEYS <= set(c)
        assert c["quote"] in c["text"]
        assert isinstance(c["score"], float)
    first = obj["citations"][0]
    assert first["n"] == 1 and first["doc"] == "lao_cai.txt" and first["date"] == "2023-05-10"


def test_ask_builds_the_index_on_first_run(env) -> None:
    res = run("ask", "--json", "lao cai tich hop bao nhieu dich vu cong")
    assert res.exit_code == 0, res.stderr
    obj = json.loads(res.stdout)
    assert obj["found"] and obj["citations"][0]["doc"] == "lao_cai.txt"
    assert (env["index"] / "CURRENT").exists()


def test_refusal_json(env) -> None:
    res = run("ask", "--json", "Hà Giang tích hợp bao nhiêu dịch vụ công?")
    assert res.exit_code == 0, res.stderr
    obj = json.loads(res.stdout)
    assert obj["found"] is False
    assert obj["answer"] == "Không tìm thấy thông tin này trong tài liệu."
    assert obj["citations"] == []


def test_file_batch_prints_one_json_line_per_question_in_order(env) -> None:
    questions = [
        "Lào Cai tích hợp bao nhiêu dịch vụ công?",
        "Hà Giang tích hợp bao nhiêu dịch vụ công?",
        "Cổng Dịch vụ công quốc gia cung cấp bao nhiêu dịch vụ công trực tuyến?",
    ]
    qfile = _write(env["tmp"] / "cau-hoi.txt", "\ufeff" + "\n\n".join(questions) + "\n")
    res = run("ask", "--json", "--file", str(qfile))
    assert res.exit_code == 0, res.stderr
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["question"] for o in objs] == questions
    assert [o["found"] for o in objs] == [True, False, True]


def test_human_output_has_sources(env) -> None:
    res = run("ask", "Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert res.exit_code == 0, res.stderr
    assert "[1]" in res.stdout and "Nguồn:" in res.stdout and "lao_cai.txt" in res.stdout


def test_index_reports_skipped_files_and_succeeds(env) -> None:
    _write(env["corpus"] / "latin1.txt", b"\xff\xfe")
    res = run("index")
    assert res.exit_code == 0, res.stderr
    assert "latin1.txt" in res.stderr
    assert "3 tài liệu" in res.stdout


def test_index_report_table_lists_every_file(env) -> None:
    _write(env["corpus"] / "latin1.txt", b"\xff\xfe")
    res = run("index", "--report")
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[:2] == ["tệp", "/"] and set(lines[1]) <= {"-", " "}
    rows = {ln.split()[0]: ln for ln in lines[2:] if ln.strip() and not ln.startswith(("Cảnh", " ", "Đã"))}
    assert {"lao_cai.txt", "latin1.txt"} <= set(rows)
    assert "đã lập" in rows["lao_cai.txt"] and "bỏ qua" in rows["latin1.txt"]
    assert "Cảnh báo / warnings:" in res.stdout


def test_skipped_file_is_reported_once(env) -> None:
    _write(env["corpus"] / "latin1.txt", b"\xff\xfe")
    res = run("-q", "index")
    assert res.exit_code == 0
    assert sum("latin1.txt" in line for line in res.stderr.splitlines()) == 1, res.stderr


_SCRIPT = """
import sys
sys.path[:0] = [{tests!r}, {repo!r}]
import rag.pipeline
from conftest import FakeEmbedder
rag.pipeline.load_embedder = lambda settings: FakeEmbedder()
from rag.app.cli import main
main(sys.argv[1:], prog_name="rag")
"""


def test_quiet_index_prints_nothing_on_stderr(env) -> None:
    script = _SCRIPT.format(tests=str(TESTS_DIR), repo=str(REPO))
    proc = subprocess.run([sys.executable, "-c", script, "-q", "index"], capture_output=True, text=True,
                          env={**os.environ}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr == ""


def test_real_process_error_has_no_traceback(env) -> None:
    script = _SCRIPT.format(tests=str(TESTS_DIR), repo=str(REPO))
    proc = subprocess.run([sys.executable, "-c", script, "ask", "  "], capture_output=True, text=True,
                          env={**os.environ}, timeout=120)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("Lỗi / error: Câu hỏi trống")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr

