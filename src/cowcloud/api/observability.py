"""Request ids, structured logs and Prometheus metrics for every request."""

from __future__ import annotations

import json
import logging
import time

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import send_error
from .request_ids import REQUEST_ID_HEADER, new_request_id, request_id

log = logging.getLogger("cowcloud.api")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    _skip = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
               "logger": record.name, "msg": record.getMessage(), "request_id": request_id.get()}
        out.update({k: v for k, v in record.__dict__.items() if k not in self._skip})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("cowcloud")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class _Observe:
    """Request id, metrics and one log line per request, as plain ASGI middleware.

    Starlette's BaseHTTPMiddleware (@app.middleware) pipes every request and response body
    through extra tasks and memory streams; for image uploads and downloads of gigabytes that
    costs a large share of the throughput, so this one only wraps `send`.
    """

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id()
        token = request_id.set(rid)
        start = time.perf_counter()
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # A bug, not the client's fault. Answered here rather than left to Starlette's
            # outermost handler, which re-raises and makes uvicorn drop the connection: the
            # client gets the error shape it parses and the request id to find this by.
            log.exception("unexpected error in %s %s", scope["method"], scope["path"])
            if started:
                raise  # too late for a status: the connection has to break
            await _send_500(scope, send_with_id, rid)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.requests.labels(method, route, str(status)).inc()
            self.latency.labels(method, route).observe(elapsed)
            log.info("%s %s %s", method, scope["path"], status,
                     extra={"status": status, "ms": round(elapsed * 1000, 1)})
            request_id.reset(token)


async def _send_500(scope: Scope, send: Send, rid: str) -> None:
    await send_error(scope, send, 500, "An unexpected error occurred; the server log has it "
                     f"under request id {rid}")


def install_observability(app: FastAPI) -> None:
    registry = CollectorRegistry()  # per app: tests build several apps in one process
    requests = Counter("cowcloud_http_requests_total", "HTTP requests",
                       ["method", "route", "status"], registry=registry)
    latency = Histogram("cowcloud_http_request_seconds", "HTTP request latency",
                        ["method", "route"], registry=registry)
    app.state.metrics_registry = registry

    app.add_middleware(_Observe, requests=requests, latency=latency)

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> dict[str, object]:
        runtime = request.app.state.runtime
        with runtime.db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        clusters = runtime.clusters
        # A cluster still opening (or away) is not an outage of the server: it only makes
        # its own stores unavailable, so it is listed, not failed.
        return {"status": "ok",
                "clusters": [name for name, _ in clusters if clusters.is_open(name)],
                "unavailable": [name for name, _ in clusters if not clusters.is_open(name)]}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
