"""A tiny OpenAI-compatible chat server on 127.0.0.1 for the LLM answerer's tests.

POST /v1/chat/completions, plain JSON or SSE streaming (`"stream": true`). The reply is chosen by
the first keyword found in the question (the prompt's "Câu hỏi:" line). A reply may cite
`[@text]`, which becomes `[n]` for the first passage of the prompt containing `text` (`[@!text]`:
the first one without it), so tests do not depend on the retrieval order. `Sleep(s)` replies
after s seconds (a client timeout); `Stall(s)` streams a first piece then stalls; `Status(code)`
answers with an HTTP error.
Everything stays on the loopback interface and stops with the test.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Sleep:
    seconds: float
    reply: str = "Quá muộn [1]."


@dataclass
class Stall:
    seconds: float
    first: str = "Lào Cai đã tích hợp"


@dataclass
class Status:
    code: int
    message: str = "model not loaded"


def question_of(messages: list[dict]) -> str:
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    m = re.search(r"Câu hỏi:\s*(.*)", user)
    return m.group(1) if m else user


def passages_of(messages: list[dict]) -> dict[int, str]:
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    blocks = re.split(r"\n\n(?=\[\d+\] )", user)
    return {int(m.group(1)): b for b in blocks if (m := re.match(r"\[(\d+)\] ", b))}


def resolve(reply: str, messages: list[dict]) -> str:
    """`[@text]` → `[n]` of the first passage holding `text`, `[@!text]` → of the first one not
    holding it (`[0]` if there is none)."""
    passages = passages_of(messages)

    def number(m: re.Match) -> str:
        found = [n for n, text in sorted(passages.items()) if (m.group(2) in text) != bool(m.group(1))]
        return f"[{found[0] if found else 0}]"

    return re.sub(r"\[@(!?)([^\]]+)\]", number, reply)


class FakeLLM:
    def __init__(self, replies: dict[str, object], default: str = "Không tìm thấy thông tin này trong tài liệu.",
                 model: str = "fake-model") -> None:
        self.replies = replies
        self.default = default
        self.model = model
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()  # wake sleeping handlers so nothing outlives the test
        self._server.shutdown()
        self._server.server_close()

    def choose(self, messages: list[dict]) -> object:
        q = question_of(messages).lower()
        for key, reply in self.replies.items():
            if key.lower() in q:
                return reply
        return self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append(body)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                reply = fake.choose(body.get("messages", []))
                if isinstance(reply, Status):
                    self._json(reply.code, {"error": {"message": reply.message, "type": "server_error"}})
                    return
                if isinstance(reply, Sleep):
                    fake._release.wait(reply.seconds)
                    reply = reply.reply
                if body.get("stream"):
                    self._stream(reply, body.get("messages", []))
                else:
                    text = resolve(str(reply), body.get("messages", []))
                    self._json(200, {
                        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                        "model": fake.model,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

            def _json(self, code: int, obj: dict) -> None:
                data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _event(self, delta: dict, finish: str | None = None) -> None:
                chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                         "model": fake.model,
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                self.wfile.flush()

            def _stream(self, reply: object, messages: list[dict]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self._event({"role": "assistant", "content": ""})
                if isinstance(reply, Stall):
                    self._event({"content": reply.first})
                    fake._release.wait(reply.seconds)
                    return
                for piece in re.findall(r"\S+\s*", resolve(str(reply), messages)):
                    self._event({"content": piece})
                self._event({}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        return Handler
