"""`rag serve`: the assistant over HTTP for the portal, bots and OpenAI clients (Open WebUI).

One `Pipeline` per process, loaded at startup and shared by every request. Its index, retriever
and embedder are not made for concurrent use, so everything that touches them runs under one
lock — a warm extractive answer takes ~30–50 ms, so requests queue briefly instead of racing
(`tests/test_api.py` asks 50 different questions at once and checks each gets its own answer).
An LLM answer holds the lock only for the search: the model's reply streams outside it, as in the
chat UI. Uploads hold it for their indexing, then the next request sees the new index version.

Accounts (issue #14): once `rag user add` has made one, every route but `/healthz` and
`/metrics` needs `Authorization: Bearer <token>` of a user (`rag user token NAME`); questions
search only the collections that user may read, uploads and deletes need an editor of the
document's collection (or an admin). With no account the API is as before: open to read and ask,
and RAG_API_TOKEN, when set, guards the routes that change documents.

Routes: `POST /api/ask` (exactly the `rag ask --json` object), `POST /api/ask/stream` (SSE),
`GET/POST /api/documents`, `DELETE /api/documents/{doc_id}`, `POST /v1/chat/completions` and
`GET /v1/models` (OpenAI-compatible, `openai_compat.py`), `GET /healthz`, `GET /metrics`;
OpenAPI docs at `/docs`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import FastAPI, File, Form, UploadFile
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ...accounts.access import open_accounts
from ...accounts.users import Account, AccountStore, check_name
from ...config import ANSWERERS, Settings, load_settings
from ...errors import RagError
from ...pipeline import MAX_QUESTION_CHARS, Pipeline, Result
from ...types import DEFAULT_COLLECTION, SearchFilter
from ..uploads import add_upload, remove_documents
from . import errors
from .auth import Editor, User
from .errors import MAX_JSON_BYTES, ApiError
from .metrics import Metrics, MetricsMiddleware

log = logging.getLogger(__name__)



def upload_body_limit(settings: Settings) -> int | None:
    """A multipart upload may be the per-file cap (RAG_MAX_FILE_MB, 0 = none) plus its framing."""
    return int(settings.max_file_mb * 2**20) + 64 * 1024 if settings.max_file_mb else None


@dataclass
class Engine:
    """The process's one pipeline and the lock that serialises its use."""

    pipeline: Pipeline
    metrics: Metrics = field(default_factory=Metrics)
    lock: threading.Lock = field(default_factory=threading.Lock)
    loaded: Any = None  # the index version (store.index.LoadedIndex) the last request used
    startup_error: str | None = None

    def current(self) -> Any:
        """Under the lock: the current index version (reloaded when another process changed it)."""
        self.loaded = self.pipeline.ensure_index()
        return self.loaded

    accounts: AccountStore | None = None

    def run(self, question: str, k: int | None, flt: SearchFilter | None, answerer: str | None,
            user: Account | None = None) -> Result:
        readable = user.readable if user else None
        with self.lock:
            check_filter(self.current(), flt, readable)
            result = self.pipeline.run(question, k=k, flt=flt, answerer=answerer, readable=readable)
        self.audit_ask(user, question)
        self.metrics.count_answer(result.answer)
        return result

    def audit_ask(self, user: Account | None, question: str) -> None:
        if user is not None and self.accounts is not None:
            text = question if self.pipeline.settings.audit_questions else ""
            self.accounts.audit.record(user.name, "ask", f"api {text}".strip())


def check_filter(loaded: Any, flt: SearchFilter | None, readable: frozenset[str] | None = None) -> None:
    """A filter naming a document the index does not have is a mistake, not an empty search; a
    document the caller may not read is one the index does not have, for them."""
    docs = loaded.meta.documents
    known = {d for d, r in docs.items() if readable is None or r.collection in readable}
    unknown = sorted((flt.doc_ids or set()) - known) if flt else []
    if unknown:
        raise ApiError(400, f"Không có tài liệu / unknown document: {', '.join(unknown)[:200]} "
                            "(xem GET /api/documents)", "unknown_document")


# ------------------------------------------------------------------ request bodies

