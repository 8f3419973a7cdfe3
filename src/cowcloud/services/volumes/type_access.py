"""Private volume types and the projects allowed to use them (Cinder's os-volume-type-access).

A private type (is_public false) is visible to admins and to the projects on its access list;
to every other project it does not exist (404), in lists, shows and volume creates alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.errors import Duplicate, savepoint
from ...db.models import VolumeTypeProject
from ..context import RequestContext
from ..errors import Invalid, NotFound
from ..policy import enforce
from . import types
from .errors import (
    InvalidInput,
    VolumeTypeAccessExists,
    VolumeTypeAccessNotFound,
    VolumeTypeNotFound,
)


def projects_of(s: Session, type_id: str) -> set[str]:
    return set(s.scalars(select(VolumeTypeProject.project_id).where(
        VolumeTypeProject.volume_type_id == type_id)))


def list_access(s: Session, ctx: RequestContext, type_id: str) -> list[dict[str, str]]:
    enforce(ctx, "volume_extension:volume_type_access", {"project_id": ctx.project_id})
    vtype = types.by_id(s, type_id)
    if not types.can_use(s, ctx, vtype):
        raise VolumeTypeNotFound(type_id)
    if vtype.is_public:
        raise NotFound("Access list not available for public volume types.")
    return [{"volume_type_id": vtype.id, "project_id": p}
            for p in sorted(projects_of(s, vtype.id))]


def _project_of(arg: Any, action: str) -> str:
    if not isinstance(arg, dict) or not isinstance(arg.get("project"), str):
        raise InvalidInput(f"Missing required element 'project' in {action}.")
    project = arg["project"].strip()
    if not 0 < len(project) <= 255:
        raise InvalidInput("project must be 1-255 characters")
    return project


def change(s: Session, ctx: RequestContext, type_id: str, body: Any) -> None:
    """addProjectAccess / removeProjectAccess on a private type."""
    if not isinstance(body, dict) or len(body) != 1:
        raise InvalidInput("A volume type action body names exactly one action.")
    (action, arg), = body.items()
    if action not in ("addProjectAccess", "removeProjectAccess"):
        raise InvalidInput(f"There is no such action: {action}")
    enforce(ctx, f"volume_extension:volume_type_access:{action}")
    project = _project_of(arg, action)
    vtype = types.by_id(s, type_id)
    if vtype.is_public:
        raise Invalid("Type access modification is not applicable to public volume type.")
    if action == "addProjectAccess":
        try:
            with savepoint(s):
                s.add(VolumeTypeProject(volume_type_id=vtype.id, project_id=project))
        except Duplicate:
            raise VolumeTypeAccessExists(vtype.id, project) from None
    else:
        row = s.get(VolumeTypeProject, (vtype.id, project))
        if row is None:
            raise VolumeTypeAccessNotFound(vtype.id, project)
        s.delete(row)
