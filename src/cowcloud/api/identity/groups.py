"""Keystone v3 groups: the groups and their members (grants to them: resources.py, with
users'). Only HTTP here (services.identity does the rest)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request, Response

from ...services.context import RequestContext
from .common import Ctx, collection, identity, url

router = APIRouter(prefix="/v3")


# --- groups ----------------------------------------------------------------------------------

@router.get("/groups")
async def list_groups(request: Request, name: str | None = None, domain_id: str | None = None,
                      ctx: RequestContext = Ctx) -> dict[str, Any]:
    found = await identity(request).list_groups(ctx, url(request), name, domain_id)
    return collection(request, "groups", found)


@router.post("/groups", status_code=201)
async def create_group(request: Request, body: Any = Body(...),
                       ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"group": await identity(request).create_group(ctx, url(request), body)}


@router.get("/groups/{group_id}")
async def get_group(request: Request, group_id: str,
                    ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"group": await identity(request).get_group(ctx, url(request), group_id)}


@router.patch("/groups/{group_id}")
async def update_group(request: Request, group_id: str, body: Any = Body(...),
                       ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"group": await identity(request).update_group(ctx, url(request), group_id, body)}


@router.delete("/groups/{group_id}", status_code=204)
async def delete_group(request: Request, group_id: str, ctx: RequestContext = Ctx) -> Response:
    await identity(request).delete_group(ctx, group_id)
    return Response(status_code=204)


# --- membership ------------------------------------------------------------------------------

@router.get("/groups/{group_id}/users")
async def list_users_in_group(request: Request, group_id: str,
                              ctx: RequestContext = Ctx) -> dict[str, Any]:
    found = await identity(request).list_users_in_group(ctx, url(request), group_id)
    return collection(request, "users", found)


@router.put("/groups/{group_id}/users/{user_id}", status_code=204)
async def add_user_to_group(request: Request, group_id: str, user_id: str,
                            ctx: RequestContext = Ctx) -> Response:
    await identity(request).add_user_to_group(ctx, group_id, user_id)
    return Response(status_code=204)


@router.head("/groups/{group_id}/users/{user_id}", status_code=204)
@router.get("/groups/{group_id}/users/{user_id}", status_code=204)
async def check_user_in_group(request: Request, group_id: str, user_id: str,
                              ctx: RequestContext = Ctx) -> Response:
    await identity(request).check_user_in_group(ctx, group_id, user_id)
    return Response(status_code=204)


@router.delete("/groups/{group_id}/users/{user_id}", status_code=204)
async def remove_user_from_group(request: Request, group_id: str, user_id: str,
                                 ctx: RequestContext = Ctx) -> Response:
    await identity(request).remove_user_from_group(ctx, group_id, user_id)
    return Response(status_code=204)


@router.get("/users/{user_id}/groups")
async def list_groups_for_user(request: Request, user_id: str,
                               ctx: RequestContext = Ctx) -> dict[str, Any]:
    found = await identity(request).list_groups_for_user(ctx, url(request), user_id)
    return collection(request, "groups", found)
