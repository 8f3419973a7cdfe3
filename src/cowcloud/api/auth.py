"""Who is calling: the X-Auth-Token of a request, validated, as a dependency for every API.

    @router.get("/v2/images")
    def list_images(ctx: RequestContext = Depends(get_context)) -> ...

A missing, invalid, expired or revoked token is a 401 in the error shape of the service whose path
was called (the one handler of api.errors renders it, with Keystone's WWW-Authenticate).
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ..services.authn import TokenInfo
from ..services.context import RequestContext
from ..services.errors import AuthenticationFailed
from ..services.passwords import note_request
from ..services.runtime import Runtime
from .request_ids import request_id as current_request_id

AUTH_HEADER = "X-Auth-Token"
# Where a request's validated token is kept: a key of the ASGI scope, since reading a missing
# attribute of request.state raises and catches an exception on every read
TOKEN_KEY = "cowcloud.token_info"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def public_url(request: Request) -> str:
    """Where clients reach cowcloud: the configured public_url, else the address they used."""
    configured = get_runtime(request).settings.server.public_url
    return (configured or str(request.base_url)).rstrip("/")


async def get_token(request: Request) -> TokenInfo:
    """The validated token of the request (validated once per request, however often asked).

    Async, so that a token in the cache costs no trip to a worker thread; one that is not goes
    to the database in a thread. Every such request keeps a core from password hashing for a
    moment (passwords.note_request), so that logins do not make it wait."""
    note_request()
    cached: TokenInfo | None = request.scope.get(TOKEN_KEY)
    if cached is not None:
        return cached
    token = request.headers.get(AUTH_HEADER)
    if not token:
        raise AuthenticationFailed()
    auth = get_runtime(request).auth
    info = auth.validate_cached(token) or await run_in_threadpool(auth.validate, token)
    request.scope[TOKEN_KEY] = info
    return info


async def get_context(request: Request) -> RequestContext:
    return replace((await get_token(request)).context(), request_id=current_request_id.get())
