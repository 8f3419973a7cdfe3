"""Version discovery at /volume and /volume/v3: keystoneauth reads `version` (the maximum
microversion) and `min_version` here, and clients negotiate within them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...services.volumes.views import MAX_VERSION, MIN_VERSION
from ..auth import public_url
from .microversion import fmt

router = APIRouter()


def v3(request: Request) -> dict[str, Any]:
    return {
        "id": "v3.0", "status": "CURRENT", "version": fmt(MAX_VERSION),
        "min_version": fmt(MIN_VERSION), "updated": "2026-12-07T00:00:00Z",
        "links": [{"rel": "describedby", "type": "text/html",
                   "href": "https://docs.openstack.org/"},
                  {"rel": "self", "href": f"{public_url(request)}/volume/v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.volume+json;version=3"}],
    }


@router.get("/volume", include_in_schema=False)
@router.get("/volume/", include_in_schema=False)
async def root(request: Request) -> JSONResponse:
    return JSONResponse({"versions": [v3(request)]}, status_code=300)


@router.get("/volume/v3", include_in_schema=False)
@router.get("/volume/v3/", include_in_schema=False)
async def v3_root(request: Request) -> JSONResponse:
    return JSONResponse({"versions": [v3(request)]})
