"""Every error the API returns: a 4xx/5xx with one JSON line in Vietnamese and English, never a traceback.

The body follows OpenAI's error shape (`{"error": {"message", "type", "code"}}`) so that OpenAI
clients (Open WebUI, the `openai` package) show the message as is on every route.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...errors import AccessError, IndexStateError, InputError, ModelError, RagError

log = logging.getLogger(__name__)

#: JSON bodies are a question (2,000 characters at most) and perhaps a chat history, not documents
MAX_JSON_BYTES = 256 * 1024

_STATUS_TEXT = {
    400: "Yêu cầu không hợp lệ / bad request",
    401: "Cần đăng nhập / authentication required",
    403: "Không có quyền / forbidden",
    404: "Không tìm thấy / not found",
    405: "Phương thức không được hỗ trợ / method not allowed",
    413: "Dữ liệu gửi lên quá lớn / request body too large",
    415: "Kiểu nội dung không được hỗ trợ / unsupported media type",
    503: "Dịch vụ chưa sẵn sàng / service unavailable",
}


class ApiError(Exception):
    """An error with its HTTP status, raised by route code."""

    def __init__(self, status: int, message: str, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def error_body(message: str, code: str, status: int) -> dict:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "code": code}}


def error_response(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(error_body(message, code, status), status_code=status)


def status_for(exc: RagError) -> tuple[int, str]:
    """Bad input is the caller's (400); a missing/broken index or model is the service's (503)."""
    if isinstance(exc, AccessError):
        return 403, "forbidden"
    if isinstance(exc, InputError):
        return 400, "invalid_input"
    if isinstance(exc, (IndexStateError, ModelError)):
        return 503, "index_unavailable"
    return 503, "unavailable"


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "invalid_json", "JSON không hợp lệ / malformed JSON body"
    parts = []
    for e in errors[:3]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body",)) or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return 422, "invalid_request", "Yêu cầu không hợp lệ / invalid request: " + "; ".join(parts)


class JsonTooLarge:
    """Starlette's request-body limit (the routes' `max_body_size`) answers 413 in plain text from
    below the exception handlers; this middleware sends our JSON error in its place."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_json(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 413:
                headers = dict(message.get("headers") or [])
                if not headers.get(b"content-type", b"").startswith(b"application/json"):
                    replaced = True
                    await error_response(413, _STATUS_TEXT[413], "http_413")(scope, receive, send)
                    return
            if not replaced:
                await send(message)

        await self.app(scope, receive, send_json)


def install(app: FastAPI) -> None:
    app.add_middleware(JsonTooLarge)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.code)

    @app.exception_handler(RagError)
    async def _rag(_: Request, exc: RagError) -> JSONResponse:
        status, code = status_for(exc)
        return error_response(status, " ".join(str(exc).split()), code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = _validation_message(exc)
        return error_response(status, message, code)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        text = _STATUS_TEXT.get(exc.status_code, f"HTTP {exc.status_code}")
        return error_response(exc.status_code, text, f"http_{exc.status_code}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        if isinstance(exc, OSError):
            return error_response(503, f"Lỗi hệ thống tệp / file system error: {exc.strerror or exc}", "os_error")
        return error_response(500, "Lỗi máy chủ / internal server error (chi tiết trong nhật ký máy chủ / "
                                   "see the server log)", "internal_error")
