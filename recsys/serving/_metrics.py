"""Request counts and latency histograms in the Prometheus text format, and the body-size
limit, as one plain ASGI middleware (Starlette's ``BaseHTTPMiddleware`` would cost a task
per request)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import HTTPException
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

Scope = dict[str, Any]


class _TooLarge(HTTPException):
    """Raised while the app reads the body: FastAPI answers an HTTPException as it is (any
    other error while parsing a body becomes a 400)."""

    def __init__(self, limit: int):
        super().__init__(413, f"request body larger than {limit} bytes")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "recsys_http_requests", "HTTP requests", ["method", "route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "recsys_http_request_duration_seconds", "Time to answer a request",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.reload_failures = Counter(
            "recsys_reload_failures", "Snapshot reloads that failed", registry=self.registry
        )
        metrics = self

        class Middleware:
            def __init__(self, app: Any, limit: int):
                self.app, self.limit = app, limit

            async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
                if scope["type"] != "http":
                    await self.app(scope, receive, send)
                    return
                await metrics.handle(self.app, self.limit, scope, receive, send)

        self.middleware = Middleware

    async def handle(self, app: Any, limit: int, scope: Scope, receive: Any, send: Any) -> None:
        start = time.perf_counter()
        status = 500
        started = False

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        seen = 0

        async def receiving() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge(limit)
            return message

        length = dict(scope.get("headers") or []).get(b"content-length")
        try:
            if length is not None and length.isdigit() and int(length) > limit:
                raise _TooLarge(limit)
            await app(scope, receiving, sending)
        except _TooLarge:
            if not started:
                await _too_large(sending, limit)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope.get("method", "")
            self.requests.labels(method, route, str(status)).inc()
            self.latency.labels(method, route).observe(time.perf_counter() - start)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


async def _too_large(send: Any, limit: int) -> None:
    body = b'{"detail":"request body larger than %d bytes"}' % limit
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
