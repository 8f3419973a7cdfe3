"""Version discovery at /image and /image/versions: clients pick v2 from it (keystoneauth)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..auth import public_url

router = APIRouter()

CURRENT = "2.12"  # multi-store (2.8), import (2.6), store delete (2.10), tasks per image (2.12)
SUPPORTED = ("2.11", "2.10", "2.9", "2.8", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0")


def versions(request: Request) -> list[dict[str, object]]:
    href = f"{public_url(request)}/image/v2/"
    return [{"id": f"v{v}", "status": "CURRENT" if v == CURRENT else "SUPPORTED",
             "links": [{"rel": "self", "href": href}]} for v in (CURRENT, *SUPPORTED)]


@router.get("/image", include_in_schema=False)
@router.get("/image/", include_in_schema=False)
async def root(request: Request) -> JSONResponse:
    return JSONResponse({"versions": versions(request)}, status_code=300)


@router.get("/image/v2", include_in_schema=False)
@router.get("/image/v2/", include_in_schema=False)
async def v2_root(request: Request) -> JSONResponse:
    """The advertised href itself; keystoneauth may fetch it when a catalog names it."""
    return JSONResponse({"versions": versions(request)}, status_code=300)


@router.get("/image/versions", include_in_schema=False)
async def explicit(request: Request) -> JSONResponse:
    return JSONResponse({"versions": versions(request)})
