"""Generated answers from an OpenAI-compatible chat model, kept only when they are grounded.

Why a second answerer: teams running a model server (vLLM, Ollama, llama.cpp server, a hosted
API) want fluent, synthesized answers. Why it never stands alone: a small local model, measured
here, invented answers for most unanswerable questions and mis-numbered its citations. So every
answer goes through `grounding.check`, and the extractive answerer is the fallback — when the
server is down, slow or erroring, or the answer fails the check, the user gets the quoted sentence
and the reason (`answerer="extractive-fallback"`, `fallback_reason`), never a hang or a traceback.

LangChain's `ChatOpenAI` is imported only when this answerer is built: `rag ask` with the default
extractive answerer never loads it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from ..config import Settings
from ..errors import RagError
from ..search.query import QuestionInfo
from ..types import Answer, Hit
from ..vi.text import fold
from . import grounding
from .base import NOT_FOUND, citation, not_found
from .extractive import ExtractiveAnswerer

log = logging.getLogger(__name__)

MAX_TOKENS = 320  # a short answer with citations; bounds a runaway generation

SYSTEM_PROMPT = f"""Bạn là trợ lý trả lời câu hỏi về chính sách chuyển đổi số, CHỈ dựa trên các đoạn \
tài liệu được đánh số mà người dùng gửi kèm.
Quy tắc:
1. Trả lời ngắn gọn (một đến ba câu), bằng đúng ngôn ngữ của câu hỏi.
2. Mở đầu bằng số của đoạn chứa câu trả lời, trong ngoặc vuông (như [1] hoặc [3]), sau đó viết câu \
trả lời đầy đủ. Chỉ dùng số của các đoạn có trong danh sách; không bao giờ chỉ trả lời bằng số đoạn.
3. Chép nguyên văn số liệu, ngày tháng và tên riêng từ đoạn tài liệu; không tự tính toán, không suy đoán.
4. Chỉ dùng số liệu nói đúng về đối tượng được hỏi (đúng tỉnh, bộ, năm); số liệu của nơi khác hoặc \
của cả nước không phải là câu trả lời.
5. Nếu các đoạn không chứa câu trả lời, chỉ viết đúng một câu: {NOT_FOUND}"""

_REFUSAL = re.compile(
    r"khong tim thay thong tin|khong co thong tin|tai lieu khong (de cap|neu|noi|co)|"
    r"cac doan (tai lieu )?khong (de cap|neu|noi|chua|co)|"
    r"\bnot found in the (documents?|passages?)\b|\bno information\b|\bdo(es)? not (contain|mention)\b|"
    r"\bcannot find\b|\bcould not find\b")


class LLMConfigError(RagError):
    """The LLM answerer is selected but cannot be set up (package missing, bad setting)."""


def format_passages(hits: list[Hit]) -> str:
    """The numbered passages as the model sees them: [n] title (date) then the text."""
    blocks = []
    for n, h in enumerate(hits, 1):
        c = h.chunk
        head = " — ".join(x for x in (c.title, c.date) if x)
        blocks.append(f"[{n}] {head}\n{c.text.strip()}")
    return "\n\n".join(blocks)


def build_messages(info: QuestionInfo, hits: list[Hit]) -> list[tuple[str, str]]:
    """System rules, then passages and the question. The answer opens with its [n] because the
    local 1.5B model, asked to cite at the end, often left citations out; asked only to open with
    [n], it often stopped there; "[n] rồi câu trả lời đầy đủ" gets both (its echo is cleaned)."""
    user = (f"Các đoạn tài liệu:\n\n{format_passages(hits)}\n\n"
            f"Câu hỏi: {info.text}\n"
            "Trả lời ([n] rồi câu trả lời đầy đủ):")
    return [("system", SYSTEM_PROMPT), ("user", user)]


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(fold(text)))


def clean_reply(text: str) -> str:
    """The model's answer without a leading "Trả lời:" label, the prompt's "rồi" echoed after the
    opening [n] ("[1] rồi câu trả lời đầy đủ: …"), or surrounding space."""
    text = re.sub(r"^(trả lời|câu trả lời|answer)\s*:\s*", "", text.strip(), flags=re.IGNORECASE)
    return re.sub(r"^((?:\[\d+\]\s*)+)rồi\s+(?:câu trả lời đầy đủ\s*:\s*)?", r"\1", text).strip()


def content_of(message: Any) -> str:
    """Text of a LangChain message or chunk (its content may be a list of parts)."""
    content = getattr(message, "content", message)
    if isinstance(content, list):
        return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in content)
    return str(content or "")


def describe_error(exc: BaseException, settings: Settings) -> str:
    """One line a user can act on, for any failure talking to the server."""
    import httpx
    import openai

    where = settings.llm_base_url
    if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException, TimeoutError)):
        return (f"máy chủ LLM không trả lời trong {settings.llm_timeout:g} s / "
                f"the LLM server timed out ({where})")
    if isinstance(exc, (openai.APIConnectionError, httpx.TransportError, ConnectionError)):
        return f"không kết nối được máy chủ LLM / cannot reach the LLM server at {where}"
    if isinstance(exc, openai.APIStatusError):
        detail = " ".join(str(exc.message).split())[:160]
        return f"máy chủ LLM trả lỗi HTTP {exc.status_code} / LLM server error: {detail}"
    return f"lỗi khi gọi máy chủ LLM / LLM call failed: {type(exc).__name__}: {exc}"[:240]


def make_chat_model(settings: Settings) -> Any:
    """LangChain's ChatOpenAI pointed at the configured server: no retries (the fallback is the
    retry), deterministic, and `max_tokens` in the body, which llama.cpp and vLLM honour (ChatOpenAI
    itself would send only OpenAI's newer `max_completion_tokens`)."""
    if not settings.llm_base_url:
        raise LLMConfigError("Thiếu RAG_LLM_BASE_URL / llm_base_url is empty (e.g. http://127.0.0.1:8000/v1)")
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise LLMConfigError("Chưa cài langchain-openai / langchain-openai is not installed: "
                             "pip install -e '.[llm]'") from None
    return ChatOpenAI(base_url=settings.llm_base_url, model=settings.llm_model,
                      api_key=settings.llm_api_key or "not-needed", timeout=settings.llm_timeout,
                      max_retries=0, temperature=0, extra_body={"max_tokens": MAX_TOKENS})


class LLMAnswerer:
    """Answerer protocol over a LangChain chat model (anything with `invoke` and `stream`)."""

    name = "llm"

    def __init__(self, chat: Any, fallback: ExtractiveAnswerer, settings: Settings) -> None:
        self.chat = chat
        self.fallback = fallback
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: Settings, fallback: ExtractiveAnswerer) -> LLMAnswerer:
        return cls(make_chat_model(settings), fallback, settings)

    def answer(self, info: QuestionInfo, hits: list[Hit]) -> Answer:
        if not hits:
            return self._refusal(info, hits)
        try:
            reply = content_of(self.chat.invoke(build_messages(info, hits)))
        except Exception as e:  # any failure of an optional remote service falls back, never raises
            return self._failed(info, hits, e)
        return self.finish(info, hits, reply)

    def stream(self, info: QuestionInfo, hits: list[Hit]) -> AnswerStream:
        return AnswerStream(self, info, hits)

    def finish(self, info: QuestionInfo, hits: list[Hit], reply: str) -> Answer:
        """The model's full reply → a grounded Answer, a refusal, or the extractive fallback."""
        text = clean_reply(reply)
        if not text:
            return self.fallback_answer(info, hits, "mô hình trả về câu trả lời rỗng / empty reply")
        if is_refusal(text):
            return self._refusal(info, hits)
        check = grounding.check(text, info, [h.chunk for h in hits], self.fallback.constraints_ok)
        if not check.ok:
            return self.fallback_answer(info, hits, f"câu trả lời của mô hình không qua kiểm tra / "
                                                    f"ungrounded: {check.reason}")
        return Answer(question=info.text, answer=text, found=True,
                      citations=[citation(n, hits[n - 1], check.quotes.get(n, "")) for n in check.cited],
                      related=[citation(n, h) for n, h in enumerate(hits, 1) if n not in check.cited],
                      confidence=round(check.coverage, 4), answerer=self.name)

    def fallback_answer(self, info: QuestionInfo, hits: list[Hit], reason: str) -> Answer:
        log.info("LLM answer not used: %s", reason)
        ans = self.fallback.answer(info, hits)
        ans.answerer = "extractive-fallback"
        ans.fallback_reason = reason
        return ans

    def _failed(self, info: QuestionInfo, hits: list[Hit], exc: BaseException) -> Answer:
        log.debug("LLM call failed", exc_info=exc)
        return self.fallback_answer(info, hits, describe_error(exc, self.settings))

    def _refusal(self, info: QuestionInfo, hits: list[Hit]) -> Answer:
        ans = not_found(info, hits)
        ans.answerer = self.name
        return ans


class AnswerStream:
    """Iterate for the model's text as it arrives (the UI's `st.write_stream`); afterwards
    `answer` holds the checked Answer — possibly the fallback, so the UI replaces the streamed
    draft with it. A server error ends the iteration quietly instead of raising."""

    def __init__(self, answerer: LLMAnswerer, info: QuestionInfo, hits: list[Hit]) -> None:
        self._answerer = answerer
        self._info = info
        self._hits = hits
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        a, info, hits = self._answerer, self._info, self._hits
        if not hits:
            self.answer = a._refusal(info, hits)
            return
        parts: list[str] = []
        try:
            for chunk in a.chat.stream(build_messages(info, hits)):
                piece = content_of(chunk)
                if piece:
                    parts.append(piece)
                    yield piece
        except Exception as e:  # as in LLMAnswerer.answer: fall back, never raise into the UI
            self.answer = a._failed(info, hits, e)
            return
        self.answer = a.finish(info, hits, "".join(parts))
