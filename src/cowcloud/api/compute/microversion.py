"""Nova's microversions for every /compute/v2.1 request: `OpenStack-API-Version: compute 2.x`
(openstacksdk, openstackclient) or `X-OpenStack-Nova-API-Version: 2.x` (python-novaclient's
legacy header), both named in every answer; the routes read them from
request.state.compute_version (api/microversion.py negotiates)."""

from __future__ import annotations

from ...services.compute.views import MAX_VERSION, MIN_VERSION
from ..microversion import Service

COMPUTE = Service("compute", "/compute/v2.1", MIN_VERSION, MAX_VERSION, "compute_version",
                  legacy_header="X-OpenStack-Nova-API-Version")

__all__ = ["COMPUTE"]
