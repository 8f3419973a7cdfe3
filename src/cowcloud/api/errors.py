"""One error tree for the HTTP edge, rendered in each OpenStack service's own error shape.

Services raise ApiError subclasses (or service and storage errors, which carry their status; the
policy's PolicyDenied is a 403 among the service errors); one handler, found through the
exception's MRO, turns them into the body the service's clients parse:
Keystone's {"error": {...}}, Glance's webob-style {"message", "code", "title"}, and the
{"<faultName>": {"code", "message"}} of Cinder and Nova. Keystone, Cinder and Nova answer JSON
whatever the Accept header says; Glance's errors follow it (text/html for `*/*`, which is what
python-glanceclient sends and parses: see webob_errors), except the 401, which comes from
keystonemiddleware in front of Glance, in Keystone's JSON.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

from ..services.errors import ServiceError
from ..storage.errors import StorageError
from . import webob_errors
from .auth import public_url


class ApiError(Exception):
    status = 500

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405


class Conflict(ApiError):
    status = 409


class Gone(ApiError):
    status = 410


class RequestEntityTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class RangeNotSatisfiable(ApiError):
    status = 416


class ServiceUnavailable(ApiError):
    status = 503


_FAULT_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
                409: "conflict", 413: "overLimit", 415: "badMediaType", 501: "notImplemented",
                503: "serviceUnavailable"}


def _title(status: int) -> str:
    return HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"


def error_body(path: str, status: int, message: str) -> dict[str, Any]:
    """The JSON error of the service at `path` (Glance's when its client asks for JSON)."""
    title = _title(status)
    if path.startswith("/identity") or (path.startswith("/image") and status == 401):
        return {"error": {"code": status, "message": message, "title": title}}
    if path.startswith("/image"):
        return {"message": message, "code": f"{status} {title}", "title": title}
    return {_FAULT_NAMES.get(status, "computeFault"): {"code": status, "message": message}}


def render_error(path: str, accept: str | None, status: int,
                 message: str) -> tuple[bytes, str]:
    """(body, Content-Type) of an error as the service at `path` answers this Accept header."""
    if path.startswith("/image") and status != 401:
        kind = webob_errors.choose(accept)
        return webob_errors.render(kind, status, _title(status), message)
    return json.dumps(error_body(path, status, message)).encode(), "application/json"


def error_response(request: Request, status: int, message: str,
                   headers: dict[str, str] | None = None) -> Response:
    body, content_type = render_error(request.url.path, request.headers.get("accept"), status,
                                      message)
    return Response(body, status_code=status, headers=headers, media_type=content_type)


async def send_error(scope: Scope, send: Send, status: int, message: str) -> None:
    """error_response for raw ASGI code (middleware that answers before any route runs)."""
    accept = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept"), None)
    body, content_type = render_error(scope["path"], accept, status, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(request, exc.status, exc.message, exc.headers)

    async def storage_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StorageError)
        return error_response(request, exc.status, str(exc))

    async def service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)  # policy.PolicyDenied among them: 403
        headers = None
        if exc.status == 401:
            headers = {"WWW-Authenticate": f'Keystone uri="{public_url(request)}/identity"'}
        return error_response(request, exc.status, exc.message, headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(request, exc.status_code, str(exc.detail),
                              dict(exc.headers or {}))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        return error_response(request, 400, "Invalid input: " + "; ".join(parts))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StorageError, storage_error)
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
