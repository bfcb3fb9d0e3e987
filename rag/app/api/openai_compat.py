"""`POST /v1/chat/completions` and `GET /v1/models`: the assistant as an OpenAI-compatible model.

Why: Open WebUI, bots and anything built on an OpenAI SDK can then ask the assistant without code
of their own. The last user message is the question; the earlier user messages resolve a
follow-up ("Còn Thái Nguyên thì sao?") exactly as the chat UI does (`Pipeline.standalone` over
the standalone questions, oldest first). The reply's content is the cited answer followed by a
"Nguồn" list, because a generic chat client shows only the content; the structured citations ride
along in the extra top-level field `citations` (and `question`, the standalone question searched).

With `stream: true` the reply is sent as `chat.completion.chunk` events once it is checked: an
OpenAI stream cannot take back text, and an LLM draft may be replaced by the extractive fallback.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ...pipeline import Pipeline
from ...types import Answer, Citation
from .auth import User
from .errors import MAX_JSON_BYTES, ApiError

#: model id → answerer (None: the server's RAG_ANSWERER)
MODELS: dict[str, str | None] = {"hoi-dap-cds": None, "hoi-dap-cds-extractive": "extractive",
                                 "hoi-dap-cds-llm": "llm"}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """OpenAI's request body; sampling options (temperature, max_tokens…) are accepted and ignored:
    the answer is quoted from the documents, not sampled."""

    model_config = ConfigDict(extra="allow")
    model: str = "hoi-dap-cds"
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False


def text_of(message: ChatMessage) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(message.content, list):
        return " ".join(str(p.get("text", "")) for p in message.content if p.get("type") == "text")
    return message.content or ""


def standalone_question(messages: list[ChatMessage]) -> tuple[str, str]:
    """(the last user message, the standalone question to search with)."""
    users = [text_of(m) for m in messages if m.role == "user"]
    if not users or messages[-1].role != "user":
        raise ApiError(400, "Tin nhắn cuối phải là câu hỏi của người dùng / the last message must be "
                            "from the user", "invalid_messages")
    history: list[str] = []
    for text in users[:-1]:
        if text.strip():
            history.append(Pipeline.standalone(text.strip(), history).question)
    return users[-1], Pipeline.standalone(users[-1].strip(), history).question


def cited_text(answer: Answer) -> str:
    """The answer as a chat client shows it: the text with its [n], then the sources."""
    if not answer.citations:
        return answer.answer
    lines = [answer.answer, "", "Nguồn:"]
    for c in answer.citations:
        lines.append(f"[{c.n}] {_source_line(c)}" + (f" — “{c.quote}”" if c.quote else ""))
    return "\n".join(lines)


def _source_line(c: Citation) -> str:
    where = ", ".join(x for x in (c.doc, c.date, f"trang {c.page}" if c.page else None) if x)
    return f"{c.title or c.doc} ({where})"


def install(app: FastAPI, engine) -> None:
    """With accounts an OpenAI client's API key is the user's token (`auth.User`), and their
    questions search only what they may read."""

    @app.get("/v1/models", tags=["openai"], summary="Các mô hình (cách trả lời) theo chuẩn OpenAI")
    def models(_: User) -> dict:
        return {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "hoi-dap-cds"}
                                           for m in MODELS]}

    @app.post("/v1/chat/completions", tags=["openai"], max_body_size=MAX_JSON_BYTES,
              summary="Hỏi theo chuẩn OpenAI Chat Completions (`stream` true/false)")
    def chat_completions(req: ChatRequest, user: User) -> Any:
        if req.model not in MODELS:
            raise ApiError(404, f"Không có mô hình / unknown model {req.model!r}: {', '.join(MODELS)}",
                           "model_not_found")
        _, question = standalone_question(req.messages)
        answer = engine.run(question, None, None, MODELS[req.model], user).answer
        content = cited_text(answer)
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()), "model": req.model}
        extra = {"citations": answer.to_json_dict()["citations"], "question": answer.question}
        if not req.stream:
            return {**base, "object": "chat.completion",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}, **extra}

        def chunks() -> Iterator[str]:
            def event(delta: dict, finish: str | None = None, **more: Any) -> str:
                body = {**base, "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **more}
                return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

            yield event({"role": "assistant", "content": ""})
            for line in content.splitlines(keepends=True):
                yield event({"content": line})
            yield event({}, "stop", **extra)
            yield "data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
