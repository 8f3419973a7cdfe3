"""Keystone v3 application credentials, under /v3/users/{user_id}/application_credentials, and
the (always empty) /v3/users/{user_id}/access_rules. Only HTTP here (services.identity)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request, Response

from ...services.authn import TokenInfo
from .common import Caller, collection, identity, url

router = APIRouter(prefix="/v3/users/{user_id}")


@router.post("/application_credentials", status_code=201)
async def create_app_cred(request: Request, user_id: str, body: Any = Body(...),
                          caller: TokenInfo = Caller) -> dict[str, Any]:
    cred = await identity(request).create_app_cred(caller, url(request), user_id, body)
    return {"application_credential": cred}


@router.get("/application_credentials")
async def list_app_creds(request: Request, user_id: str, name: str | None = None,
                         caller: TokenInfo = Caller) -> dict[str, Any]:
    found = await identity(request).list_app_creds(caller, url(request), user_id, name)
    return collection(request, "application_credentials", found)


@router.get("/application_credentials/{cred_id}")
async def get_app_cred(request: Request, user_id: str, cred_id: str,
                       caller: TokenInfo = Caller) -> dict[str, Any]:
    cred = await identity(request).get_app_cred(caller, url(request), user_id, cred_id)
    return {"application_credential": cred}


@router.delete("/application_credentials/{cred_id}", status_code=204)
async def delete_app_cred(request: Request, user_id: str, cred_id: str,
                          caller: TokenInfo = Caller) -> Response:
    await identity(request).delete_app_cred(caller, user_id, cred_id)
    return Response(status_code=204)


@router.get("/access_rules")
async def list_access_rules(request: Request, user_id: str,
                            caller: TokenInfo = Caller) -> dict[str, Any]:
    return collection(request, "access_rules",
                      await identity(request).list_access_rules(caller, user_id))
