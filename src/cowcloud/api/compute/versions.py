"""Version discovery at /compute and /compute/v2.1: keystoneauth reads `version` (the maximum
microversion) and `min_version` here, and clients negotiate within them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...services.compute.views import MAX_VERSION, MIN_VERSION, fmt
from ..auth import public_url

router = APIRouter()


def v21(request: Request) -> dict[str, Any]:
    return {
        "id": "v2.1", "status": "CURRENT", "version": fmt(MAX_VERSION),
        "min_version": fmt(MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": f"{public_url(request)}/compute/v2.1/"},
                  {"rel": "describedby", "type": "text/html",
                   "href": "http://docs.openstack.org/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


@router.get("/compute", include_in_schema=False)
@router.get("/compute/", include_in_schema=False)
async def root(request: Request) -> JSONResponse:
    return JSONResponse({"versions": [v21(request)]})


@router.get("/compute/v2.1", include_in_schema=False)
@router.get("/compute/v2.1/", include_in_schema=False)
async def v21_root(request: Request) -> JSONResponse:
    return JSONResponse({"version": v21(request)})