class Filters(BaseModel):
    """Restrict the search like the chat UI's sidebar: some documents and/or a date range."""

    model_config = ConfigDict(extra="forbid")
    docs: list[str] | None = Field(None, description="doc_id values from GET /api/documents")
    date_from: date | None = None
    date_to: date | None = None

    def to_search_filter(self) -> SearchFilter | None:
        if self.docs is None and self.date_from is None and self.date_to is None:
            return None
        return SearchFilter(doc_ids=set(self.docs) if self.docs is not None else None,
                            date_from=self.date_from.isoformat() if self.date_from else None,
                            date_to=self.date_to.isoformat() if self.date_to else None)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"question": "Lào Cai tích hợp bao nhiêu dịch vụ công?", "k": 5}]})
    question: str = Field(..., description=f"1–{MAX_QUESTION_CHARS} ký tự / characters")
    k: int | None = Field(None, ge=1, le=50, description="số nguồn / number of passages (default 5)")
    filters: Filters | None = None
    answerer: Literal[ANSWERERS] | None = Field(None, description="default: RAG_ANSWERER")  # type: ignore[valid-type]


def _record(value: object) -> dict:
    """An index's document record as a dict, whether stored as a dict or a dataclass."""
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else dict(value)  # type: ignore[arg-type]


def _document_json(doc_id: str, value: object) -> dict:
    rec = _record(value)
    return {"id": doc_id, "title": rec.get("title") or "", "source": rec.get("source") or "",
            "date": rec.get("date"), "chunks": rec.get("chunks", 0), "doc_number": rec.get("doc_number")}


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


# ------------------------------------------------------------------ the app

