"""Quotas and limits: Nova's default quotas (instances, cores, RAM, key pairs, server groups),
configured in [compute], checked at create, and shown by /limits with the project's usage."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...config import ComputeSettings
from ...db.models import Server, ServerGroup
from ..context import RequestContext
from ..errors import Denied
from ..policy import enforce
from .views import Version

MAX_SERVER_META = 128  # Nova's metadata_items quota


class QuotaExceeded(Denied):
    """Nova answers a quota overrun with 403."""


def usage(s: Session, project_id: str | None) -> dict[str, int]:
    rows = list(s.scalars(select(Server).where(Server.project_id == project_id,
                                               Server.deleted.is_(False))))
    return {"instances": len(rows),
            "cores": sum(int(r.flavor.get("vcpus", 0)) for r in rows),
            "ram": sum(int(r.flavor.get("ram", 0)) for r in rows)}


def check(s: Session, quotas: ComputeSettings, project_id: str, vcpus: int, ram: int) -> None:
    used = usage(s, project_id)
    wanted = {"instances": 1, "cores": vcpus, "ram": ram}
    limit = {"instances": quotas.quota_instances, "cores": quotas.quota_cores,
             "ram": quotas.quota_ram_mb}
    over = [k for k in ("instances", "cores", "ram")
            if limit[k] >= 0 and used[k] + wanted[k] > limit[k]]
    if over:
        k = over[0]
        raise QuotaExceeded(f"Quota exceeded for {', '.join(over)}: Requested {wanted[k]}, "
                            f"but already used {used[k]} of {limit[k]} {k}")


def show(s: Session, ctx: RequestContext, quotas: ComputeSettings, version: Version
         ) -> dict[str, Any]:
    enforce(ctx, "compute:limits")
    used = usage(s, ctx.project_id)
    groups = s.scalar(select(func.count()).select_from(ServerGroup).where(
        ServerGroup.project_id == ctx.project_id)) or 0
    absolute: dict[str, Any] = {
        "maxServerMeta": MAX_SERVER_META, "maxImageMeta": 128,
        "maxTotalKeypairs": quotas.quota_key_pairs,
        "maxServerGroups": quotas.quota_server_groups, "maxServerGroupMembers": 10,
        "maxTotalCores": quotas.quota_cores, "maxTotalInstances": quotas.quota_instances,
        "maxTotalRAMSize": quotas.quota_ram_mb, "totalCoresUsed": used["cores"],
        "totalRAMUsed": used["ram"], "totalInstancesUsed": used["instances"],
        "totalServerGroupsUsed": groups,
    }
    if version < (2, 57):
        absolute.update(maxPersonality=5, maxPersonalitySize=10240)
    if version < (2, 36):
        absolute.update(maxSecurityGroupRules=20, maxSecurityGroups=10,
                        maxTotalFloatingIps=10, totalFloatingIpsUsed=0,
                        totalSecurityGroupsUsed=0)
    return {"limits": {"rate": [], "absolute": absolute}}
