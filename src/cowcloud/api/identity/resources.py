"""Keystone v3 resources: domains, projects, users, roles, grants and role assignments (groups
and their members are in groups.py). Only HTTP here (services.identity does the rest)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request, Response

from ...services.context import RequestContext
from .common import Ctx, collection, flag, identity, url

router = APIRouter(prefix="/v3")


def no_content() -> Response:
    return Response(status_code=204)


# --- domains ---------------------------------------------------------------------------------

@router.get("/domains")
async def list_domains(request: Request, name: str | None = None, enabled: str | None = None,
                       ctx: RequestContext = Ctx) -> dict[str, Any]:
    found = await identity(request).list_domains(ctx, url(request), name, flag(enabled))
    return collection(request, "domains", found)


@router.post("/domains", status_code=201)
async def create_domain(request: Request, body: Any = Body(...),
                        ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"domain": await identity(request).create_domain(ctx, url(request), body)}


@router.get("/domains/{domain_id}")
async def get_domain(request: Request, domain_id: str,
                     ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"domain": await identity(request).get_domain(ctx, url(request), domain_id)}


@router.patch("/domains/{domain_id}")
async def update_domain(request: Request, domain_id: str, body: Any = Body(...),
                        ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"domain": await identity(request).update_domain(ctx, url(request), domain_id,
                                                            body)}


@router.delete("/domains/{domain_id}", status_code=204)
async def delete_domain(request: Request, domain_id: str,
                        ctx: RequestContext = Ctx) -> Response:
    await identity(request).delete_domain(ctx, domain_id)
    return no_content()


# --- projects --------------------------------------------------------------------------------

@router.get("/projects")
async def list_projects(request: Request, name: str | None = None,
                        domain_id: str | None = None, enabled: str | None = None,
                        ctx: RequestContext = Ctx) -> dict[str, Any]:
    found = await identity(request).list_projects(ctx, url(request), name, domain_id,
                                                  flag(enabled))
    return collection(request, "projects", found)


@router.post("/projects", status_code=201)
async def create_project(request: Request, body: Any = Body(...),
                         ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"project": await identity(request).create_project(ctx, url(request), body)}


@router.get("/projects/{project_id}")
async def get_project(request: Request, project_id: str,
                      ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"project": await identity(request).get_project(ctx, url(request), project_id)}


@router.patch("/projects/{project_id}")
async def update_project(request: Request, project_id: str, body: Any = Body(...),
                         ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"project": await identity(request).update_project(ctx, url(request), project_id,
                                                              body)}


@router.delete("/projects/{project_id}", status_code=204)
async def delete_project(request: Request, project_id: str,
                         ctx: RequestContext = Ctx) -> Response:
    await identity(request).delete_project(ctx, project_id)
    return no_content()


# --- users -----------------------------------------------------------------------------------

@router.get("/users")
async def list_users(request: Request, name: str | None = None, domain_id: str | None = None,
                     enabled: str | None = None, ctx: RequestContext = Ctx) -> dict[str, Any]:
    found = await identity(request).list_users(ctx, url(request), name, domain_id,
                                               flag(enabled))
    return collection(request, "users", found)


@router.post("/users", status_code=201)
async def create_user(request: Request, body: Any = Body(...),
                      ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"user": await identity(request).create_user(ctx, url(request), body)}


@router.get("/users/{user_id}")
async def get_user(request: Request, user_id: str, ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"user": await identity(request).get_user(ctx, url(request), user_id)}


@router.patch("/users/{user_id}")
async def update_user(request: Request, user_id: str, body: Any = Body(...),
                      ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"user": await identity(request).update_user(ctx, url(request), user_id, body)}


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(request: Request, user_id: str, ctx: RequestContext = Ctx) -> Response:
    await identity(request).delete_user(ctx, user_id)
    return no_content()


@router.post("/users/{user_id}/password", status_code=204)
async def change_password(request: Request, user_id: str, body: Any = Body(...),
                          ctx: RequestContext = Ctx) -> Response:
    await identity(request).change_password(ctx, user_id, body)
    return no_content()


@router.get("/users/{user_id}/projects")
async def list_user_projects(request: Request, user_id: str,
                             ctx: RequestContext = Ctx) -> dict[str, Any]:
    found = await identity(request).list_user_projects(ctx, url(request), user_id)
    return collection(request, "projects", found)


# --- roles, grants, assignments --------------------------------------------------------------

@router.get("/roles")
async def list_roles(request: Request, name: str | None = None,
                     ctx: RequestContext = Ctx) -> dict[str, Any]:
    return collection(request, "roles",
                      await identity(request).list_roles(ctx, url(request), name))


@router.post("/roles", status_code=201)
async def create_role(request: Request, body: Any = Body(...),
                      ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"role": await identity(request).create_role(ctx, url(request), body)}


@router.get("/roles/{role_id}")
async def get_role(request: Request, role_id: str, ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"role": await identity(request).get_role(ctx, url(request), role_id)}


@router.patch("/roles/{role_id}")
async def update_role(request: Request, role_id: str, body: Any = Body(...),
                      ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"role": await identity(request).update_role(ctx, url(request), role_id, body)}


@router.delete("/roles/{role_id}", status_code=204)
async def delete_role(request: Request, role_id: str, ctx: RequestContext = Ctx) -> Response:
    await identity(request).delete_role(ctx, role_id)
    return no_content()


GRANT = "/{kind}/{target_id}/{actors}/{actor_id}/roles"


@router.get(GRANT)
async def list_grants(request: Request, kind: str, target_id: str, actors: str, actor_id: str,
                      ctx: RequestContext = Ctx) -> dict[str, Any]:
    found = await identity(request).list_grants(ctx, url(request), kind, target_id, actors,
                                                actor_id)
    return collection(request, "roles", found)


@router.put(GRANT + "/{role_id}", status_code=204)
async def create_grant(request: Request, kind: str, target_id: str, actors: str,
                       actor_id: str, role_id: str, ctx: RequestContext = Ctx) -> Response:
    await identity(request).create_grant(ctx, kind, target_id, actors, actor_id, role_id)
    return no_content()


@router.head(GRANT + "/{role_id}", status_code=204)
async def check_grant(request: Request, kind: str, target_id: str, actors: str,
                      actor_id: str, role_id: str, ctx: RequestContext = Ctx) -> Response:
    await identity(request).check_grant(ctx, kind, target_id, actors, actor_id, role_id)
    return no_content()


@router.get("/{kind}/{target_id}/groups/{group_id}/roles/{role_id}", status_code=204)
async def check_group_grant(request: Request, kind: str, target_id: str, group_id: str,
                            role_id: str, ctx: RequestContext = Ctx) -> Response:
    """A group's grant may be checked with GET as well as HEAD (a user's with HEAD only)."""
    await identity(request).check_grant(ctx, kind, target_id, "groups", group_id, role_id)
    return no_content()


@router.delete(GRANT + "/{role_id}", status_code=204)
async def revoke_grant(request: Request, kind: str, target_id: str, actors: str,
                       actor_id: str, role_id: str, ctx: RequestContext = Ctx) -> Response:
    await identity(request).revoke_grant(ctx, kind, target_id, actors, actor_id, role_id)
    return no_content()


@router.get("/role_assignments")
async def list_role_assignments(request: Request, ctx: RequestContext = Ctx) -> dict[str, Any]:
    q = request.query_params
    found = await identity(request).list_role_assignments(
        ctx, url(request), user_id=q.get("user.id"), project_id=q.get("scope.project.id"),
        domain_id=q.get("scope.domain.id"), role_id=q.get("role.id"), group_id=q.get("group.id"),
        effective=bool(flag(q.get("effective"))), system_scope=bool(q.get("scope.system")),
        include_names=bool(flag(q.get("include_names"))))
    return collection(request, "role_assignments", found)
