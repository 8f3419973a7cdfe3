"""GET /v2/images: filters, visibility, sorting and marker pagination, as Glance answers them.

Filters and visibility run in SQL; the ordering runs in Python over (id, sort keys) only, so NULLs
sort the same on SQLite and PostgreSQL (first when ascending, as on Glance's MySQL), and the id
breaks ties so pages never overlap or skip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.orm import Session

from ...db.models import Image, ImageMember, ImageProperty, ImageTag
from ..context import RequestContext
from ..paging import Descending, parse_limit
from ..policy import enforce
from .errors import Invalid
from .model import UUID_RE

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at")
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
IN_FILTERS = ("id", "name", "status", "container_format", "disk_format")
TIME_OPS = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__", "eq": "__eq__",
            "neq": "__ne__"}
BASE_FILTERS = frozenset({"name", "status", "visibility", "owner", "size_min", "size_max",
                          "disk_format", "container_format", "protected", "os_hidden", "id",
                          "checksum", "os_hash_value", "created_at", "updated_at"})


@dataclass
class ListQuery:
    filters: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    member_status: str = "accepted"
    marker: str | None = None
    limit: int = DEFAULT_LIMIT
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc")])


def _sort_key(key: str) -> str:
    if key not in SORT_KEYS:
        raise Invalid(f"Invalid sort key: {key}. It must be one of the following: "
                      f"{', '.join(SORT_KEYS)}.")
    return key


def _sort_dir(direction: str) -> str:
    if direction not in ("asc", "desc"):
        raise Invalid(f"Invalid sort direction: {direction}")
    return direction


def parse_query(params: list[tuple[str, str]]) -> ListQuery:
    """Query parameters (repeats allowed) -> ListQuery; 400 on anything Glance refuses."""
    q = ListQuery()
    keys: list[str] = []
    dirs: list[str] = []
    sort_new: str | None = None
    for name, value in params:
        if "\x00" in name or "\x00" in value:  # PostgreSQL refuses NUL in text: 400, not 500
            raise Invalid("Query parameters may not contain NUL characters")
        if name == "limit":
            q.limit = parse_limit(value, MAX_LIMIT)
        elif name == "marker":
            q.marker = value
        elif name == "tag":
            q.tags.append(value.strip())
        elif name == "member_status":
            if value not in ("pending", "accepted", "rejected", "all"):
                raise Invalid(f"Invalid status: {value}")
            q.member_status = value
        elif name == "sort":
            sort_new = value
        elif name == "sort_key":
            keys.append(_sort_key(value.strip()))
        elif name == "sort_dir":
            dirs.append(_sort_dir(value.strip()))
        elif name == "changes-since":
            raise Invalid('The "changes-since" filter is no longer available on v2.')
        elif name in BASE_FILTERS:
            q.filters[name] = value
        else:
            q.properties[name] = value
    if sort_new is not None:
        if keys or dirs:
            raise Invalid("Old and new sorting syntax cannot be combined")
        q.sort = []
        for part in sort_new.strip().split(","):
            key, _, direction = part.partition(":")
            q.sort.append((_sort_key(key.strip()), _sort_dir(direction.strip() or "desc")))
    elif keys or dirs:
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise Invalid("Number of sort dirs does not match the number of sort keys")
        keys = keys or ["created_at"]
        if len(dirs) <= 1:  # none, or one for every key
            dirs = (dirs or ["desc"]) * len(keys)
        q.sort = list(zip(keys, dirs, strict=True))
    _check_filters(q.filters)
    return q


def _bool(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise Invalid(f"Invalid value '{value}' for '{name}' filter. Valid values are 'true' "
                      "or 'false'.")
    return value.lower() == "true"


def _check_filters(filters: dict[str, str]) -> None:
    vis = filters.get("visibility")
    if vis and vis not in ("community", "public", "private", "shared", "all"):
        raise Invalid(f"Invalid visibility value: {vis}")
    for name in ("size_min", "size_max"):
        if name in filters:
            try:
                value = int(filters[name])
            except ValueError:
                raise Invalid(f"Unable to filter on a range with a non-numeric value: "
                              f"{name}={filters[name]}") from None
            if not -(2**63) <= value < 2**63:  # past a BigInteger: the database refuses it
                raise Invalid(f"Unable to filter on a range with an out-of-range value: "
                              f"{name}={filters[name]}")
    for name in ("protected", "os_hidden"):
        if name in filters:
            _bool(name, filters[name])


def _values(raw: str) -> list[str]:
    """`in:a,b,"c,d"`: Glance's list syntax, with double quotes around values holding commas."""
    out, cur, quoted = [], "", False
    for ch in raw:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def _time_filter(column: Any, raw: str) -> Any:
    op, sep, value = raw.partition(":")
    if not sep or op not in TIME_OPS:
        op, value = "eq", raw
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"Invalid time in filter: {raw}") from None
    return getattr(column, TIME_OPS[op])(when)


