"""Which namespace a call is about, and whether the caller may see it and act on it.

Visibility is Glance's (metadef_api/namespace.py and the get_metadef_namespace policy): admins
see every namespace, others the public ones and their own project's. A namespace the caller may
not see answers 404 on every route, so other projects' private namespaces stay unknown; one the
caller sees but may not change answers 403 (Glance's MetadefAPIPolicy._enforce).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.errors import Duplicate, constraints
from ...db.models import MetadefNamespace
from ..context import RequestContext
from ..policy import allowed, enforce
from .errors import Conflict, NamespaceNotFound


def target(ns: MetadefNamespace) -> dict[str, Any]:
    return {"owner": ns.owner, "project_id": ns.owner, "visibility": ns.visibility}


def caller_target(ctx: RequestContext) -> dict[str, Any]:
    """The target of calls about no namespace in particular (lists, create)."""
    return {"owner": ctx.project_id, "project_id": ctx.project_id}


def find(s: Session, name: str) -> MetadefNamespace | None:
    if "\x00" in name:  # a NUL names nothing (and PostgreSQL would refuse the query)
        return None
    return s.scalar(select(MetadefNamespace).where(MetadefNamespace.namespace == name))


def load(s: Session, ctx: RequestContext, name: str, *rules: str) -> MetadefNamespace:
    """The namespace if `ctx` may see it (else 404), and may do each of `rules` to it (403)."""
    ns = find(s, name)
    if ns is None or not allowed(ctx, "image:get_metadef_namespace", target(ns)):
        raise NamespaceNotFound(name)
    for rule in rules:
        enforce(ctx, rule, target(ns))
    return ns


def flush(s: Session, message: str) -> None:
    """Writes now; a unique constraint hit by a concurrent writer is a 409, not a 500."""
    try:
        with constraints():
            s.flush()
    except Duplicate:
        raise Conflict(message) from None


