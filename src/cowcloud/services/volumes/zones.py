"""Availability zones of the volume service (Cinder's /os-availability-zone): the sites of the
configured volume backends, each available (a cluster that is down shows in its tasks, not
here, as Cinder shows a zone while its backend's service is up)."""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..policy import enforce
from .env import Env


def list_zones(env: Env, ctx: RequestContext) -> list[dict[str, Any]]:
    enforce(ctx, "volume_extension:availability_zone_list")
    sites = dict.fromkeys(t.site for t in env.targets.of("volume_backends").values())
    return [{"zoneName": site, "zoneState": {"available": True}} for site in sites]
