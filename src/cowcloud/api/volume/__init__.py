"""The Block Storage API (Cinder v3 shape) under /volume: discovery, volumes, snapshots, types.

Every resource route answers both at /volume/v3/{project_id}/... (the catalog's URL, as
Cinder's) and at /volume/v3/... (project id optional since 3.67); the project is the token's.
"""

from fastapi import Depends

from ..routing import ServiceRouter
from . import snapshots, types, versions, volumes
from .common import same_project
from .microversion import VolumeMicroversion

router = ServiceRouter("/volume")
router.include_router(versions.router)
for _module in (volumes, snapshots, types):
    router.include_router(_module.router, prefix="/volume/v3")
    router.include_router(_module.router, prefix="/volume/v3/{project_id}",
                          dependencies=[Depends(same_project)])

__all__ = ["VolumeMicroversion", "router"]
