"""reads.py, the Core read path of GET /v2/images and /v2/images/{id}: the same views as the ORM
path (model.view over Image rows) for every part of an image, on SQLite and PostgreSQL, and the
same 404s as access.load."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cowcloud.db import Database
from cowcloud.db.models import Image, ImageLocation, ImageMember, ImageProperty, ImageTag, utcnow
from cowcloud.services.context import RequestContext
from cowcloud.services.images import reads
from cowcloud.services.images.errors import ImageNotFound
from cowcloud.services.images.listing import page_ids, parse_query
from cowcloud.services.images.model import view

ADMIN = RequestContext("u0", "admin", "p-admin", "admin", None, ("admin", "member", "reader"))
OWNER = RequestContext("u1", "alice", "p-alice", "alice", None, ("member", "reader"))
MEMBER = RequestContext("u2", "bob", "p-bob", "bob", None, ("member", "reader"))
STRANGER = RequestContext("u3", "carol", "p-carol", "carol", None, ("member", "reader"))
WEIGHTS = {"heavy": 100, "light": 10}


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'reads.db'}")
    else:
        database = Database(request.getfixturevalue("postgres_url"))
    database.migrate()
    with database.session() as s:  # the PostgreSQL server is shared by the session's tests
        for image in s.scalars(select(Image)):
            s.delete(image)
    yield database
    database.dispose()


def _image(s: Any, n: int, **kw: Any) -> Image:
    fields = {"owner": "p-alice", "visibility": "private", "status": "active", **kw}
    image = Image(id=f"00000000-0000-4000-8000-{n:012d}", name=f"img-{n}", disk_format="raw",
                  container_format="bare", size=n, virtual_size=None,
                  created_at=utcnow() - timedelta(minutes=n), **fields)
    s.add(image)
    return image


@pytest.fixture
def images(db: Database) -> list[str]:
    """Images with every kind of part: none at all; properties and tags; locations in stores of
    different weights, added lightest first, beside pending, deleting and reserved ones."""
    with db.session() as s:
        _image(s, 1)
        two = _image(s, 2, checksum="c" * 32, os_hash_algo="sha512", os_hash_value="h" * 128)
        two.properties = [ImageProperty(name="os_distro", value="debian"),
                          ImageProperty(name="hw_disk_bus", value="scsi")]
        two.tags = [ImageTag(value="zeta"), ImageTag(value="alpha")]
        three = _image(s, 3, visibility="public")
        three.locations = [
            ImageLocation(store="light", url="rbd://light/3", status="active", meta={}),
            ImageLocation(store="other", url="rbd://other/3", status="pending", meta={}),
            ImageLocation(store="heavy", url="rbd://heavy/3", status="active", meta={}),
            ImageLocation(store="os_glance_staging_store", url="file:///s/3", status="active",
                          meta={}),
            ImageLocation(store="gone", url="rbd://gone/3", status="deleting", meta={}),
            ImageLocation(store="unweighted", url="rbd://unweighted/3", status="active",
                          meta={})]
        three.properties = [ImageProperty(name="os_glance_importing_to_stores", value="")]
        three.tags = [ImageTag(value="t")]
        shared = _image(s, 4, visibility="shared")
        shared.members = [ImageMember(member_id="p-bob", status="pending")]
        _image(s, 5, status="deleted")
        _image(s, 6, visibility="community", owner="p-other")
    return [f"00000000-0000-4000-8000-{n:012d}" for n in range(1, 7)]


def _orm_views(db: Database, ids: list[str], **opts: Any) -> list[dict[str, Any]]:
    with db.session() as s:
        return [view(s.get(Image, i), **opts) for i in ids]  # type: ignore[arg-type]


@pytest.mark.parametrize("show_locations", [True, False])
def test_views_match_the_orm_view(db: Database, images: list[str], show_locations: bool
                                  ) -> None:
    opts = {"show_locations": show_locations, "weights": WEIGHTS}
    with db.session() as s:
        got = reads.views(s, images, **opts)
    assert got == _orm_views(db, images, **opts)
    three = got[2]
    assert three["stores"] == "heavy,light,unweighted"  # by weight, then the order added
    if show_locations:
        assert [loc["url"] for loc in three["locations"]] == [
            "rbd://heavy/3", "rbd://light/3", "rbd://unweighted/3"]
        assert three["direct_url"] == "rbd://heavy/3"
        assert got[0]["locations"] == [] and "direct_url" not in got[0]
    else:
        assert "locations" not in three and "direct_url" not in three
    assert got[1]["tags"] == ["alpha", "zeta"]
    assert got[1]["os_distro"] == "debian" and got[1]["hw_disk_bus"] == "scsi"


def test_views_keep_the_order_asked_and_skip_missing_ids(db: Database, images: list[str]
                                                         ) -> None:
    asked = [images[2], "00000000-0000-4000-8000-999999999999", images[0]]
    with db.session() as s:
        got = reads.views(s, asked, show_locations=True, weights={})
        assert reads.views(s, [], show_locations=True, weights={}) == []
    assert [v["id"] for v in got] == [images[2], images[0]]


def test_show_matches_the_orm_view_and_its_404s(db: Database, images: list[str]) -> None:
    opts = {"show_locations": True, "weights": WEIGHTS}
    for ctx, image_id in ((OWNER, images[1]), (STRANGER, images[2]), (MEMBER, images[3]),
                          (ADMIN, images[3]), (STRANGER, images[5])):
        with db.session() as s:
            got = reads.show(s, ctx, image_id.upper(), **opts)
        assert got == _orm_views(db, [image_id], **opts)[0]
    for ctx, image_id in ((STRANGER, images[0]), (STRANGER, images[3]), (ADMIN, images[4]),
                          (ADMIN, "not-a-uuid"), (ADMIN, "00000000-0000-4000-8000-999999999999")):
        with pytest.raises(ImageNotFound), db.session() as s:
            reads.show(s, ctx, image_id, **opts)


def test_a_listed_page_is_the_visible_images_in_order(db: Database, images: list[str]) -> None:
    with db.session() as s:
        ids, marker = page_ids(s, OWNER, parse_query([("limit", "2")]))
        assert ids == [images[0], images[1]] and marker == images[1]
        ids, marker = page_ids(s, OWNER, parse_query([("marker", marker)]))
        assert ids == [images[2], images[3]] and marker is None  # not 5 (deleted), 6 (community)
        got = reads.views(s, ids, show_locations=False, weights=WEIGHTS)
    assert got == _orm_views(db, ids, show_locations=False, weights=WEIGHTS)
