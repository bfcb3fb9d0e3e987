"""Prometheus metrics for `GET /metrics`: requests, latency, answers found or declined.

A registry per app (not prometheus_client's global one), so several apps in one process — the
tests — count separately. Routes are labelled by their template (`/api/documents/{doc_id}`), and
unknown paths as "other", so a scanner cannot blow up the label space.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...types import Answer

# answers take ~30 ms (extractive, warm) to tens of seconds (a local LLM on 2 cores)
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("rag_http_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("rag_http_request_duration_seconds", "Time to the end of the response",
                                 ["method", "route"], buckets=BUCKETS, registry=self.registry)
        self.answers = Counter("rag_answers", "Answers given: found (cited) or declined (not in the documents)",
                               ["outcome", "answerer"], registry=self.registry)

    def count_answer(self, answer: Answer) -> None:
        self.answers.labels("found" if answer.found else "declined", answer.answerer).inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI (no buffering): a streamed answer is timed to its last byte."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "other"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)
