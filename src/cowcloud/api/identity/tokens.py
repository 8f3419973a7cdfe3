"""Keystone v3: version discovery, tokens (issue, validate, check, revoke), the caller's catalog,
projects and domains. Only HTTP here (services.identity does the rest)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse

from ...services.authn import TokenInfo
from ...services.identity.views import v3_url
from .common import Caller, collection, identity, url

router = APIRouter()
SUBJECT_HEADER = "X-Subject-Token"


def _version(request: Request) -> dict[str, Any]:
    return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": v3_url(url(request), "/")}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}


@router.get("")
@router.get("/")
def versions(request: Request) -> JSONResponse:
    """Keystone answers its root with 300 Multiple Choices and the list of versions."""
    return JSONResponse({"versions": {"values": [_version(request)]}}, status_code=300)


@router.get("/v3")
@router.get("/v3/")
def version_v3(request: Request) -> dict[str, Any]:
    return {"version": _version(request)}


def _subject_token(request: Request) -> str:
    return request.headers.get(SUBJECT_HEADER, "")


@router.post("/v3/auth/tokens", status_code=201)
async def issue_token(request: Request, body: Any = Body(...),
                      nocatalog: str | None = None) -> JSONResponse:
    token, shown = await identity(request).issue_token(url(request), body,
                                                       with_catalog=nocatalog is None)
    return JSONResponse(shown, status_code=201, headers={SUBJECT_HEADER: token})


@router.get("/v3/auth/tokens")
async def validate_token(request: Request, nocatalog: str | None = None,
                         caller: TokenInfo = Caller) -> JSONResponse:
    token, shown = await identity(request).validate_token(
        caller, url(request), _subject_token(request), with_catalog=nocatalog is None)
    return JSONResponse(shown, headers={SUBJECT_HEADER: token})


@router.head("/v3/auth/tokens")
async def check_token(request: Request, caller: TokenInfo = Caller) -> Response:
    token = await identity(request).check_token(caller, _subject_token(request))
    return Response(status_code=200, headers={SUBJECT_HEADER: token})


@router.delete("/v3/auth/tokens", status_code=204)
async def revoke_token(request: Request, caller: TokenInfo = Caller) -> Response:
    await identity(request).revoke_token(caller, _subject_token(request))
    return Response(status_code=204)


@router.get("/v3/auth/catalog")
async def auth_catalog(request: Request, caller: TokenInfo = Caller) -> dict[str, Any]:
    catalog = await identity(request).auth_catalog(caller, url(request))
    return {"catalog": catalog, "links": {"self": str(request.url)}}


@router.get("/v3/auth/projects")
async def auth_projects(request: Request, caller: TokenInfo = Caller) -> dict[str, Any]:
    return collection(request, "projects",
                      await identity(request).auth_projects(caller, url(request)))


@router.get("/v3/auth/domains")
async def auth_domains(request: Request, caller: TokenInfo = Caller) -> dict[str, Any]:
    return collection(request, "domains",
                      await identity(request).auth_domains(caller, url(request)))
