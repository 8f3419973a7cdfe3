"""Keystone v3 resources: domains, projects, users, roles, grants and role assignments (groups,
their members and their grants are in groups.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Body, Depends, Request, Response

from ...services.context import RequestContext
from ...services.errors import Invalid, NotFound
from ...services.identity import DEFAULT_DOMAIN_ID
from ...services.policy import enforce
from ...services.runtime import Runtime
from ..auth import get_context, get_runtime
from .views import (
    assignment_view,
    collection,
    domain_view,
    flag,
    project_view,
    role_view,
    section,
    user_view,
)

router = APIRouter(prefix="/v3")
T = TypeVar("T")
Rt = Depends(get_runtime)
Ctx = Depends(get_context)
# Keystone's schemas: project and domain names up to 64 characters, user and role names 255
SHORT_NAME, LONG_NAME = 64, 255


def fetch_enforced(ctx: RequestContext, rule: str, fetch: Callable[[], T],
                   target: Callable[[T], dict[str, Any]]) -> T:
    """The thing, if the rule allows the caller to act on it. A caller the rule refuses even for
    a thing that would be theirs gets 403 for a missing one too, so ids cannot be probed."""
    try:
        found = fetch()
    except NotFound:
        enforce(ctx, rule)
        raise
    enforce(ctx, rule, target(found))
    return found


def _name(part: dict[str, Any], what: str, limit: int = LONG_NAME) -> str:
    name = part.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > limit or "\x00" in name:
        raise Invalid(f"Invalid input for field '{what}.name': a string of 1 to {limit} "
                      f"characters, not only blanks, is required.")
    return name


def _changes(part: dict[str, Any], allowed: tuple[str, ...], what: str,
             name_limit: int = LONG_NAME) -> dict[str, Any]:
    """The fields asked for, each of its type (400 otherwise, never a 500 at the database)."""
    out = {k: v for k, v in part.items() if k in allowed}
    for key, value in out.items():
        if key == "enabled":
            if not isinstance(value, bool):
                raise Invalid(f"{key}: true or false")
        elif key == "name":
            _name(part, what, name_limit)
        elif value is not None and (not isinstance(value, str) or "\x00" in value
                                    or (key != "description" and len(value) > 255)):
            raise Invalid(f"{key}: a string")
    if "description" in out and out["description"] is None:
        out["description"] = ""  # Keystone takes null for no description
    return out


# --- domains ---------------------------------------------------------------------------------

@router.get("/domains")
def list_domains(request: Request, name: str | None = None, enabled: str | None = None,
                 rt: Runtime = Rt, ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:list_domains")
    domains = rt.identity.list_domains(name=name, enabled=flag(enabled))
    return collection(request, "domains", [domain_view(request, d) for d in domains])


@router.post("/domains", status_code=201)
def create_domain(request: Request, body: Any = Body(...), rt: Runtime = Rt,
                  ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:create_domain")
    part = section(body, "domain")
    fields = _changes(part, ("description", "enabled"), "domain")
    domain = rt.identity.create_domain(_name(part, "domain", SHORT_NAME),
                                       fields.get("description") or "",
                                       fields.get("enabled", True))
    return {"domain": domain_view(request, domain)}


@router.get("/domains/{domain_id}")
def get_domain(request: Request, domain_id: str, rt: Runtime = Rt,
               ctx: RequestContext = Ctx) -> dict[str, Any]:
    domain = fetch_enforced(ctx, "identity:get_domain", lambda: rt.identity.get_domain(domain_id),
                            lambda d: {"domain_id": d.id})
    return {"domain": domain_view(request, domain)}


@router.patch("/domains/{domain_id}")
def update_domain(request: Request, domain_id: str, body: Any = Body(...), rt: Runtime = Rt,
                  ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:update_domain", {"domain_id": domain_id})
    changes = _changes(section(body, "domain"), ("name", "description", "enabled"), "domain",
                       SHORT_NAME)
    return {"domain": domain_view(request, rt.identity.update_domain(domain_id, changes))}


@router.delete("/domains/{domain_id}", status_code=204)
def delete_domain(domain_id: str, rt: Runtime = Rt, ctx: RequestContext = Ctx) -> Response:
    enforce(ctx, "identity:delete_domain", {"domain_id": domain_id})
    rt.identity.delete_domain(domain_id)
    return Response(status_code=204)


# --- projects --------------------------------------------------------------------------------

@router.get("/projects")
def list_projects(request: Request, name: str | None = None, domain_id: str | None = None,
                  enabled: str | None = None, rt: Runtime = Rt,
                  ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:list_projects")
    projects = rt.identity.list_projects(name=name, domain_id=domain_id, enabled=flag(enabled))
    return collection(request, "projects", [project_view(request, p) for p in projects])


@router.post("/projects", status_code=201)
def create_project(request: Request, body: Any = Body(...), rt: Runtime = Rt,
                   ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:create_project")
    part = section(body, "project")
    domain_id = part.get("domain_id") or ctx.domain_id or DEFAULT_DOMAIN_ID
    if part.get("is_domain") or part.get("parent_id") not in (None, domain_id):
        raise Invalid("project hierarchies and projects acting as domains are not supported")
    fields = _changes(part, ("description", "enabled", "domain_id"), "project")
    project = rt.identity.create_project(_name(part, "project", SHORT_NAME), domain_id,
                                         fields.get("description") or "",
                                         fields.get("enabled", True))
    return {"project": project_view(request, project)}


@router.get("/projects/{project_id}")
def get_project(request: Request, project_id: str, rt: Runtime = Rt,
                ctx: RequestContext = Ctx) -> dict[str, Any]:
    project = fetch_enforced(ctx, "identity:get_project",
                             lambda: rt.identity.get_project(project_id),
                             lambda p: {"project_id": p.id, "domain_id": p.domain_id})
    return {"project": project_view(request, project)}


@router.patch("/projects/{project_id}")
def update_project(request: Request, project_id: str, body: Any = Body(...), rt: Runtime = Rt,
                   ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:update_project", {"project_id": project_id})
    changes = _changes(section(body, "project"), ("name", "description", "enabled"), "project",
                       SHORT_NAME)
    return {"project": project_view(request, rt.identity.update_project(project_id, changes))}


@router.delete("/projects/{project_id}", status_code=204)
def delete_project(project_id: str, rt: Runtime = Rt, ctx: RequestContext = Ctx) -> Response:
    enforce(ctx, "identity:delete_project", {"project_id": project_id})
    rt.identity.delete_project(project_id)
    return Response(status_code=204)


# --- users -----------------------------------------------------------------------------------

USER_FIELDS = ("name", "password", "email", "description", "enabled", "default_project_id")


@router.get("/users")
def list_users(request: Request, name: str | None = None, domain_id: str | None = None,
               enabled: str | None = None, rt: Runtime = Rt,
               ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:list_users")
    users = rt.identity.list_users(name=name, domain_id=domain_id, enabled=flag(enabled))
    return collection(request, "users", [user_view(request, u) for u in users])


@router.post("/users", status_code=201)
def create_user(request: Request, body: Any = Body(...), rt: Runtime = Rt,
                ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:create_user")
    part = section(body, "user")
    fields = _changes(part, USER_FIELDS[1:], "user")
    _changes(part, ("domain_id",), "user")
    user = rt.identity.create_user(_name(part, "user"),
                                   part.get("domain_id") or ctx.domain_id or DEFAULT_DOMAIN_ID,
                                   **fields)
    return {"user": user_view(request, user)}


@router.get("/users/{user_id}")
def get_user(request: Request, user_id: str, rt: Runtime = Rt,
             ctx: RequestContext = Ctx) -> dict[str, Any]:
    user = fetch_enforced(ctx, "identity:get_user", lambda: rt.identity.get_user(user_id),
                          lambda u: {"user_id": u.id, "domain_id": u.domain_id})
    return {"user": user_view(request, user)}


@router.patch("/users/{user_id}")
def update_user(request: Request, user_id: str, body: Any = Body(...), rt: Runtime = Rt,
                ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:update_user", {"user_id": user_id})
    changes = _changes(section(body, "user"), USER_FIELDS, "user")
    return {"user": user_view(request, rt.identity.update_user(user_id, changes))}


@router.delete("/users/{user_id}", status_code=204)
def delete_user(user_id: str, rt: Runtime = Rt, ctx: RequestContext = Ctx) -> Response:
    enforce(ctx, "identity:delete_user", {"user_id": user_id})
    rt.identity.delete_user(user_id)
    return Response(status_code=204)


@router.post("/users/{user_id}/password", status_code=204)
def change_password(user_id: str, body: Any = Body(...), rt: Runtime = Rt,
                    ctx: RequestContext = Ctx) -> Response:
    enforce(ctx, "identity:change_password", {"user_id": user_id})
    part = section(body, "user")
    original, password = part.get("original_password"), part.get("password")
    if not (isinstance(original, str) and isinstance(password, str) and password):
        raise Invalid("user.original_password and user.password are required")
    rt.identity.change_password(user_id, original, password)
    return Response(status_code=204)


@router.get("/users/{user_id}/projects")
def list_user_projects(request: Request, user_id: str, rt: Runtime = Rt,
                       ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:list_user_projects", {"user_id": user_id})
    rt.identity.get_user(user_id)
    projects = rt.identity.user_projects(user_id)
    return collection(request, "projects", [project_view(request, p) for p in projects])


# --- roles, grants, assignments --------------------------------------------------------------

@router.get("/roles")
def list_roles(request: Request, name: str | None = None, rt: Runtime = Rt,
               ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:list_roles")
    return collection(request, "roles",
                      [role_view(request, r) for r in rt.identity.list_roles(name=name)])


@router.post("/roles", status_code=201)
def create_role(request: Request, body: Any = Body(...), rt: Runtime = Rt,
                ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:create_role")
    part = section(body, "role")
    fields = _changes(part, ("description",), "role")
    role = rt.identity.create_role(_name(part, "role"), fields.get("description") or "")
    return {"role": role_view(request, role)}


@router.get("/roles/{role_id}")
def get_role(request: Request, role_id: str, rt: Runtime = Rt,
             ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:get_role")
    return {"role": role_view(request, rt.identity.get_role(role_id))}


@router.patch("/roles/{role_id}")
def update_role(request: Request, role_id: str, body: Any = Body(...), rt: Runtime = Rt,
                ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:update_role")
    changes = _changes(section(body, "role"), ("name", "description"), "role")
    return {"role": role_view(request, rt.identity.update_role(role_id, changes))}


@router.delete("/roles/{role_id}", status_code=204)
def delete_role(role_id: str, rt: Runtime = Rt, ctx: RequestContext = Ctx) -> Response:
    enforce(ctx, "identity:delete_role")
    rt.identity.delete_role(role_id)
    return Response(status_code=204)


GRANT_TARGETS = {"projects": "project", "domains": "domain"}
GRANT_ACTORS = {"users": "user", "groups": "group"}


def _target_type(kind: str) -> str:
    if kind not in GRANT_TARGETS:
        raise NotFound(f"The resource could not be found: /{kind}")
    return GRANT_TARGETS[kind]


def _grant(ctx: RequestContext, rule: str, kind: str, target_id: str, actors: str,
           actor_id: str) -> tuple[str, str]:
    """(target type, actor) of /{kind}/{target_id}/{actors}/{actor_id}/roles..., enforced:
    a user's and a group's grants are the same routes, the same rules and the same checks."""
    target_type = _target_type(kind)
    if actors not in GRANT_ACTORS:
        raise NotFound(f"The resource could not be found: /{kind}/{target_id}/{actors}")
    actor = GRANT_ACTORS[actors]
    enforce(ctx, rule, {f"{target_type}_id": target_id, f"{actor}_id": actor_id})
    return target_type, actor


@router.get("/{kind}/{target_id}/{actors}/{actor_id}/roles")
def list_grants(request: Request, kind: str, target_id: str, actors: str, actor_id: str,
                rt: Runtime = Rt, ctx: RequestContext = Ctx) -> dict[str, Any]:
    target_type, actor = _grant(ctx, "identity:list_grants", kind, target_id, actors, actor_id)
    roles = rt.identity.list_grants(actor_id, target_type, target_id, actor=actor)
    return collection(request, "roles", [role_view(request, r) for r in roles])


@router.put("/{kind}/{target_id}/{actors}/{actor_id}/roles/{role_id}", status_code=204)
def create_grant(kind: str, target_id: str, actors: str, actor_id: str, role_id: str,
                 rt: Runtime = Rt, ctx: RequestContext = Ctx) -> Response:
    target_type, actor = _grant(ctx, "identity:create_grant", kind, target_id, actors, actor_id)
    rt.identity.add_grant(actor_id, target_type, target_id, role_id, actor=actor)
    return Response(status_code=204)


@router.head("/{kind}/{target_id}/{actors}/{actor_id}/roles/{role_id}", status_code=204)
def check_grant(kind: str, target_id: str, actors: str, actor_id: str, role_id: str,
                rt: Runtime = Rt, ctx: RequestContext = Ctx) -> Response:
    target_type, actor = _grant(ctx, "identity:check_grant", kind, target_id, actors, actor_id)
    if not rt.identity.has_grant(actor_id, target_type, target_id, role_id, actor=actor):
        raise NotFound(f"Could not find role assignment: role {role_id} for {actor} "
                       f"{actor_id}.")
    return Response(status_code=204)


@router.get("/{kind}/{target_id}/groups/{group_id}/roles/{role_id}", status_code=204)
def check_group_grant(kind: str, target_id: str, group_id: str, role_id: str,
                      rt: Runtime = Rt, ctx: RequestContext = Ctx) -> Response:
    """A group's grant may be checked with GET as well as HEAD (a user's with HEAD only)."""
    return check_grant(kind, target_id, "groups", group_id, role_id, rt, ctx)


@router.delete("/{kind}/{target_id}/{actors}/{actor_id}/roles/{role_id}", status_code=204)
def revoke_grant(kind: str, target_id: str, actors: str, actor_id: str, role_id: str,
                 rt: Runtime = Rt, ctx: RequestContext = Ctx) -> Response:
    target_type, actor = _grant(ctx, "identity:revoke_grant", kind, target_id, actors, actor_id)
    rt.identity.remove_grant(actor_id, target_type, target_id, role_id, actor=actor)
    return Response(status_code=204)


@router.get("/role_assignments")
def list_role_assignments(request: Request, rt: Runtime = Rt,
                          ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:list_role_assignments")
    q = request.query_params
    if q.get("scope.system"):
        assignments = []  # no system scope here: nothing can match
    else:
        assignments = rt.identity.list_assignments(
            user_id=q.get("user.id"), project_id=q.get("scope.project.id"),
            domain_id=q.get("scope.domain.id"), role_id=q.get("role.id"),
            effective=bool(flag(q.get("effective"))), group_id=q.get("group.id"))
    names = bool(flag(q.get("include_names")))
    return collection(request, "role_assignments",
                      [assignment_view(request, a, names) for a in assignments])
