"""What the compute routes share: the service, the microversion, the endpoint, bodies."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ...services.compute import ComputeService
from ...services.compute.views import MIN_VERSION, Version
from ..auth import get_runtime, public_url
from ..image.common import json_body
from ..limits import MAX_BODY_BYTES


def compute(request: Request) -> ComputeService:
    service: ComputeService = get_runtime(request).compute
    return service


def version(request: Request) -> Version:
    found: Version = getattr(request.state, "compute_version", MIN_VERSION)
    return found


def base(request: Request) -> str:
    return f"{public_url(request)}/compute/v2.1"


def params(request: Request) -> dict[str, str]:
    return dict(request.query_params)


async def body(request: Request) -> Any:
    return await json_body(request, limit=MAX_BODY_BYTES)
