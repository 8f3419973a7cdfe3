"""Evacuate (the 002 guide's troubleshooting, REFERENCE PP-04): a server whose host is down is
started on another host on the same RBD root disk. The new host's agent first fences the dead
host: every lock on the disk is broken, which blocklists its holder's address in the cluster
(`rbd lock rm` does the same), so a host that comes back cannot write to a disk that moved.
What was fenced is recorded on the server. A server on host-local storage cannot move."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import ComputeHost, Server, utcnow
from ..context import RequestContext
from . import hosts, placement, work
from .errors import BadRequest, ComputeConflict
from .scheduler import NoValidHost, RequestSpec, schedule
from .views import GiB, isotime


def start(s: Session, ctx: RequestContext, server_id: str, arg: Any, down_after: float,
          boot: dict[str, Any] | None = None) -> str:
    """Checks, picks the target and queues the evacuation; the target host."""
    from .servers import load

    server = load(s, ctx, server_id, "compute:servers:evacuate")
    target_name = arg.get("host") if isinstance(arg, dict) else None
    if target_name is not None and not isinstance(target_name, str):
        raise BadRequest("Invalid input for field/attribute host.")
    if server.vm_state not in ("active", "stopped", "error") or server.host is None:
        raise ComputeConflict(f"Cannot 'evacuate' instance {server.id} while it is in "
                              f"vm_state {server.vm_state}")
    source = s.scalar(select(ComputeHost).where(ComputeHost.host == server.host))
    if source is not None and hosts.is_up(source, down_after):
        raise BadRequest(f"Compute service of {server.host} is still in use.")
    backend = next((b for b in (source.backends if source else []) if b.name == server.backend),
                   None)
    kind = backend.kind if backend is not None else ("rbd" if server.cluster_id else "local")
    if kind != "rbd":
        raise BadRequest(f"Instance {server.id} has its root disk on host-local storage "
                         f"(backend {server.backend} of {server.host}): it cannot be "
                         "evacuated, only rebuilt from its image.")
    states = placement.host_states(s, down_after)
    if target_name is not None:
        if target_name == server.host:
            raise BadRequest("The target host can't be the same one.")
        if target_name not in {st.host for st in states}:
            raise BadRequest(f"Compute host {target_name} could not be found.")
    f = server.flavor
    same_disk = [st for st in states if st.host != server.host
                 and any(b.cluster_id == server.cluster_id and b.pool == server.pool
                         for b in st.backends)]
    spec = RequestSpec(vcpus=int(f["vcpus"]), memory_mb=int(f["ram"]), root_gb=0,
                       forced_host=target_name)
    try:
        chosen = schedule(same_disk, spec)
    except NoValidHost as exc:
        if target_name is not None and exc.filter == "ComputeFilter":
            raise BadRequest(f"Compute host {target_name} is down or disabled: it cannot "
                             "take the instance.") from None
        raise BadRequest(f"No host can take instance {server.id} on its disk "
                         f"{server.pool}/{server.id}_disk: {exc.message}") from None
    target_backend = next(b for b in chosen.backends
                          if b.cluster_id == server.cluster_id and b.pool == server.pool)
    work.add(s, chosen.host, "evacuate", {
        "server_id": server.id, "name": server.name, "vcpus": int(f["vcpus"]),
        "memory_mb": int(f["ram"]), "nic": server.nic, "from_host": server.host,
        "was_stopped": server.vm_state == "stopped", "boot": boot,
        "root": {"backend": target_backend.name, "size": int(f["disk"]) * GiB}},
        server_id=server.id)
    server.history = [*server.history, {"action": "evacuate", "from_host": server.host,
                                        "to_host": chosen.host, "start": isotime(utcnow())}]
    server.host, server.backend = chosen.host, target_backend.name
    server.availability_zone = chosen.zone
    server.task_state = "rebuilding"
    return chosen.host


def finish(server: Server, ok: bool, result: dict[str, Any]) -> None:
    now = utcnow()
    history = list(server.history)
    if history and history[-1].get("action") == "evacuate":
        history[-1] = {**history[-1], "finish": isotime(now), "ok": ok,
                       "fenced": list(result.get("fenced", []))}
    server.history = history
    server.task_state = None
    if ok:
        server.power_state = int(result.get("power_state", 1))
        server.vm_state = "stopped" if server.power_state == 4 else "active"
    else:
        server.vm_state = "error"
        server.fault = {"code": 500, "message": f"evacuate failed: {result.get('error')}",
                        "created": isotime(now)}
