"""Server groups (os-server-groups): a policy over where the group's servers run. The hard
ones (affinity, anti-affinity) are the scheduler's ServerGroup(Anti)AffinityFilter; the soft
ones (2.15) are kept and shown, and place nothing on their own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import Server, ServerGroup
from ..context import RequestContext
from ..errors import NotFound
from ..policy import enforce
from . import checks
from .errors import BadRequest
from .views import Version

POLICIES = ("affinity", "anti-affinity")
SOFT = ("soft-affinity", "soft-anti-affinity")


def members(s: Session, group_id: str) -> list[str]:
    return list(s.scalars(select(Server.id).where(Server.group_id == group_id,
                                                  Server.deleted.is_(False))))


def view(s: Session, g: ServerGroup, version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {"id": g.id, "name": g.name, "members": members(s, g.id)}
    if version >= (2, 64):
        out.update(policy=g.policy, rules=dict(g.rules))
    else:
        out.update(policies=[g.policy], metadata={})
    if version >= (2, 13):
        out.update(project_id=g.project_id, user_id=g.user_id)
    return out


def load(s: Session, ctx: RequestContext, group_id: str) -> ServerGroup:
    g = s.get(ServerGroup, group_id)
    if g is None or (g.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Instance group {group_id} could not be found.")
    return g


def create(s: Session, ctx: RequestContext, body: Any, version: Version) -> dict[str, Any]:
    enforce(ctx, "compute:server_groups:create", {"project_id": ctx.project_id})
    if ctx.project_id is None:
        raise BadRequest("A project-scoped token is needed to create a server group.")
    spec = checks.body_of(body, "server_group")
    name = checks.name(spec.get("name"), "name")
    allowed = POLICIES + (SOFT if version >= (2, 15) else ())
    rules: dict[str, Any] = {}
    if version >= (2, 64):
        policy = spec.get("policy")
        rules = spec.get("rules") or {}
        if not isinstance(rules, dict) or set(rules) - {"max_server_per_host"}:
            raise BadRequest("Invalid input for field/attribute rules.")
        if rules and policy != "anti-affinity":
            raise BadRequest("Only anti-affinity policy supports rules.")
        if rules:
            rules = {"max_server_per_host": checks.integer(rules["max_server_per_host"],
                                                           "max_server_per_host", 1)}
    else:
        policies = spec.get("policies")
        if not isinstance(policies, list) or len(policies) != 1:
            raise BadRequest("Invalid input for field/attribute policies: exactly one policy")
        policy = policies[0]
    if policy not in allowed:
        raise BadRequest(f"Invalid input for field/attribute policy. Value: {policy}. "
                         f"It must be one of {', '.join(allowed)}")
    g = ServerGroup(name=name, project_id=ctx.project_id, user_id=ctx.user_id, policy=policy,
                    rules=rules)
    s.add(g)
    s.flush()
    return view(s, g, version)


def show(s: Session, ctx: RequestContext, group_id: str, version: Version) -> dict[str, Any]:
    enforce(ctx, "compute:server_groups:get")
    return view(s, load(s, ctx, group_id), version)


def list_groups(s: Session, ctx: RequestContext, params: dict[str, str], version: Version
                ) -> dict[str, Any]:
    enforce(ctx, "compute:server_groups:get")
    q = select(ServerGroup).order_by(ServerGroup.created_at)
    every = ctx.is_admin and checks.boolean(params.get("all_projects", "false"),
                                            "all_projects")
    if not every:
        q = q.where(ServerGroup.project_id == ctx.project_id)
    rows = list(s.scalars(q))
    offset = checks.integer(params.get("offset", 0), "offset")
    rows = rows[offset:]
    if "limit" in params:
        rows = rows[:checks.integer(params["limit"], "limit")]
    return {"server_groups": [view(s, g, version) for g in rows]}


def delete(s: Session, ctx: RequestContext, group_id: str) -> None:
    enforce(ctx, "compute:server_groups:delete")
    s.delete(load(s, ctx, group_id))