def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    """The API over `pipeline` (default: one built from `settings`, or from RAG_* variables).
    `uvicorn --factory rag.app.api:create_app` builds it the same way."""
    if pipeline is None:
        pipeline = Pipeline(settings or load_settings(show_progress=False))
    engine = Engine(pipeline, accounts=open_accounts(pipeline.settings))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        def load() -> None:
            try:
                with engine.lock:
                    engine.current()
                engine.pipeline.expect_many_questions()  # warm query runtime, loaded in background
            except (RagError, OSError) as e:  # serve anyway: /healthz says why, /api/ask answers 503
                engine.startup_error = str(e)
                log.error("Không nạp được chỉ mục / index not loaded: %s", e)

        await run_in_threadpool(load)
        yield

    app = FastAPI(title="Hỏi đáp chính sách chuyển đổi số", version="1", lifespan=lifespan,
                  description="Câu trả lời tiếng Việt có trích dẫn nguồn / Vietnamese answers with citations.")
    app.state.engine = engine
    errors.install(app)
    accounts = engine.accounts
    assert accounts is not None

    app.add_middleware(MetricsMiddleware, metrics=engine.metrics)

    @app.post("/api/ask", tags=["ask"], max_body_size=MAX_JSON_BYTES,
              summary="Trả lời một câu hỏi (đúng đối tượng của `rag ask --json`)")
    def ask(req: AskRequest, user: User) -> dict:
        flt = req.filters.to_search_filter() if req.filters else None
        return engine.run(req.question, req.k, flt, req.answerer, user).answer.to_json_dict()

    @app.post("/api/ask/stream", tags=["ask"], max_body_size=MAX_JSON_BYTES,
              summary="Trả lời dạng server-sent events: `delta` (chữ đang viết), rồi `answer`",
              response_class=StreamingResponse)
    def ask_stream(req: AskRequest, user: User) -> StreamingResponse:
        """`event: delta` events carry the answer's text as it is written (the LLM answerer's
        draft; the extractive answer comes in one piece); the last event, `answer`, is the checked
        `rag ask --json` object, which replaces the draft — for an LLM possibly the extractive
        fallback. The search runs under the engine lock, the writing outside it."""
        flt = req.filters.to_search_filter() if req.filters else None
        readable = user.readable if user else None
        with engine.lock:  # errors here (empty question, no index) are plain 4xx/5xx responses
            check_filter(engine.current(), flt, readable)
            streaming = engine.pipeline.stream(req.question, k=req.k, flt=flt, answerer=req.answerer,
                                               readable=readable)
        engine.audit_ask(user, req.question)

        def events() -> Iterator[str]:
            for piece in streaming:
                yield _sse("delta", {"text": piece})
            answer = streaming.result().answer
            engine.metrics.count_answer(answer)
            yield _sse("answer", answer.to_json_dict())

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/documents", tags=["documents"], summary="Các tài liệu đã lập chỉ mục")
    def list_documents(user: User) -> dict:
        readable = user.readable if user else None
        docs = [_document_json(doc_id, rec) for doc_id, rec in engine.pipeline.documents(readable).items()]
        docs.sort(key=lambda d: (d["date"] or "", d["id"]), reverse=True)
        return {"documents": docs, "chunks": sum(d["chunks"] for d in docs)}

    @app.post("/api/documents", tags=["documents"], status_code=201,
              max_body_size=upload_body_limit(engine.pipeline.settings),
              summary="Thêm tài liệu (multipart, trường `file`, tùy chọn `collection`): kiểm tra như giao "
                      "diện chat, chỉ mục nguyên tử")
    def upload_document(file: Annotated[UploadFile, File(description="tài liệu .txt, .pdf, .docx…")],
                        user: Editor,
                        collection: Annotated[str | None, Form(description="bộ sưu tập (mặc định chung)")] = None,
                        ) -> dict:
        data = file.file.read()
        target = upload_collection(user, collection)
        with engine.lock:
            res = add_upload(engine.pipeline, file.filename or "", data, target,
                             user.editable if user else None)
            engine.current()
        if user is not None:
            accounts.audit.record(user.name, "upload", f"api {res.doc_id} collection={target}")
        return {"id": res.doc_id, "title": res.title, "source": res.path.name, "chunks": res.chunks,
                "replaced": res.replaced, "warnings": res.warnings, "collection": target or DEFAULT_COLLECTION}

    @app.delete("/api/documents/{doc_id}", tags=["documents"],
                summary="Xóa một tài liệu khỏi chỉ mục (và bản tải lên của nó)")
    def delete_document(doc_id: str, user: Editor) -> dict:
        readable, editable = (user.readable, user.editable) if user else (None, None)
        with engine.lock:
            if doc_id not in engine.pipeline.documents(readable):
                raise ApiError(404, f"Không có tài liệu / unknown document: {doc_id} (xem GET /api/documents)",
                               "unknown_document")
            _, removed = remove_documents(engine.pipeline, [doc_id], readable, editable)
            engine.current()
        if user is not None:
            accounts.audit.record(user.name, "remove", f"api {doc_id}")
        return {"removed": sorted(removed)}

    @app.get("/healthz", tags=["ops"], summary="Chỉ mục đã nạp, kho chỉ mục đọc được")
    def healthz() -> Response:
        try:
            store_ok = engine.pipeline.has_index()  # CURRENT names a version folder that is there
        except (RagError, OSError):
            store_ok = False
        loaded = engine.loaded
        ok = loaded is not None and store_ok
        body = {"status": "ok" if ok else "unavailable", "index_loaded": loaded is not None,
                "store_reachable": store_ok,
                "documents": len(loaded.meta.documents) if loaded else 0,
                "chunks": loaded.meta.n_chunks if loaded else 0,  # a store read in place loads no passage
                "index_version": loaded.path.name if loaded else None}
        if engine.startup_error and loaded is None:
            body["error"] = engine.startup_error
        return Response(json.dumps(body, ensure_ascii=False), status_code=200 if ok else 503,
                        media_type="application/json")

    @app.get("/metrics", tags=["ops"], summary="Chỉ số Prometheus", response_class=Response)
    def metrics() -> Response:
        data, content_type = engine.metrics.render()
        return Response(data, media_type=content_type)

    from .openai_compat import install as install_openai

    install_openai(app, engine)
    return app


def upload_collection(user: Account | None, asked: str | None) -> str | None:
    """Where an upload goes: the collection asked for; else `chung` if the user may add there,
    else their one editable collection. None: the single-user API (the default collection)."""
    if asked:
        return check_name(asked, "tên bộ sưu tập / collection name")
    if user is None:
        return None
    if user.may_edit(DEFAULT_COLLECTION):
        return DEFAULT_COLLECTION
    editable = sorted(user.editable or ())
    if len(editable) == 1:
        return editable[0]
    raise ApiError(400, "Hãy nêu bộ sưu tập / name the collection (trường `collection`): "
                        + ", ".join(editable), "collection_required")
