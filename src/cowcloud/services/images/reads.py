"""The image views of GET /v2/images and GET /v2/images/{id}, read with SQLAlchemy Core.

The ORM would build an Image and its properties, tags and locations as objects (about a hundred
for a page of 20) only for model.view to read them once: most of a read's CPU. Here the views of
a page (whose ids listing.page_ids chose) are two statements, the images' columns and one UNION
ALL of their properties, tags and locations, and each view comes from the same model.compose as
the ORM's, so both answer alike. Writes keep the ORM.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, Text, bindparam, cast, literal, null, select, union_all
from sqlalchemy.orm import Session

from ...db.models import Image, ImageLocation, ImageProperty, ImageTag
from ..context import RequestContext
from .access import check_id, check_visible
from .model import compose

_IMAGES = Image.__table__
_PROP, _TAG, _LOC = 0, 1, 2


class Loc(NamedTuple):
    store: str
    url: str
    status: str
    order: int


def _children(one: bool) -> Any:
    """(image_id, kind, a, b, c, ord) for each property (name, value), tag (value) and location
    (store, url, status; ord is its id, so that locations keep the order they were added in) of
    the images :ids (or of the image :id: an expanding IN is compiled again on every call)."""
    ids = bindparam("id") if one else bindparam("ids", expanding=True)
    none = cast(null(), Text)
    props = select(ImageProperty.image_id, literal(_PROP, Integer), ImageProperty.name,
                   ImageProperty.value, none, literal(0, Integer)
                   ).where(_match(ImageProperty.image_id, ids))
    tags = select(ImageTag.image_id, literal(_TAG, Integer), ImageTag.value, none, none,
                  literal(0, Integer)).where(_match(ImageTag.image_id, ids))
    locs = select(ImageLocation.image_id, literal(_LOC, Integer), ImageLocation.store,
                  ImageLocation.url, ImageLocation.status, ImageLocation.id
                  ).where(_match(ImageLocation.image_id, ids))
    return union_all(props, tags, locs)


def _match(column: Any, ids: Any) -> Any:
    return column.in_(ids) if ids.expanding else column == ids


# Built once: constructing a statement costs more Python than running a cached one.
_CHILDREN = _children(one=False)
_CHILDREN_OF_ONE = _children(one=True)
_PAGE = select(*_IMAGES.columns).where(_IMAGES.c.id.in_(bindparam("ids", expanding=True)))
_ONE = select(*_IMAGES.columns).where(_IMAGES.c.id == bindparam("id"))


def _compose_all(conn: Connection, rows: Mapping[str, Any], ids: list[str], *,
                 show_locations: bool, weights: Mapping[str, int]) -> list[dict[str, Any]]:
    parts: dict[str, tuple[list[tuple[str, str]], list[str], list[Loc]]] = {
        i: ([], [], []) for i in rows}
    keys = list(rows)
    found = (conn.execute(_CHILDREN_OF_ONE, {"id": keys[0]}) if len(keys) == 1 else
             conn.execute(_CHILDREN, {"ids": keys}) if keys else [])
    for image_id, kind, a, b, c, order in found:
        mine = parts[image_id]
        if kind == _PROP:
            mine[0].append((a, b))
        elif kind == _TAG:
            mine[1].append(a)
        else:
            mine[2].append(Loc(a, b, c, order))
    for _, _, locs in parts.values():
        if len(locs) > 1:  # in the order added, as the ORM's relationship loads them
            locs.sort(key=lambda loc: loc.order)
    return [compose(rows[i]._mapping, *parts[i], show_locations=show_locations,
                    weights=weights) for i in ids if i in rows]


def views(s: Session, ids: list[str], *, show_locations: bool,
          weights: Mapping[str, int]) -> list[dict[str, Any]]:
    """The views of the images `ids` (in that order; ids that are gone are left out)."""
    if not ids:
        return []
    conn = s.connection()
    rows = {r.id: r for r in conn.execute(_PAGE, {"ids": ids})}
    return _compose_all(conn, rows, ids, show_locations=show_locations, weights=weights)


def show(s: Session, ctx: RequestContext, image_id: str, *, show_locations: bool,
         weights: Mapping[str, int]) -> dict[str, Any]:
    """The view of one image, if `ctx` may see it (else 404, as access.load)."""
    conn = s.connection()
    row = conn.execute(_ONE, {"id": check_id(image_id)}).first()
    check_visible(s, ctx, image_id, row)
    assert row is not None
    return _compose_all(conn, {row.id: row}, [row.id], show_locations=show_locations,
                        weights=weights)[0]
