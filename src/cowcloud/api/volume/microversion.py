"""Cinder's microversions (`OpenStack-API-Version: volume 3.x`) for every /volume/v3 request;
the routes read them from request.state.volume_version (api/microversion.py negotiates)."""

from __future__ import annotations

from ...services.volumes.views import MAX_VERSION, MIN_VERSION
from ..microversion import Service, fmt

VOLUME = Service("volume", "/volume/v3", MIN_VERSION, MAX_VERSION, "volume_version")

__all__ = ["VOLUME", "fmt"]
