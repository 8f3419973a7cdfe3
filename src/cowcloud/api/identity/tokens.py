"""Keystone v3: version discovery, tokens (issue, validate, check, revoke), the caller's catalog,
projects and domains."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.authn import TokenInfo
from ...services.errors import AuthenticationFailed, Denied, NotFound
from ...services.policy import enforce
from ...services.runtime import Runtime
from ..auth import get_runtime, get_token
from .views import collection, domain_view, project_view, section, token_view, v3_url

router = APIRouter()
SUBJECT_HEADER = "X-Subject-Token"


def _version(request: Request) -> dict[str, Any]:
    return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": v3_url(request, "/")}],
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


@router.post("/v3/auth/tokens", status_code=201)
def issue_token(request: Request, body: Any = Body(...), nocatalog: str | None = None,
                rt: Runtime = Depends(get_runtime)) -> JSONResponse:
    info = rt.auth.issue(section(body, "auth"))
    return JSONResponse(token_view(request, info, rt.catalog, with_catalog=nocatalog is None),
                        status_code=201, headers={SUBJECT_HEADER: info.token})


def _subject(request: Request, rt: Runtime, caller: TokenInfo, rule: str) -> TokenInfo:
    """The X-Subject-Token, validated before the rule runs, as Keystone does: the rule's target
    is that token's user, so an invalid (revoked, expired, garbled) one is 404 TokenNotFound for
    every caller, its own user included. That tells nothing to anyone but the token's holder."""
    token = request.headers.get(SUBJECT_HEADER, "")
    try:
        subject = rt.auth.validate(token)
    except AuthenticationFailed as exc:
        raise NotFound(f"Could not find token: {token[:16]}...") from exc
    enforce(caller.context(), rule, {"user_id": subject.user.id})
    return subject


@router.get("/v3/auth/tokens")
def validate_token(request: Request, nocatalog: str | None = None,
                   rt: Runtime = Depends(get_runtime),
                   caller: TokenInfo = Depends(get_token)) -> JSONResponse:
    subject = _subject(request, rt, caller, "identity:validate_token")
    return JSONResponse(token_view(request, subject, rt.catalog, with_catalog=nocatalog is None),
                        headers={SUBJECT_HEADER: subject.token})


@router.head("/v3/auth/tokens")
def check_token(request: Request, rt: Runtime = Depends(get_runtime),
                caller: TokenInfo = Depends(get_token)) -> Response:
    subject = _subject(request, rt, caller, "identity:check_token")
    return Response(status_code=200, headers={SUBJECT_HEADER: subject.token})


@router.delete("/v3/auth/tokens", status_code=204)
def revoke_token(request: Request, rt: Runtime = Depends(get_runtime),
                 caller: TokenInfo = Depends(get_token)) -> Response:
    subject = _subject(request, rt, caller, "identity:revoke_token")
    rt.tokens.revoke(subject.payload)
    return Response(status_code=204)


@router.get("/v3/auth/catalog")
def auth_catalog(request: Request, rt: Runtime = Depends(get_runtime),
                 caller: TokenInfo = Depends(get_token)) -> dict[str, Any]:
    enforce(caller.context(), "identity:get_auth_catalog")
    if caller.project is None and caller.domain is None:
        raise Denied("A scoped token is required to see the service catalog.")
    body = token_view(request, caller, rt.catalog)["token"]
    return {"catalog": body["catalog"], "links": {"self": str(request.url)}}


@router.get("/v3/auth/projects")
def auth_projects(request: Request, rt: Runtime = Depends(get_runtime),
                  caller: TokenInfo = Depends(get_token)) -> dict[str, Any]:
    enforce(caller.context(), "identity:get_auth_projects")
    projects = rt.identity.user_projects(caller.user.id, enabled_only=True)
    return collection(request, "projects", [project_view(request, p) for p in projects])


@router.get("/v3/auth/domains")
def auth_domains(request: Request, rt: Runtime = Depends(get_runtime),
                 caller: TokenInfo = Depends(get_token)) -> dict[str, Any]:
    enforce(caller.context(), "identity:get_auth_domains")
    domains = rt.identity.user_domains(caller.user.id)
    return collection(request, "domains", [domain_view(request, d) for d in domains])
