"""The agents' work queue: rows of AgentWork per host. The control plane adds work (spawn a
server, power it off, destroy it); the host's agent claims it over its channel, does it, and
reports the outcome, which servers.py applies to the server.

A claim leases the item; an agent that dies mid-work never reports, its lease runs out, and
the next agent of that host is handed the item again (every kind of work is idempotent on the
agent's side). Items are handed out in the order they were added: the agent runs a server's
items one after another.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ...db.models import AgentWork, ComputeHost, utcnow
from ..context import RequestContext
from ..errors import NotFound as _NotFound
from ..policy import enforce
from .errors import ComputeConflict, HostNotFound

LEASE_SECONDS = 300
PENDING, LEASED, DONE, FAILED = "pending", "leased", "done", "failed"


def add(s: Session, host: str, kind: str, payload: dict[str, Any],
        server_id: str | None = None) -> int:
    item = AgentWork(host=host, kind=kind, payload=payload, server_id=server_id)
    s.add(item)
    s.flush()
    return item.id


def _host(s: Session, name: str, session: Any) -> ComputeHost:
    row = s.scalar(select(ComputeHost).where(ComputeHost.host == name))
    if row is None:
        raise HostNotFound(name)
    if session != row.session:
        raise ComputeConflict(f"Compute host {name} is registered by another agent now.")
    return row


def claim(s: Session, ctx: RequestContext, host: str, session: Any, limit: int = 32
          ) -> list[dict[str, Any]]:
    enforce(ctx, "compute:agent")
    _host(s, host, session)
    now = utcnow()
    rows = list(s.scalars(select(AgentWork).where(
        AgentWork.host == host,
        or_(AgentWork.status == PENDING,
            (AgentWork.status == LEASED) & (AgentWork.lease_until < now))).order_by(
        AgentWork.id).limit(limit)))
    for row in rows:
        row.status, row.lease_until = LEASED, now + timedelta(seconds=LEASE_SECONDS)
    return [{"id": r.id, "kind": r.kind, "server_id": r.server_id, "payload": r.payload}
            for r in rows]


def finish(s: Session, ctx: RequestContext, host: str, session: Any, work_id: int,
           result: dict[str, Any]) -> AgentWork:
    enforce(ctx, "compute:agent")
    _host(s, host, session)
    row = s.get(AgentWork, work_id)
    if row is None or row.host != host:
        raise _NotFound(f"Work {work_id} could not be found.")
    row.status = DONE if result.get("ok") else FAILED
    row.result = result
    row.lease_until = None
    return row


def pending_for(s: Session, server_id: str) -> list[AgentWork]:
    return list(s.scalars(select(AgentWork).where(
        AgentWork.server_id == server_id, AgentWork.status.in_((PENDING, LEASED)))))


def take_result(s: Session, work_id: int) -> dict[str, Any] | None:
    """A finished read's outcome, the row removed with it; None while it runs."""
    row = s.get(AgentWork, work_id)
    if row is None or row.status in (PENDING, LEASED):
        return None
    result = dict(row.result)
    s.delete(row)
    return result
