"""One error tree for the HTTP edge, rendered in each OpenStack service's own error shape.

Services raise ApiError subclasses (or service and storage errors, which carry their status; the
policy's PolicyDenied is a 403 among the service errors); one handler, found through the
exception's MRO, turns them into the body the service's clients parse:
Keystone's {"error": {...}}, Glance's webob-style {"message", "code", "title"}, and the
{"<faultName>": {"code", "message"}} of Cinder and Nova.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..services.errors import ServiceError
from ..storage.errors import StorageError
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
                405: "badMethod", 409: "conflictingRequest", 413: "overLimit",
                415: "badMediaType", 501: "notImplemented", 503: "serviceUnavailable"}


def error_body(path: str, status: int, message: str) -> dict[str, Any]:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if path.startswith("/identity"):
        return {"error": {"code": status, "message": message, "title": title}}
    if path.startswith("/image"):
        return {"message": message, "code": f"{status} {title}", "title": title}
    return {_FAULT_NAMES.get(status, "computeFault"): {"code": status, "message": message}}


def error_response(request: Request, status: int, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(request.url.path, status, message), status_code=status,
                        headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(request, exc.status, exc.message, exc.headers)

    async def storage_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StorageError)
        return error_response(request, exc.status, str(exc))

    async def service_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)  # policy.PolicyDenied among them: 403
        headers = None
        if exc.status == 401:
            headers = {"WWW-Authenticate": f'Keystone uri="{public_url(request)}/identity"'}
        return error_response(request, exc.status, exc.message, headers)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(request, exc.status_code, str(exc.detail),
                              dict(exc.headers or {}))

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
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
