"""Identity (Keystone v3) at /identity: discovery, tokens, resources, groups, catalog, app
credentials."""

from __future__ import annotations

from ..routing import ServiceRouter
from . import appcreds, catalog, groups, resources, tokens

router = ServiceRouter("/identity")
for module in (tokens, resources, groups, catalog, appcreds):
    router.include_router(module.router, prefix="/identity")

__all__ = ["router"]
