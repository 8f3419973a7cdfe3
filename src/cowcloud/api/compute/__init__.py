"""The Compute API (Nova v2.1 shape) under /compute, and the agents' channel under
/compute-agent/v1."""

from ..routing import ServiceRouter
from . import (
    agent,
    aggregates,
    flavors,
    groups,
    hosts,
    keypairs,
    servers,
    versions,
    volume_attachments,
)
from .microversion import COMPUTE

router = ServiceRouter("/compute")  # /compute-agent too
router.include_router(versions.router)
router.include_router(agent.router)
for _module in (flavors, aggregates, hosts, keypairs, servers, groups, volume_attachments):
    router.include_router(_module.router, prefix="/compute/v2.1")

__all__ = ["COMPUTE", "router"]
