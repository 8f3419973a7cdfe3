"""What the Image API routes share: the service, JSON bodies with a size limit, image URLs."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from ...services.images import ImageService
from ..auth import get_runtime
from ..bodies import has_lone_surrogate
from ..errors import BadRequest, RequestEntityTooLarge

MAX_JSON_BYTES = 256 << 10  # image metadata is small; a 1 MB "patch" is an attack or a mistake
# No Image API body nests more than a few levels; a deeper one is refused before anything reads
# it, since every recursive reader (the schema checks, the database's JSON column, the response
# encoder) would otherwise meet Python's recursion limit somewhere later, after a write maybe.
MAX_JSON_DEPTH = 32


def _finite(text: str) -> float:
    """json.loads takes NaN and Infinity (and makes 1e999 infinite), which are not JSON: stored,
    they would make every later response carrying them fail to encode (a 500 on each read)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite JSON number")
    return value


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (0 for a scalar), without recursing."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            todo.extend((child, level + 1)
                        for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def images(request: Request) -> ImageService:
    service: ImageService = get_runtime(request).images
    return service


async def json_body(request: Request, limit: int = MAX_JSON_BYTES) -> Any:
    """The request's JSON, read with a cap: 413 past `limit`, 400 when it is not JSON (NaN and
    Infinity are not), nests more than MAX_JSON_DEPTH deep or holds a string that is not
    text."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestEntityTooLarge(f"Request body is larger than {limit} bytes")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise RequestEntityTooLarge(f"Request body is larger than {limit} bytes")
    if not buf:
        raise BadRequest("Body expected in request.")
    too_deep = BadRequest(f"Malformed JSON in request body: nested more than {MAX_JSON_DEPTH} "
                          "levels deep")
    try:
        body = json.loads(buf, parse_constant=_finite, parse_float=_finite)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise BadRequest(f"Malformed JSON in request body: {exc}") from None
    except RecursionError:  # past the decoder's own limit
        raise too_deep from None
    if _depth(body) > MAX_JSON_DEPTH:
        raise too_deep
    if has_lone_surrogate(body):
        raise BadRequest("Malformed JSON in request body: a string holds a lone surrogate "
                         "(an escape from \\ud800 to \\udfff), which is not text")
    return body


def decorate(image: dict[str, Any]) -> dict[str, Any]:
    """Adds the URLs Glance puts in every image (relative to the endpoint, as Glance does)."""
    image["self"] = f"/v2/images/{image['id']}"
    image["file"] = f"/v2/images/{image['id']}/file"
    image["schema"] = "/v2/schemas/image"
    return image


def page(key: str, items: list[Any], path: str, schema: str,
         params: list[tuple[str, str]], marker: str | None) -> dict[str, Any]:
    """A Glance list body: the items, `first`, and `next` (the same query from `marker`) when
    there are more. Links are relative to the endpoint, as Glance writes them."""
    rest = [(k, v) for k, v in params if k != "marker"]
    body = {key: items, "schema": schema, "first": path + (f"?{urlencode(rest)}" if rest else "")}
    if marker:
        body["next"] = f"{path}?{urlencode([*rest, ('marker', marker)])}"
    return body


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


class ViewResponse(JSONResponse):
    """JSON of image views (list and show, the hot reads) encoded by orjson: a page of 20
    costs 80 us with json.dumps, a tenth of that here. The bytes are the same as
    JSONResponse's (compact, UTF-8, nothing escaped that need not be) for what a view holds:
    strings, integers, booleans, None, lists and dicts of them. Anything orjson refuses (an
    integer past 64 bits, say) is encoded as JSONResponse would, and fails as it would."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # orjson.JSONEncodeError is one
            return super().render(content)


def view_response(body: Any) -> JSONResponse:
    return ViewResponse(body)


def no_content() -> Response:
    return Response(status_code=204)


def size_header(request: Request) -> int | None:
    """The announced image size: x-openstack-image-size, else Content-Length (400 if they
    disagree or are not numbers)."""
    values = {}
    for name in ("x-openstack-image-size", "content-length"):
        raw = request.headers.get(name)
        if raw is not None:
            # ASCII digits only ("²".isdigit() is true, int("²") raises), and few enough of
            # them for int() (which refuses over 4300 digits)
            if not (raw.strip().isascii() and raw.strip().isdigit()) or len(raw.strip()) > 30:
                raise BadRequest(f"Invalid {name} header: {raw!r}")
            values[name] = int(raw)
    if len(set(values.values())) > 1:
        raise BadRequest(f"x-openstack-image-size ({values['x-openstack-image-size']}) does not "
                         f"match Content-Length ({values['content-length']})")
    return next(iter(values.values()), None)
