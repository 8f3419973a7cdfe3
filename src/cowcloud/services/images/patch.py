"""Image metadata: validating base attributes and extra properties, and JSON patch (IMG-04).

Both `application/openstack-images-v2.1-json-patch` (RFC 6902 shape, draft 10) and the deprecated
v2.0 form (`{"replace": "/name", "value": ...}`, draft 4) are accepted. Read-only attributes get one
clear 403 whatever the operation (Glance answers 409 or even 200 for some, see REFERENCE §6);
reserved names (os_glance_*, location, deleted) 403 as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...db.models import Image, ImageTag
from ..context import RequestContext
from ..errors import Denied, Invalid
from ..policy import enforce
from .errors import Conflict, TooLarge
from .model import (
    CONTAINER_FORMATS,
    DISK_FORMATS,
    PROPERTY_QUOTA,
    READ_ONLY,
    TAG_QUOTA,
    VISIBILITIES,
    WRITABLE_BASE,
    is_reserved,
    set_prop,
)

PATCH_TYPES = {"application/openstack-images-v2.1-json-patch": 10,
               "application/openstack-images-v2.0-json-patch": 4}
OPERATIONS = ("add", "remove", "replace")
MAX_INT32 = 2**31 - 1  # min_ram, min_disk: Integer columns (as Glance's)


@dataclass(frozen=True)
class Change:
    op: str
    path: str  # the attribute: patches address top-level attributes only
    value: Any = None
    draft: int = 10


def check_name(key: str) -> None:
    """A key the caller may set: not read-only, not reserved."""
    if key in READ_ONLY:
        raise Denied(f"Attribute '{key}' is read-only.")
    if is_reserved(key):
        raise Denied(f"Attribute '{key}' is reserved.")


def check_value(key: str, value: Any) -> Any:
    """Validates one attribute's value as Glance's image schema does (400 when wrong)."""
    def bad(why: str) -> Invalid:
        return Invalid(f"Provided object does not match schema 'image': {value!r} {why} "
                       f"(attribute '{key}')")
    if "\x00" in key:  # PostgreSQL text cannot hold NUL: refuse it here, not with a 500
        raise Invalid(f"Attribute names may not contain NUL characters: {key!r}")
    if isinstance(value, str) and "\x00" in value:
        raise bad("contains a NUL character")
    if key == "name" or key == "owner":
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise bad("is not a string of at most 255 characters")
    elif key == "visibility":
        if value not in VISIBILITIES:
            raise bad(f"is not one of {list(VISIBILITIES)}")
    elif key in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise bad("is not of type 'boolean'")
    elif key in ("min_ram", "min_disk"):
        if (not isinstance(value, int) or isinstance(value, bool) or value < 0
                or value > MAX_INT32):  # an Integer column: larger values 500 at the database
            raise bad(f"is not an integer between 0 and {MAX_INT32}")
    elif key == "disk_format":
        if value is not None and value not in DISK_FORMATS:
            raise bad(f"is not one of {[None, *DISK_FORMATS]}")
    elif key == "container_format":
        if value is not None and value not in CONTAINER_FORMATS:
            raise bad(f"is not one of {[None, *CONTAINER_FORMATS]}")
    elif key == "tags":
        if not isinstance(value, list) or not all(isinstance(t, str) and len(t) <= 255
                                                  and "\x00" not in t for t in value):
            raise bad("is not a list of strings of at most 255 characters")
        if len(set(value)) > TAG_QUOTA:
            raise TooLarge(f"Maximum number of tags exceeded ({TAG_QUOTA})")
    else:
        if len(key) > 255:
            raise Invalid("Custom property should not be greater than 255 characters.")
        if not isinstance(value, str):
            raise bad("is not of type 'string'")
    return value


def _pointer(pointer: Any) -> str:
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise Invalid(f"Pointer `{pointer}` does not start with \"/\".")
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise Invalid(f"Pointer `{pointer}` contains \"~\" not part of a recognized escape "
                      "sequence.")
    parts = [p.replace("~1", "/").replace("~0", "~").strip() for p in pointer[1:].split("/")]
    if len(parts) != 1 or not parts[0]:
        raise Invalid(f"Invalid JSON pointer for this resource: '{pointer}'")
    return parts[0]


def parse_patch(body: Any, draft: int) -> list[Change]:
    if not isinstance(body, list):
        raise Invalid("Request body must be a JSON array of operation objects.")
    changes = []
    for raw in body:
        if not isinstance(raw, dict):
            raise Invalid("Operations must be JSON objects.")
        if draft == 10:
            op = raw.get("op")
            if op not in OPERATIONS:
                raise Invalid(f"Invalid operation: `{op}`. It must be one of the following: "
                              f"{', '.join(OPERATIONS)}.")
            if "path" not in raw:
                raise Invalid("Unable to find 'path' in JSON Schema change")
            path = _pointer(raw["path"])
        else:
            ops = [k for k in OPERATIONS if k in raw]
            if len(ops) != 1:
                raise Invalid('Operation objects must contain exactly one member named "add", '
                              '"remove", or "replace".')
            op = ops[0]
            path = _pointer(raw[op])
        check_name(path)
        if op != "remove":
            if "value" not in raw:
                raise Invalid(f'Operation "{op}" requires a member named "value".')
            check_value(path, raw["value"])
        changes.append(Change(op, path, raw.get("value"), draft))
    return changes


def set_visibility(ctx: RequestContext, image: Image, target: dict[str, Any], value: str) -> None:
    if value == image.visibility:
        return
    if value == "public":
        enforce(ctx, "image:publicize_image", target)
    elif value == "community":
        enforce(ctx, "image:communitize_image", target)
    image.visibility = value


def set_tags(image: Image, tags: list[str]) -> None:
    wanted = set(tags)
    for tag in list(image.tags):
        if tag.value not in wanted:
            image.tags.remove(tag)
    have = {t.value for t in image.tags}
    image.tags.extend(ImageTag(value=t) for t in sorted(wanted - have))


def set_base(ctx: RequestContext, image: Image, target: dict[str, Any], key: str,
             value: Any) -> None:
    if key == "tags":
        set_tags(image, value)
    elif key == "visibility":
        set_visibility(ctx, image, target, value)
    elif key == "owner":
        if value != image.owner and not ctx.is_admin:
            raise Denied("Owner can't be updated by non admin.")
        image.owner = value
    elif key in ("container_format", "disk_format"):
        if value != getattr(image, key) and image.status != "queued":
            raise Denied(f"Attribute {key} can be only replaced for a queued image.")
        setattr(image, key, value)
    else:
        setattr(image, key, value)


def apply(ctx: RequestContext, image: Image, target: dict[str, Any],
          changes: list[Change]) -> None:
    """Applies the changes to a loaded image row (the caller commits)."""
    props = {p.name for p in image.properties}
    for ch in changes:
        base = ch.path in WRITABLE_BASE
        if ch.op == "remove":
            if base:
                raise Denied(f"Property {ch.path} may not be removed.")
            if ch.path not in props:
                raise Conflict(f"Property {ch.path} does not exist.")
            set_prop(image, ch.path, None)
            props.discard(ch.path)
            continue
        if base:
            set_base(ctx, image, target, ch.path, ch.value)
            continue
        if ch.op == "replace" and ch.path not in props:
            raise Conflict(f"Property {ch.path} does not exist.")
        if ch.op == "add" and ch.draft == 4 and ch.path in props:
            raise Conflict(f"Property {ch.path} already present.")
        set_prop(image, ch.path, ch.value)
        props.add(ch.path)
    if len(props) > PROPERTY_QUOTA:
        raise TooLarge(f"Maximum number of image properties exceeded ({PROPERTY_QUOTA})")
