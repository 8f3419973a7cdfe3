"""A cap on request bodies, except where image data streams in.

Identity routes parse their JSON with FastAPI, which reads the whole body into memory first: with
no cap, one POST of a few GiB holds a few GiB. Keystone refuses bodies over its
max_request_body_size (112 KiB) with 413; cowcloud does the same for every route but the image
data ones (PUT .../file and .../stage), whose bodies are streamed and bounded by the image size cap.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import send_error

MAX_BODY_BYTES = 114688  # Keystone's max_request_body_size default
DRAIN_MAX = 16 << 20  # an oversized body up to this is read (and dropped) before the 413
LARGER = {"/image": 256 << 10}  # image metadata (api/image/common.MAX_JSON_BYTES)
DATA_ROUTE = re.compile(r"^/image/v2/images/[^/]+/(file|stage)$")


def limit_for(path: str) -> int | None:
    if DATA_ROUTE.match(path):
        return None
    return next((n for prefix, n in LARGER.items() if path.startswith(prefix)), MAX_BODY_BYTES)


class BodyLimit:
    """413 up front when Content-Length says too much; a chunked body is counted as it comes,
    and the route reading it fails with 413 (its handler's error shape) once it is too much."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = limit_for(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            # Read what was sent before answering: closing a connection with unread data in it
            # makes the kernel reset it, and the client sees a broken connection, not the 413.
            # Past DRAIN_MAX the sender is not owed that much reading.
            if int(declared) <= DRAIN_MAX:
                await _drain(receive)
            await _refuse(scope, send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                if message.get("more_body"):
                    await _drain(receive)  # as above: no reset instead of the answer
                # an HTTPException: FastAPI's body parsing passes those on (anything else it
                # turns into a 400), and api.errors renders it in the service's shape
                raise HTTPException(413, _message(limit))
            return message

        await self.app(scope, counted, send)


async def _drain(receive: Receive, most: int = DRAIN_MAX) -> None:
    """Reads and drops the rest of a body, up to `most` bytes."""
    read = 0
    while read <= most:
        message = await receive()
        read += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return


def _message(limit: int) -> str:
    return f"Request is too large: the body may hold at most {limit} bytes"


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    await send_error(scope, send, 413, _message(limit))