def _visible(ctx: RequestContext, q: ListQuery) -> Any:
    """Glance's list visibility: what the caller owns, public images, images shared with it
    (member status as asked), community images only when asked for (or owned)."""
    vis = q.filters.get("visibility")
    if ctx.is_admin:
        return Image.visibility == vis if vis and vis != "all" else None
    project = ctx.project_id
    member = exists().where(ImageMember.image_id == Image.id, ImageMember.member_id == project)
    if q.member_status != "all":
        member = member.where(ImageMember.status == q.member_status)
    mine = Image.owner == project if project else false()
    shared = and_(Image.visibility == "shared", member)
    if vis == "public":
        return Image.visibility == "public"
    if vis == "community":
        return Image.visibility == "community"
    if vis == "private":
        return and_(Image.visibility == "private", mine)
    if vis == "shared":
        return and_(Image.visibility == "shared", or_(mine, member))
    if vis == "all":
        return or_(mine, Image.visibility.in_(("public", "community")), shared)
    return or_(mine, Image.visibility == "public", shared)


def _conditions(ctx: RequestContext, q: ListQuery) -> list[Any]:
    f = q.filters
    conds: list[Any] = [Image.status != "deleted"]
    if (vis := _visible(ctx, q)) is not None:
        conds.append(vis)
    for name in IN_FILTERS:
        if name in f:
            raw = f[name]
            if raw.startswith("in:"):
                values = _values(raw[3:])
                if name == "id":
                    values = [v.lower() for v in values if UUID_RE.match(v)]
                conds.append(getattr(Image, name).in_(values))
            else:
                conds.append(getattr(Image, name) == (raw.lower() if name == "id" else raw))
    for name in ("owner", "checksum", "os_hash_value"):
        if name in f:
            conds.append(getattr(Image, name) == f[name])
    if "size_min" in f:
        conds.append(Image.size >= int(f["size_min"]))
    if "size_max" in f:
        conds.append(Image.size <= int(f["size_max"]))
    if "protected" in f:
        conds.append(Image.protected == _bool("protected", f["protected"]))
    conds.append(Image.os_hidden == _bool("os_hidden", f.get("os_hidden", "false")))
    for name in ("created_at", "updated_at"):
        if name in f:
            conds.append(_time_filter(getattr(Image, name), f[name]))
    for tag in q.tags:
        conds.append(exists().where(ImageTag.image_id == Image.id, ImageTag.value == tag))
    for key, value in q.properties.items():
        conds.append(exists().where(ImageProperty.image_id == Image.id,
                                    ImageProperty.name == key, ImageProperty.value == value))
    return conds


def _order(rows: list[Any], sort: list[tuple[str, str]]) -> list[str]:
    keys = [k for k, _ in sort]
    sort = sort + [(k, sort[-1][1] if sort else "desc") for k in ("created_at", "id")
                   if k not in keys]

    def key(row: Any) -> tuple[Any, ...]:
        parts = []
        for name, direction in sort:
            v = getattr(row, name)
            v = (v is not None, v if v is not None else 0)  # None sorts first ascending
            parts.append(v if direction == "asc" else Descending(v))
        return tuple(parts)
    return [row.id for row in sorted(rows, key=key)]


def page_ids(s: Session, ctx: RequestContext, q: ListQuery) -> tuple[list[str], str | None]:
    """The ids of one page of images the caller may see, in order, and the next page's marker
    (or None)."""
    enforce(ctx, "image:get_images", {"project_id": ctx.project_id})
    columns = {Image.id, *(getattr(Image, k) for k, _ in q.sort), Image.created_at}
    # Core on the session's connection: the ORM's execution layer would cost more than the query
    rows = s.connection().execute(select(*columns).where(*_conditions(ctx, q))).all()
    ids = _order(list(rows), q.sort)
    start = 0
    if q.marker is not None:
        try:
            start = ids.index(q.marker.lower()) + 1
        except ValueError:
            raise Invalid(f"marker {q.marker} could not be found.") from None
    page = ids[start:start + q.limit]
    more = q.limit > 0 and start + q.limit < len(ids)
    return page, (page[-1] if more and page else None)
