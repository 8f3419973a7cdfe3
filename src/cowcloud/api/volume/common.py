"""What the volume routes share: the service, the caller, the microversion, links, bodies."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from ...services.context import RequestContext
from ...services.volumes import VolumeService
from ...services.volumes.errors import InvalidInput
from ...services.volumes.views import MIN_VERSION, Version
from ..auth import get_context, get_runtime, public_url
from ..image.common import json_body
from ..limits import MAX_BODY_BYTES


def volumes(request: Request) -> VolumeService:
    service: VolumeService = get_runtime(request).volumes
    return service


def version(request: Request) -> Version:
    found: Version = getattr(request.state, "volume_version", MIN_VERSION)
    return found


def base(request: Request) -> str:
    """The endpoint the caller used (with the project id when its path had one): links go
    back where they came from."""
    project = request.path_params.get("project_id")
    root = f"{public_url(request)}/volume/v3"
    return f"{root}/{project}" if project else root


def params(request: Request) -> dict[str, str]:
    return dict(request.query_params)


async def body(request: Request) -> Any:
    return await json_body(request, limit=MAX_BODY_BYTES)


def same_project(request: Request, ctx: RequestContext = Depends(get_context)) -> None:
    """A project id in the path must be the token's, as Cinder checks (its ProjectMismatch):
    the answer would otherwise be about another project than the URL names."""
    project = request.path_params.get("project_id")
    if project is not None and project != ctx.project_id:
        raise InvalidInput(f"Malformed request URL: URL's project_id '{project}' doesn't "
                           f"match Context's project_id '{ctx.project_id}'")
