"""The Image API (Glance v2 shape) under /image: discovery, images, data, members, stores,
tasks, metadata definitions."""

from fastapi import APIRouter

from . import data, images, info, metadefs, tasks, versions

router = APIRouter()
for _module in (versions, info, images, data, tasks, metadefs):
    router.include_router(_module.router)

__all__ = ["router"]
