"""Image records: create, show, list, update, tags, deactivate and reactivate (no bytes here).

Every function runs inside one short database session given by the caller (see service.py) and
returns rows still attached to it; the caller turns them into views before the session ends.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from ...db.errors import Duplicate, savepoint
from ...db.models import Image, ImageProperty, ImageTag
from ..context import RequestContext
from ..errors import Denied, Invalid, NotFound
from ..policy import enforce
from . import access
from .errors import Conflict, TooLarge
from .model import PROPERTY_QUOTA, READ_ONLY, UUID_RE, WRITABLE_BASE, is_reserved
from .patch import Change, apply, check_value, set_visibility

CREATE_FORBIDDEN = ("direct_url", "self", "file", "schema", "stores", "locations")


def create(s: Session, ctx: RequestContext, body: Any) -> Image:
    if not isinstance(body, dict):
        raise Invalid("Body expected in request: a JSON object describing the image.")
    body = dict(body)
    for key in CREATE_FORBIDDEN:
        if key in body:
            raise Denied(f"Attribute '{key}' is read-only.")
    image_id = body.pop("id", None)
    if image_id is not None:
        if not isinstance(image_id, str) or not UUID_RE.match(image_id):
            raise Invalid(f"Provided object does not match schema 'image': {image_id!r} is not "
                          "a valid image id (a UUID)")
        image_id = image_id.lower()
        if s.get(Image, image_id) is not None:  # deleted images keep their id: never reused
            raise Conflict(f"Image with identifier {image_id} already exists!")
    for key in body:
        if key in READ_ONLY:
            raise Denied(f"Attribute '{key}' is read-only.")
        if is_reserved(key):
            raise Denied(f"Attribute '{key}' is reserved.")
        check_value(key, body[key])
    owner = body.pop("owner", None) or ctx.project_id
    enforce(ctx, "image:add_image", {"owner": owner, "project_id": owner})
    image = Image(id=image_id or str(uuid.uuid4()), owner=owner, status="queued",
                  visibility="shared", protected=False, os_hidden=False, min_ram=0, min_disk=0)
    tags = body.pop("tags", [])
    base = {k: body.pop(k) for k in list(body) if k in WRITABLE_BASE}
    if len(body) > PROPERTY_QUOTA:
        raise TooLarge(f"Maximum number of image properties exceeded ({PROPERTY_QUOTA})")
    visibility = base.pop("visibility", "shared")
    for key, value in base.items():
        setattr(image, key, value)
    set_visibility(ctx, image, access.target(image), visibility)
    image.tags = [ImageTag(value=t) for t in sorted(set(tags))]
    image.properties = [ImageProperty(name=k, value=v) for k, v in body.items()]
    try:
        with savepoint(s):
            s.add(image)
    except Duplicate:  # the same id, asked for by another request at the same moment
        raise Conflict(f"Image with identifier {image.id} already exists!") from None
    return image


def get(s: Session, ctx: RequestContext, image_id: str) -> Image:
    return access.load(s, ctx, image_id)


def update(s: Session, ctx: RequestContext, image_id: str, changes: list[Change]) -> Image:
    image = access.load(s, ctx, image_id, "image:modify_image")
    apply(ctx, image, access.target(image, access.member_ids(s, image.id)), changes)
    s.flush()
    return image


def add_tag(s: Session, ctx: RequestContext, image_id: str, tag: str) -> None:
    image = access.load(s, ctx, image_id, "image:add_tag")
    if len(tag) > 255:
        raise Invalid("Tag should not be greater than 255 characters.")
    if tag not in {t.value for t in image.tags}:
        check_value("tags", [*(t.value for t in image.tags), tag])
        image.tags.append(ImageTag(value=tag))


def delete_tag(s: Session, ctx: RequestContext, image_id: str, tag: str) -> None:
    image = access.load(s, ctx, image_id, "image:delete_tag")
    for t in image.tags:
        if t.value == tag:
            image.tags.remove(t)
            return
    raise NotFound(f"Tag {tag} not found on image {image_id}")


def deactivate(s: Session, ctx: RequestContext, image_id: str) -> None:
    image = access.load(s, ctx, image_id, "image:deactivate")
    if image.status == "deactivated":
        return
    if image.status != "active":
        raise Denied(f"Not allowed to deactivate image in status '{image.status}'")
    image.status = "deactivated"


def reactivate(s: Session, ctx: RequestContext, image_id: str) -> None:
    image = access.load(s, ctx, image_id, "image:reactivate")
    if image.status == "active":
        return
    if image.status != "deactivated":
        raise Denied(f"Not allowed to reactivate image in status '{image.status}'")
    image.status = "active"
