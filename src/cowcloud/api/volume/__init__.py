"""The Block Storage API (Cinder v3 shape) under /volume: discovery, volumes, snapshots, types,
attachments, backups.

Every resource route answers both at /volume/v3/{project_id}/... (the catalog's URL, as
Cinder's) and at /volume/v3/... (project id optional since 3.67); the project is the token's.
"""

from fastapi import Depends

from ..routing import ServiceRouter
from . import (
    attachments,
    backups,
    inventory,
    quotas,
    snapshot_meta,
    snapshots,
    type_access,
    types,
    versions,
    volumes,
)
from .common import same_project
from .microversion import VOLUME

router = ServiceRouter("/volume")
router.include_router(versions.router)
# inventory first: /volumes/summary is not a volume's id
for _module in (inventory, volumes, snapshots, types, attachments, backups, quotas, type_access,
                snapshot_meta):
    router.include_router(_module.router, prefix="/volume/v3")
    router.include_router(_module.router, prefix="/volume/v3/{project_id}",
                          dependencies=[Depends(same_project)])

__all__ = ["VOLUME", "router"]
