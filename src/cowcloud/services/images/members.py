"""Image members: sharing an image with other projects, who then accept or reject it.

Only `shared` images have members (Glance: 403 otherwise). The owner adds and removes members and
sees them all; a member sees and changes only its own membership. A project that may not see the
image at all gets 404, like every other route.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import ImageMember
from ..context import RequestContext
from ..errors import Denied, Invalid, NotFound
from ..policy import allowed
from . import access
from .errors import Conflict, TooLarge
from .model import isotime

MEMBER_STATUSES = ("pending", "accepted", "rejected")
MEMBER_QUOTA = 128  # Glance's image_member_quota


def view(m: ImageMember) -> dict[str, Any]:
    return {"image_id": m.image_id, "member_id": m.member_id, "status": m.status,
            "created_at": isotime(m.created_at), "updated_at": isotime(m.updated_at),
            "schema": "/v2/schemas/member"}


def _member(s: Session, image_id: str, member_id: str) -> ImageMember:
    m = None if "\x00" in member_id else s.get(ImageMember, (image_id, member_id))
    if m is None:
        raise NotFound(f"{member_id} is not a member of image {image_id}")
    return m


def add(s: Session, ctx: RequestContext, image_id: str, body: Any) -> ImageMember:
    member_id = body.get("member") if isinstance(body, dict) else None
    if (not isinstance(member_id, str) or not member_id or len(member_id) > 255
            or "\x00" in member_id):
        raise Invalid("Member to be added not specified: the body must be {\"member\": "
                      "\"<project id>\"}")
    image = access.load(s, ctx, image_id, "image:add_member", member_id=member_id)
    if image.visibility != "shared":
        raise Denied(f"Only shared images have members (image {image.id} is "
                     f"{image.visibility}).")
    if s.get(ImageMember, (image.id, member_id)) is not None:
        raise Conflict(f"Member {member_id} already associated with image {image.id}.")
    if len(access.member_ids(s, image.id)) >= MEMBER_QUOTA:
        raise TooLarge(f"Maximum number of image members exceeded ({MEMBER_QUOTA})")
    m = ImageMember(image_id=image.id, member_id=member_id, status="pending")
    s.add(m)
    s.flush()
    return m


def listing(s: Session, ctx: RequestContext, image_id: str) -> list[ImageMember]:
    image = access.load(s, ctx, image_id)
    if image.visibility != "shared":
        raise Denied(f"Only shared images have members (image {image.id} is "
                     f"{image.visibility}).")
    rows = list(s.scalars(select(ImageMember).where(ImageMember.image_id == image.id)
                          .order_by(ImageMember.created_at)))
    t = access.target(image, [m.member_id for m in rows])
    if allowed(ctx, "image:get_members", t):
        return rows
    # A member sees its own membership only.
    return [m for m in rows if m.member_id == ctx.project_id]


def get(s: Session, ctx: RequestContext, image_id: str, member_id: str) -> ImageMember:
    image = access.load(s, ctx, image_id)
    t = access.target(image, access.member_ids(s, image.id), member_id=member_id)
    if not allowed(ctx, "image:get_member", t):
        raise NotFound(f"{member_id} is not a member of image {image.id}")
    return _member(s, image.id, member_id)


def update(s: Session, ctx: RequestContext, image_id: str, member_id: str,
           body: Any) -> ImageMember:
    status = body.get("status") if isinstance(body, dict) else None
    if status not in MEMBER_STATUSES:
        raise Invalid(f"Invalid status: {status!r} (one of {', '.join(MEMBER_STATUSES)})")
    image = access.load(s, ctx, image_id, "image:modify_member", member_id=member_id)
    m = _member(s, image.id, member_id)
    m.status = status
    s.flush()
    return m


def remove(s: Session, ctx: RequestContext, image_id: str, member_id: str) -> None:
    image = access.load(s, ctx, image_id, "image:delete_member", member_id=member_id)
    s.delete(_member(s, image.id, member_id))
