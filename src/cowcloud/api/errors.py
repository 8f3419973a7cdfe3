"""The package's one error tree (cowcloud.errors), rendered in each OpenStack service's own shape.

Every layer raises its kinds, which carry their status (the policy's PolicyDenied is a Denied, a
403); one handler, found through the exception's MRO, turns them into the body the service's
clients parse:
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

from ..errors import (
    Error,
    Invalid,
    MethodNotAllowed,
    NotFound,
    RangeNotSatisfiable,
    TooLarge,
    UnsupportedMediaType,
)
from . import webob_errors
from .auth import public_url

__all__ = ["BadRequest", "MethodNotAllowed", "NotFound", "RangeNotSatisfiable",
           "RequestEntityTooLarge", "UnsupportedMediaType", "error_body", "error_response",
           "install_error_handlers", "render_error", "send_error"]

# The API's own refusals are the package's kinds; these names read as HTTP where routes use them.
BadRequest = Invalid
RequestEntityTooLarge = TooLarge


_FAULT_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
                405: "badMethod", 409: "conflictingRequest", 413: "overLimit",
                415: "badMediaType", 501: "notImplemented", 503: "serviceUnavailable"}


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
    async def error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Error)
        headers = dict(exc.headers)
        if exc.status == 401:
            headers["WWW-Authenticate"] = f'Keystone uri="{public_url(request)}/identity"'
        return error_response(request, exc.status, exc.message, headers or None)

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

    app.add_exception_handler(Error, error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
