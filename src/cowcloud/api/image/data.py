"""Image data: PUT/GET /image/v2/images/{id}/file and PUT .../stage, streamed both ways.

The request body goes to the service as it arrives (never buffered whole); a client that goes
away mid-upload ends it like a truncated body: the service removes what was written. Downloads
stream the image's extents, holes as zeros; `Range` (one range) gives 206 with Content-Range.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.requests import ClientDisconnect

from ...services.context import RequestContext
from ...services.images.data import RangeError
from ..auth import get_context
from ..errors import BadRequest, RangeNotSatisfiable, UnsupportedMediaType
from .common import images, no_content, size_header

router = APIRouter(prefix="/image/v2")
Ctx = Depends(get_context)
RANGE = re.compile(r"^bytes=(\d{0,30})-(\d{0,30})$", re.ASCII)  # bounded: int() limit


def _octet_stream(request: Request) -> None:
    ctype = request.headers.get("content-type", "application/octet-stream").split(";")[0]
    if ctype.strip() != "application/octet-stream":
        raise UnsupportedMediaType(f"Image data must be sent as application/octet-stream, "
                                   f"not {ctype}")


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


@router.put("/images/{image_id}/file", status_code=204)
async def upload(image_id: str, request: Request, ctx: RequestContext = Ctx) -> Response:
    _octet_stream(request)
    size = size_header(request)
    try:
        await images(request).upload(ctx, image_id, _body(request), size=size,
                                     store=request.headers.get("x-image-meta-store"))
    except ClientDisconnect:
        raise BadRequest("The upload was interrupted before all image data arrived") from None
    return no_content()


@router.put("/images/{image_id}/stage", status_code=204)
async def stage(image_id: str, request: Request, ctx: RequestContext = Ctx) -> Response:
    _octet_stream(request)
    size = size_header(request)
    try:
        await images(request).stage(ctx, image_id, _body(request), size=size)
    except ClientDisconnect:
        raise BadRequest("The upload was interrupted before all image data arrived") from None
    return no_content()


def _range(request: Request) -> tuple[int | None, int | None] | None:
    raw = request.headers.get("range")
    if not raw:
        return None
    m = RANGE.match(raw.strip())
    if not m or (not m.group(1) and not m.group(2)):
        raise BadRequest(f"Invalid Range header (one byte range expected): {raw!r}")
    first = int(m.group(1)) if m.group(1) else None
    last = int(m.group(2)) if m.group(2) else None
    return first, last


@router.get("/images/{image_id}/file")
async def download(image_id: str, request: Request, ctx: RequestContext = Ctx) -> Response:
    wanted = _range(request)
    # ?prefer=store1,store2 (glanceclient's image-download --prefer): stores to read from first
    prefer = tuple(name.strip() for value in request.query_params.getlist("prefer")
                   for name in value.split(",") if name.strip())
    try:
        dl = await images(request).download(ctx, image_id, wanted, prefer)
    except RangeError as exc:
        raise RangeNotSatisfiable(exc.message,
                                  headers={"Content-Range": f"bytes */{exc.size}"}) from None
    if dl is None:
        return no_content()
    headers = {"Content-Length": str(dl.end - dl.start)}
    if dl.content_md5:
        headers["Content-MD5"] = dl.content_md5
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {dl.start}-{dl.end - 1}/{dl.size}"
    return StreamingResponse(dl.chunks, status_code=status, headers=headers,
                             media_type="application/octet-stream")
