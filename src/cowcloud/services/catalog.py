"""The service catalog: which services cowcloud offers, where, in which region.

SERVICES is the one list to extend when volume and compute arrive, e.g.
`CatalogService("volumev3", "cinderv3", "/volume/v3/{project_id}", ...)`: a path may name
{project_id}, filled in from the token's project, and shown as Keystone's `$(project_id)s`
template in endpoint lists (unscoped tokens carry no catalog at all).
Every service has a public, an internal and an admin endpoint at the same URL. Ids are derived from
type, interface and region, so they are stable across restarts without any table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache

INTERFACES = ("public", "internal", "admin")
_NAMESPACE = uuid.UUID("0f5a3c1e-6a4b-4c8e-9d27-5b1f8f0c2a11")


@lru_cache(maxsize=256)  # a token's catalog asks for three dozen of these; uuid5 is a SHA-1
def _stable_id(*parts: str) -> str:
    return uuid.uuid5(_NAMESPACE, "/".join(parts)).hex


@dataclass(frozen=True)
class CatalogService:
    type: str
    name: str
    path: str
    description: str = ""

    @property
    def id(self) -> str:
        return _stable_id("service", self.type)


SERVICES: tuple[CatalogService, ...] = (
    CatalogService("identity", "keystone", "/identity", "cowcloud identity (Keystone v3 API)"),
    CatalogService("image", "glance", "/image", "cowcloud image (Glance v2 API)"),
    # Cinder registers both types at one URL: openstacksdk looks for block-storage, older
    # clients (cinderclient, Nova) for volumev3
    CatalogService("block-storage", "cinder", "/volume/v3/{project_id}",
                   "cowcloud volume (Cinder v3 API)"),
    CatalogService("volumev3", "cinderv3", "/volume/v3/{project_id}",
                   "cowcloud volume (Cinder v3 API)"),
    # Nova's catalog URL names no project since 2.18; clients negotiate microversions there
    CatalogService("compute", "nova", "/compute/v2.1", "cowcloud compute (Nova v2.1 API)"),
)


@dataclass(frozen=True)
class Endpoint:
    id: str
    service: CatalogService
    interface: str
    region: str
    url: str


class Catalog:
    def __init__(self, region: str, services: tuple[CatalogService, ...] = SERVICES) -> None:
        self.region = region
        self.services = services

    def get_service(self, service_id: str) -> CatalogService | None:
        return next((s for s in self.services if s.id == service_id), None)

    def endpoints(self, base_url: str, project_id: str | None = None) -> list[Endpoint]:
        """Every endpoint, its URL under `base_url` (the address clients reach cowcloud at)."""
        out = []
        for service in self.services:
            path = service.path.replace("{project_id}", project_id or "$(project_id)s")
            url = base_url.rstrip("/") + path
            for interface in INTERFACES:
                out.append(Endpoint(_stable_id("endpoint", service.type, interface, self.region),
                                    service, interface, self.region, url))
        return out
