"""The Image API (Glance v2 shape) under /image: discovery, images, data, members, stores,
tasks, metadata definitions."""

from ..routing import ServiceRouter
from . import data, images, info, metadefs, tasks, versions

router = ServiceRouter("/image")
for _module in (images, versions, info, data, tasks, metadefs):
    router.include_router(_module.router)

__all__ = ["router"]
