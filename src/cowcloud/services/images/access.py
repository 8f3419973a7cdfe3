"""Who may see and touch an image: the policy target of a row, and loading rows through it.

An image the caller may not see answers 404 on every route (as Glance): a member of another
project learns nothing, not even that the id exists. One the caller sees but may not change
answers 403 with the rule's name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import Image, ImageMember
from ..context import RequestContext
from ..policy import allowed, enforce
from .errors import ImageNotFound
from .model import UUID_RE


def check_id(image_id: str) -> str:
    """A non-UUID id names no image: 404, never a 500 or a database round trip."""
    if not isinstance(image_id, str) or not UUID_RE.match(image_id):
        raise ImageNotFound(str(image_id))
    return image_id.lower()


def member_ids(s: Session, image_id: str) -> list[str]:
    return list(s.scalars(select(ImageMember.member_id).where(ImageMember.image_id == image_id)))


def target(image: Any, members: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"owner": image.owner, "visibility": image.visibility, "members": members or [],
            "project_id": image.owner, **extra}


def load(s: Session, ctx: RequestContext, image_id: str, rule: str | None = None,
         **extra: Any) -> Image:
    """The image, if `ctx` may see it (else 404) and, given a rule, may do that to it (else 403).

    `extra` adds target keys (member_id for the member rules)."""
    image = s.get(Image, check_id(image_id))
    check_visible(s, ctx, image_id, image, rule, **extra)
    assert image is not None
    return image


def check_visible(s: Session, ctx: RequestContext, image_id: str, image: Any,
                  rule: str | None = None, **extra: Any) -> None:
    """load()'s checks on a row already read (an ORM Image, or a Core row of the images table):
    404 unless `ctx` may see it, 403 unless it may do `rule` to it."""
    if image is None or image.status == "deleted":
        raise ImageNotFound(image_id)
    # The members count only where policy.shared_with decides: a shared image, seen by neither
    # its owner nor an admin. Everyone else skips the query (a fifth of a show's database time).
    needs_members = image.visibility == "shared" and not (
        ctx.is_admin or (ctx.project_id is not None and ctx.project_id == image.owner))
    t = target(image, member_ids(s, image.id) if needs_members else [], **extra)
    if not allowed(ctx, "image:get_image", t):
        raise ImageNotFound(image_id)
    if rule:
        enforce(ctx, rule, t)
