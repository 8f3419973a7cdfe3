"""What an agent says about its host: CPU, RAM, CPU model, and the ephemeral backends it
reaches with their pool identity (cluster id, pool) and capacity where it can tell."""

from __future__ import annotations

import os
import platform
import shutil
import socket
from typing import Any

from ..block.targets import Target, Targets
from ..config import LocalClusterSettings, Settings


def host_name(settings: Settings) -> str:
    return settings.agent.host or socket.gethostname()


def memory_mb() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 1024


def cpu_info() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f
                          if ln.startswith("model name")), "")
    except OSError:
        pass
    return {"arch": platform.machine(), "model": model, "vendor": "",
            "topology": {"cores": os.cpu_count() or 1, "threads": 1, "sockets": 1}}


def backends(settings: Settings, targets: Targets) -> list[Target]:
    """The ephemeral backends this agent reaches (their clusters open), its default (if any)
    first."""
    found = [t for t in targets.of("ephemeral_backends").values() if _open(t)]
    if settings.agent.backends is not None:
        found = [t for t in found if t.name in settings.agent.backends]
    found.sort(key=lambda t: not t.default)
    return found


def backend_report(settings: Settings, target: Target) -> dict[str, Any]:
    total = free = 0
    cluster = settings.clusters[target.cluster]
    if isinstance(cluster, LocalClusterSettings):
        path = settings.cluster_path(target.cluster)
        if path.exists():
            usage = shutil.disk_usage(path)
            total, free = usage.total, usage.free
    return {"name": target.name, "kind": target.kind, "cluster_id": target.cluster_id,
            "pool": target.pool, "total_bytes": total, "free_bytes": free}


def site(settings: Settings, reached: list[Target]) -> str:
    return settings.agent.site or (reached[0].site if reached else "nova")


def registration(settings: Settings, targets: Targets, hypervisor_type: str) -> dict[str, Any]:
    reached = backends(settings, targets)
    return {"host": host_name(settings), "site": site(settings, reached),
            "hypervisor_type": hypervisor_type,
            "vcpus": settings.agent.vcpus or os.cpu_count() or 1,
            "memory_mb": settings.agent.memory_mb or memory_mb(), "cpu_info": cpu_info(),
            "backends": [backend_report(settings, t) for t in reached]}


def _open(target: Target) -> bool:
    try:
        return target.backend.available
    except Exception:  # not opened at all
        return False
