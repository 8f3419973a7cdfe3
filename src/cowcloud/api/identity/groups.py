"""Keystone v3 groups: the groups and their members (grants to them: resources.py, with
users')."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request, Response

from ...services.context import RequestContext
from ...services.errors import Invalid, NotFound
from ...services.identity import DEFAULT_DOMAIN_ID
from ...services.policy import enforce
from ...services.runtime import Runtime
from .resources import LONG_NAME, Ctx, Rt, _changes, _name, fetch_enforced
from .views import collection, group_view, section, user_view

router = APIRouter(prefix="/v3")


# --- groups ----------------------------------------------------------------------------------

@router.get("/groups")
def list_groups(request: Request, name: str | None = None, domain_id: str | None = None,
                rt: Runtime = Rt, ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:list_groups")
    groups = rt.identity.list_groups(name=name, domain_id=domain_id)
    return collection(request, "groups", [group_view(request, g) for g in groups])


@router.post("/groups", status_code=201)
def create_group(request: Request, body: Any = Body(...), rt: Runtime = Rt,
                 ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:create_group")
    part = section(body, "group")
    fields = _changes(part, ("description", "domain_id"), "group")
    group = rt.identity.create_group(_name(part, "group", LONG_NAME),
                                     fields.get("domain_id") or ctx.domain_id
                                     or DEFAULT_DOMAIN_ID,
                                     fields.get("description") or "")
    return {"group": group_view(request, group)}


@router.get("/groups/{group_id}")
def get_group(request: Request, group_id: str, rt: Runtime = Rt,
              ctx: RequestContext = Ctx) -> dict[str, Any]:
    group = fetch_enforced(ctx, "identity:get_group", lambda: rt.identity.get_group(group_id),
                           lambda g: {"group_id": g.id, "domain_id": g.domain_id})
    return {"group": group_view(request, group)}


@router.patch("/groups/{group_id}")
def update_group(request: Request, group_id: str, body: Any = Body(...), rt: Runtime = Rt,
                 ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:update_group", {"group_id": group_id})
    part = section(body, "group")
    changes = _changes(part, ("name", "description"), "group")
    if "domain_id" in part and part["domain_id"] != rt.identity.get_group(group_id).domain_id:
        raise Invalid("Cannot change Domain ID of a group.")  # as Keystone refuses it
    return {"group": group_view(request, rt.identity.update_group(group_id, changes))}


@router.delete("/groups/{group_id}", status_code=204)
def delete_group(group_id: str, rt: Runtime = Rt, ctx: RequestContext = Ctx) -> Response:
    enforce(ctx, "identity:delete_group", {"group_id": group_id})
    rt.identity.delete_group(group_id)
    return Response(status_code=204)


# --- membership ------------------------------------------------------------------------------

@router.get("/groups/{group_id}/users")
def list_users_in_group(request: Request, group_id: str, rt: Runtime = Rt,
                        ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:list_users_in_group", {"group_id": group_id})
    users = rt.identity.group_members(group_id)
    return collection(request, "users", [user_view(request, u) for u in users])


@router.put("/groups/{group_id}/users/{user_id}", status_code=204)
def add_user_to_group(group_id: str, user_id: str, rt: Runtime = Rt,
                      ctx: RequestContext = Ctx) -> Response:
    enforce(ctx, "identity:add_user_to_group", {"group_id": group_id, "user_id": user_id})
    rt.identity.add_member(group_id, user_id)
    return Response(status_code=204)


@router.head("/groups/{group_id}/users/{user_id}", status_code=204)
@router.get("/groups/{group_id}/users/{user_id}", status_code=204)
def check_user_in_group(group_id: str, user_id: str, rt: Runtime = Rt,
                        ctx: RequestContext = Ctx) -> Response:
    enforce(ctx, "identity:check_user_in_group", {"group_id": group_id, "user_id": user_id})
    if not rt.identity.is_member(group_id, user_id):
        raise NotFound(f"Could not find user, {user_id}, in group {group_id}.")
    return Response(status_code=204)


@router.delete("/groups/{group_id}/users/{user_id}", status_code=204)
def remove_user_from_group(group_id: str, user_id: str, rt: Runtime = Rt,
                           ctx: RequestContext = Ctx) -> Response:
    enforce(ctx, "identity:remove_user_from_group", {"group_id": group_id, "user_id": user_id})
    rt.identity.remove_member(group_id, user_id)
    return Response(status_code=204)


@router.get("/users/{user_id}/groups")
def list_groups_for_user(request: Request, user_id: str, rt: Runtime = Rt,
                         ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:list_groups_for_user", {"user_id": user_id})
    groups = rt.identity.user_groups(user_id)
    return collection(request, "groups", [group_view(request, g, membership=True)
                                          for g in groups])
