"""`rag serve` for chat clients: SSE streaming of `/api/ask/stream`, and `/v1/chat/completions`
through the official `openai` Python client (plain and streamed, follow-ups, errors).

A real uvicorn server on loopback with the fake embedder; the LLM answerer talks to the fake
OpenAI-compatible model server of `llm_fake_server.py`, also on loopback.
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from api_server import LiveServer
from conftest import CORPUS, FakeEmbedder, write_files
from llm_fake_server import FakeLLM

from rag.app.api import create_app
from rag.config import Settings
from rag.pipeline import Pipeline

pytest.importorskip("langchain_openai")

LAO_CAI_Q = "Lào Cai tích hợp bao nhiêu dịch vụ công trực tuyến?"
REPLIES = {
    "lào cai tích hợp": "Lào Cai đã tích hợp 1.305 dịch vụ công trực tuyến [@1.305].",
    "đà nẵng": "Kinh tế số Đà Nẵng đóng góp khoảng 61,5% GRDP [@16,5%].",  # an invented number
}


@pytest.fixture(scope="module")
def fake_llm():
    with FakeLLM(REPLIES) as fake:
        yield fake


@pytest.fixture(scope="module")
def url(tmp_path_factory, fake_llm):
    root = tmp_path_factory.mktemp("chat")
    settings = Settings(corpus=write_files(root / "corpus", CORPUS), index_dir=root / "index", show_progress=False,
                        llm_base_url=fake_llm.url, llm_model="fake-model", llm_timeout=10.0)
    server = LiveServer(create_app(pipeline=Pipeline(settings, embedder=FakeEmbedder()))).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0, timeout=60)


def sse_events(url: str, body: dict) -> list[tuple[str, dict]]:
    """(event, data) pairs of a server-sent event stream, read as it arrives."""
    events, name = [], "message"
    with httpx.stream("POST", f"{url}/api/ask/stream", json=body, timeout=60) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    return events


# ------------------------------------------------------------------ /api/ask/stream

def test_stream_llm_sends_the_draft_then_the_checked_answer(url, fake_llm):
    events = sse_events(url, {"question": LAO_CAI_Q, "answerer": "llm"})
    deltas = [d["text"] for e, d in events if e == "delta"]
    assert len(deltas) > 3 and "1.305" in "".join(deltas)  # the model's words, piece by piece
    assert [e for e, _ in events][-1] == "answer" and [e for e, _ in events].count("answer") == 1
    final = events[-1][1]
    assert final["answerer"] == "llm" and final["found"] and "1.305" in final["answer"]
    assert final["citations"] and final["citations"][0]["doc"] == "lao_cai.txt"
    assert fake_llm.requests[-1]["stream"] is True


def test_stream_llm_invented_number_falls_back(url):
    events = sse_events(url, {"question": "Kinh tế số Đà Nẵng đóng góp bao nhiêu phần trăm GRDP?",
                              "answerer": "llm"})
    assert "61,5%" in "".join(d["text"] for e, d in events if e == "delta")
    final = events[-1][1]
    assert final["answerer"] == "extractive-fallback" and "61,5%" not in final["answer"]
    assert final["fallback_reason"]


def test_stream_extractive_is_the_answer_in_one_piece_then_ask_json(url):
    events = sse_events(url, {"question": LAO_CAI_Q})
    plain = httpx.post(f"{url}/api/ask", json={"question": LAO_CAI_Q}, timeout=60).json()
    assert events == [("delta", {"text": plain["answer"]}), ("answer", plain)]


def test_stream_bad_input_is_a_json_error_not_a_stream(url):
    resp = httpx.post(f"{url}/api/ask/stream", json={"question": " "}, timeout=60)
    assert resp.status_code == 400 and "empty question" in resp.json()["error"]["message"]


# ------------------------------------------------------------------ the official openai client

def test_models_are_listed(client):
    assert {m.id for m in client.models.list()} >= {"hoi-dap-cds", "hoi-dap-cds-llm"}


def test_chat_completion_cites_its_sources(client):
    done = client.chat.completions.create(model="hoi-dap-cds", messages=[{"role": "user", "content": LAO_CAI_Q}])
    content = done.choices[0].message.content
    answer, _, sources = content.partition("\n\nNguồn:\n")
    assert "1.305" in answer and "[1]" in answer
    assert sources.startswith("[1] Lào Cai đẩy mạnh cung cấp dịch vụ công trực tuyến (lao_cai.txt, 2023-05-10)")
    citations = done.model_extra["citations"]
    assert citations[0]["doc"] == "lao_cai.txt" and citations[0]["quote"] in citations[0]["text"]
    assert f"“{citations[0]['quote']}”" in sources
    assert done.choices[0].finish_reason == "stop"


def test_chat_stream_gives_the_same_content(client):
    messages = [{"role": "user", "content": LAO_CAI_Q}]
    whole = client.chat.completions.create(model="hoi-dap-cds", messages=messages).choices[0].message.content
    parts, extra = [], {}
    for chunk in client.chat.completions.create(model="hoi-dap-cds", messages=messages, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        extra.update(chunk.model_extra or {})
    assert len(parts) > 1 and "".join(parts) == whole
    assert extra["citations"][0]["doc"] == "lao_cai.txt"


def test_follow_up_is_resolved_from_earlier_turns(client):
    messages = [
        {"role": "system", "content": "Bạn là trợ lý."},
        {"role": "user", "content": "Đà Nẵng tích hợp bao nhiêu dịch vụ công trực tuyến?"},
        {"role": "assistant", "content": "Không tìm thấy thông tin này trong tài liệu."},
        {"role": "user", "content": [{"type": "text", "text": "Còn Lào Cai thì sao?"}]},
    ]
    done = client.chat.completions.create(model="hoi-dap-cds", messages=messages)
    assert done.model_extra["question"] == "Lào Cai tích hợp bao nhiêu dịch vụ công trực tuyến?"
    assert "1.305" in done.choices[0].message.content


def test_unanswerable_is_declined_without_sources(client):
    done = client.chat.completions.create(model="hoi-dap-cds",
                                          messages=[{"role": "user", "content": "Cà Mau có bao nhiêu dịch vụ công?"}])
    assert done.choices[0].message.content == "Không tìm thấy thông tin này trong tài liệu."
    assert done.model_extra["citations"] == []


def test_llm_model_answers_through_the_grounded_llm(client, fake_llm):
    done = client.chat.completions.create(model="hoi-dap-cds-llm", messages=[{"role": "user", "content": LAO_CAI_Q}])
    assert "Lào Cai đã tích hợp 1.305" in done.choices[0].message.content
    assert "Câu hỏi: Lào Cai tích hợp" in fake_llm.requests[-1]["messages"][-1]["content"]


@pytest.mark.parametrize("kwargs, error, words", [
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": "Lào Cai?"}]}, openai.NotFoundError,
     ["unknown model"]),
    ({"model": "hoi-dap-cds", "messages": []}, openai.UnprocessableEntityError, ["messages"]),
    ({"model": "hoi-dap-cds", "messages": [{"role": "user", "content": ""}]}, openai.BadRequestError,
     ["empty question"]),
    ({"model": "hoi-dap-cds", "messages": [{"role": "user", "content": "Lào Cai?"},
                                           {"role": "assistant", "content": "…"}]},
     openai.BadRequestError, ["last message"]),
])
def test_chat_errors_reach_the_client_as_messages(client, kwargs, error, words):
    with pytest.raises(error) as info:
        client.chat.completions.create(**kwargs)
    message = info.value.body["message"] if isinstance(info.value.body, dict) else str(info.value)
    assert " / " in message and all(w in message for w in words), message
