"""The Block Storage API (Cinder v3 shape) under /volume: discovery, volumes, snapshots, types.

Every resource route answers both at /volume/v3/{project_id}/... (the catalog's URL, as
Cinder's) and at /volume/v3/... (project id optional since 3.67); the project is the token's.
"""

from fastapi import APIRouter

from . import snapshots, types, versions, volumes
from .microversion import VolumeMicroversion

router = APIRouter()
router.include_router(versions.router)
for _prefix in ("/volume/v3", "/volume/v3/{project_id}"):
    for _module in (volumes, snapshots, types):
        router.include_router(_module.router, prefix=_prefix)

__all__ = ["VolumeMicroversion", "router"]
