"""The UI's LLM mode with `AppTest`: the sidebar selector, the streamed draft replaced by the
checked answer, and the fallback note — against the fake server of tests/llm_fake_server.py."""

from __future__ import annotations

import pytest

pytest.importorskip("streamlit")
pytest.importorskip("langchain_openai")
import streamlit as st  # noqa: E402
from llm_fake_server import FakeLLM, Sleep  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from ui_apptest import ask, open_page  # noqa: E402

REPLIES = {  # the first keyword found in the question wins
    "chậm": Sleep(5),
    "lào cai": "Lào Cai đã tích hợp 1.305 dịch vụ công trực tuyến [@1.305].",
    "đà nẵng": "Kinh tế số Đà Nẵng đóng góp khoảng 61,5% [@16,5%].",
}


@pytest.fixture
def app_env(rag_env, monkeypatch):
    with FakeLLM(REPLIES) as fake:
        monkeypatch.setenv("RAG_LLM_BASE_URL", fake.url)
        monkeypatch.setenv("RAG_LLM_TIMEOUT", "1")
        st.cache_resource.clear()
        yield fake
        st.cache_resource.clear()


def ask_llm(question: str) -> AppTest:
    at = open_page()
    at.sidebar.radio(key="answerer").set_value("llm").run()
    return ask(at, question)


def test_llm_answer_replaces_the_draft_with_sources(app_env):
    at = ask_llm("Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert [m.name for m in at.chat_message] == ["user", "assistant"]  # the streamed draft is gone
    answer = at.chat_message[1].markdown[0].value
    assert "Lào Cai đã tích hợp 1.305" in answer and "[1]" in answer
    assert any("mô hình ngôn ngữ viết" in c.value for c in at.caption)
    assert "<mark" in at.expander[0].markdown[0].value  # the backing sentence is highlighted
    assert at.session_state.turns[0]["answer"].answerer == "llm"
    assert len(app_env.requests) == 1 and app_env.requests[0]["stream"] is True


@pytest.mark.parametrize("question, reason", [
    ("Kinh tế số Đà Nẵng đóng góp bao nhiêu phần trăm?", "61,5%"),
    ("Lào Cai chậm bao nhiêu dịch vụ công?", "không trả lời trong 1 s"),
])
def test_rejected_or_late_answer_shows_the_quote_and_why(app_env, question, reason):
    at = ask_llm(question)
    notes = [c.value for c in at.caption if "Không dùng câu trả lời của mô hình" in c.value]
    assert len(notes) == 1 and reason in notes[0]
    assert at.session_state.turns[0]["answer"].answerer == "extractive-fallback"
    assert not at.error
