"""What the Keystone routes share: the service, the URL its links start from, list bodies and
boolean query filters. Only HTTP here: the service checks, stores and shapes everything else."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from ...services.identity import IdentityService
from ..auth import get_context, get_runtime, get_token, public_url

Ctx = Depends(get_context)
Caller = Depends(get_token)


def identity(request: Request) -> IdentityService:
    service: IdentityService = get_runtime(request).identity_service
    return service


def url(request: Request) -> str:
    """Where clients reach cowcloud: Keystone's links are absolute."""
    return public_url(request)


def collection(request: Request, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: items, "links": {"self": str(request.url), "previous": None, "next": None}}


def flag(value: str | None) -> bool | None:
    """A boolean query filter (?enabled=true, ?enabled=False, ?effective)."""
    if value is None:
        return None
    return value.strip().lower() not in ("0", "false", "no", "off")
