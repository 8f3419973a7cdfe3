"""Review findings on the tasks API, the metadefs catalog and ?prefer= downloads: bodies that
are not JSON (NaN, Infinity) or nest past Python's recursion limit, internal tasks shown through
the type filter, concurrent creates of one image id, names no URL can reach, the caller's store
order, and (on PostgreSQL) NUL bytes and concurrent new resource types."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pg_server import fresh_database
from server import RunningServer, race, run_server, settings_for
from sqlalchemy import delete

from cowcloud.db.models import Task, utcnow
from cowcloud.services.images.env import REAP_KIND

from .helpers import Api, copied_to_dcn0_and_marked, pattern, token_for, unique

NS = "/v2/metadefs/namespaces"


def _glance_error(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    assert body["code"] == f"{status} {body['title']}" and body["message"], body
    return body




def _legacy(image_id: str | None = None, **inp: Any) -> dict[str, Any]:
    props = {"name": unique("rv"), "disk_format": "raw", "container_format": "bare"}
    if image_id:
        props["id"] = image_id
    return {"type": "import", "input": {"import_from": "http://127.0.0.1:1/none",
                                        "import_from_format": "raw",
                                        "image_properties": props, **inp}}


def _task_ids(api: Api) -> set[str]:
    return {t["id"] for t in api.get("/v2/tasks?limit=1000").json()["tasks"]}


# ------------------------------------------------------------------------ bodies

@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_400_and_write_nothing(local_admin: Api, number: bytes) -> None:
    """json.loads takes them; stored, they made the create and every later GET of the task or
    namespace a 500 (the response cannot be encoded)."""
    before = _task_ids(local_admin)
    task = (b'{"type": "import", "input": {"import_from": "http://127.0.0.1:1/x", '
            b'"import_from_format": "raw", "x": ' + number + b', "image_properties": '
            b'{"disk_format": "raw", "container_format": "bare"}}}')
    _glance_error(local_admin.post("/v2/tasks", content=task), 400)
    assert _task_ids(local_admin) == before
    name = unique("nan")
    ns = (b'{"namespace": "' + name.encode() + b'", "properties": {"p": {"type": "number", '
          b'"title": "p", "minimum": ' + number + b'}}}')
    _glance_error(local_admin.post(NS, content=ns), 400)
    _glance_error(local_admin.get(f"{NS}/{name}"), 404)


@pytest.mark.parametrize("depth", [33, 950, 100_000])
def test_deeply_nested_bodies_are_400_and_write_nothing(local_admin: Api, depth: int) -> None:
    """Past ~950 levels json.loads, the database's JSON column or the response encoder met
    Python's recursion limit: 500s, at 950 after the task was written."""
    nested = b"[" * depth + b"]" * depth
    if len(nested) > 256 << 10:
        nested = nested[:120_000] + nested[-120_000:]  # under the size cap, still that deep
    before = _task_ids(local_admin)
    task = (b'{"type": "import", "input": {"import_from": "http://127.0.0.1:1/x", '
            b'"import_from_format": "raw", "x": ' + nested + b', "image_properties": '
            b'{"disk_format": "raw", "container_format": "bare"}}}')
    assert "nested" in _glance_error(local_admin.post("/v2/tasks", content=task), 400)["message"]
    assert _task_ids(local_admin) == before
    name = unique("deep")
    ns = (b'{"namespace": "' + name.encode() + b'", "properties": {"p": {"type": "array", '
          b'"title": "p", "default": ' + nested + b'}}}')
    _glance_error(local_admin.post(NS, content=ns), 400)
    _glance_error(local_admin.get(f"{NS}/{name}"), 404)
    _glance_error(local_admin.post("/v2/images", content=b'{"x": ' + nested + b'}'), 400)


def test_lone_surrogates_are_400_and_write_nothing(local_admin: Api) -> None:
    """json.loads turns the escape \\ud800 into a string no database or response can encode:
    the task was written and then every answer about it was a 500."""
    before = _task_ids(local_admin)
    task = (b'{"type": "import", "input": {"import_from": "http://127.0.0.1:1/\\ud800", '
            b'"import_from_format": "raw", "image_properties": {"disk_format": "raw", '
            b'"container_format": "bare"}}}')
    assert "surrogate" in _glance_error(local_admin.post("/v2/tasks", content=task), 400)["message"]
    assert _task_ids(local_admin) == before
    name = unique("sur")
    for ns in (b'{"namespace": "' + name.encode() + b'\\udfff"}',
               b'{"namespace": "' + name.encode() + b'", "tags": [{"name": "\\ud800"}]}'):
        _glance_error(local_admin.post(NS, content=ns), 400)
    _glance_error(local_admin.get(f"{NS}/{name}"), 404)
    paired = b'{"namespace": "' + name.encode() + b'\\ud83d\\ude42"}'  # a pair is text
    assert local_admin.post(NS, content=paired).status_code == 201
    assert local_admin.delete(f"{NS}/{name}\U0001f642").status_code == 204


def test_a_reasonably_nested_default_still_fits(local_admin: Api) -> None:
    name = unique("nest")
    default: Any = "leaf"
    for _ in range(20):
        default = [default]
    resp = local_admin.post(NS, json={"namespace": name, "properties": {
        "p": {"type": "array", "title": "p", "default": default}}})
    assert resp.status_code == 201, resp.text
    assert local_admin.get(f"{NS}/{name}").json()["properties"]["p"]["default"] == default
    assert local_admin.delete(f"{NS}/{name}").status_code == 204


# ------------------------------------------------------------------------ tasks

@pytest.fixture
def internal_task(local_srv: RunningServer) -> Iterator[str]:
    """A deferred delete's task (an internal kind), held back a day so no runner takes it."""
    runtime = local_srv.app.state.runtime
    with runtime.db.session() as s:
        task = runtime.tasks.add(s, REAP_KIND, input={"probe": True},
                                 not_before=utcnow() + timedelta(days=1))
        task_id = task.id
    yield task_id
    with runtime.db.session() as s:
        s.execute(delete(Task).where(Task.id == task_id))


def test_type_filter_shows_no_internal_task(local_admin: Api, internal_task: str) -> None:
    """?type=image_reap listed the deferred deletes the tasks API promises to keep out of
    sight; Glance refuses a type or status it does not know."""
    body = _glance_error(local_admin.get(f"/v2/tasks?type={REAP_KIND}"), 400)
    assert internal_task not in body["message"]
    _glance_error(local_admin.get("/v2/tasks?status=queued"), 400)
    _glance_error(local_admin.get(f"/v2/tasks/{internal_task}"), 404)
    _glance_error(local_admin.get(f"/v2/tasks?marker={internal_task}"), 400)
    for query in ("type=import", "type=api_image_import", "status=failure", "status=pending"):
        resp = local_admin.get(f"/v2/tasks?{query}")
        assert resp.status_code == 200, resp.text
        assert internal_task not in {t["id"] for t in resp.json()["tasks"]}


def test_concurrent_creates_of_one_image_id_are_one_201(local_admin: Api) -> None:
    """Both the legacy task and POST /v2/images: the losers' insert failed at the database and
    came back as a 500, not Glance's 409."""
    for _ in range(3):
        iid = str(uuid.uuid4())
        body = _legacy(iid)
        resps = race([lambda b=body: local_admin.post("/v2/tasks", json=b)] * 4)
        assert sorted(r.status_code for r in resps) == [201, 409, 409, 409], \
            [(r.status_code, r.text) for r in resps]
        for r in resps:
            if r.status_code == 409:
                _glance_error(r, 409)
        iid = str(uuid.uuid4())
        image = {"id": iid, "name": unique("rv"), "disk_format": "raw",
                 "container_format": "bare"}
        resps = race([lambda b=image: local_admin.post("/v2/images", json=b)] * 4)
        assert sorted(r.status_code for r in resps) == [201, 409, 409, 409], \
            [(r.status_code, r.text) for r in resps]
        assert local_admin.delete(f"/v2/images/{iid}").status_code == 204


# ------------------------------------------------------------------------ metadefs names

@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_refused(local_admin: Api, name: str) -> None:
    """A namespace named '..' was made, then no client could show or delete it: requests and
    httpx resolve the dot segments of the URL before sending it."""
    _glance_error(local_admin.post(NS, json={"namespace": name}), 400)
    ns = unique("dots")
    assert local_admin.post(NS, json={"namespace": ns}).status_code == 201
    try:
        _glance_error(local_admin.post(f"{NS}/{ns}/objects", json={"name": name}), 400)
        _glance_error(local_admin.post(f"{NS}/{ns}/properties",
                                       json={"name": name, "type": "string", "title": "t"}), 400)
        _glance_error(local_admin.post(f"{NS}/{ns}/tags", json={"tags": [{"name": name}]}), 400)
        assert local_admin.post(f"{NS}/{ns}/tags/keep").status_code == 201
        _glance_error(local_admin.put(f"{NS}/{ns}/tags/keep", json={"name": name}), 400)
        shown = local_admin.get(f"{NS}/{ns}").json()
        assert shown.get("tags") == [{"name": "keep"}] and "objects" not in shown
        assert "properties" not in shown
    finally:
        assert local_admin.delete(f"{NS}/{ns}").status_code == 204


# ------------------------------------------------------------------------ ?prefer=

def test_prefer_naming_the_default_first_reads_the_default(admin: Api,
                                                           ceph_clusters: list[Any]) -> None:
    """?prefer=central,dcn0 read dcn0: the default store, appended after the caller's list,
    took the rank of its second mention (fixed meanwhile by the store weights commit, 47c1ad0);
    a store the caller names twice still did. The dcn0 copy is marked to tell which was
    read."""
    data = pattern(1 << 20, seed=77)
    iid = copied_to_dcn0_and_marked(admin, ceph_clusters, data)
    try:
        got = admin.get(f"/v2/images/{iid}/file", params={"prefer": "central,dcn0"}).content
        assert got == data
        got = admin.get(f"/v2/images/{iid}/file", params={"prefer": "dcn0,central"}).content
        assert got[:4] == b"DCN0"
        # named twice, a store keeps its first place (the later mention took its rank)
        got = admin.get(f"/v2/images/{iid}/file",
                        params={"prefer": "dcn0,central,dcn0"}).content
        assert got[:4] == b"DCN0"
    finally:
        admin.delete(f"/v2/images/{iid}")


# ------------------------------------------------------------------------ on PostgreSQL

@pytest.fixture(scope="module")
def pg(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server on its own PostgreSQL database (no stores: tasks and metadefs need none), as
    admin. PostgreSQL refuses NUL in text and runs writers side by side, which SQLite does
    not."""
    data = tmp_path_factory.mktemp("pg-image")
    settings = settings_for(data, database=fresh_database(postgres_url, "review_image"))
    with run_server(data, settings) as srv:
        token = token_for(srv.url, "admin", srv.admin_password, "admin")
        yield Api(srv.url, token)


def test_nul_in_task_ids_filters_and_resource_types_on_postgresql(pg: Api) -> None:
    _glance_error(pg.get("/v2/tasks/a%00b"), 404)
    _glance_error(pg.get("/v2/tasks?type=a%00b"), 400)
    _glance_error(pg.get("/v2/tasks?status=a%00b"), 400)
    resp = pg.get(f"{NS}?resource_types=a%00b")
    assert resp.status_code == 200 and resp.json()["namespaces"] == [], resp.text
    assert pg.get("/v2/tasks").status_code == 200


def test_concurrent_new_resource_type_on_postgresql(pg: Api) -> None:
    """Several namespaces associated at once with one type nobody made yet: every insert of
    the type but one failed, and that request was refused with a 409 that named an
    association which did not exist."""
    names = [unique("rt") for _ in range(4)]
    for name in names:
        assert pg.post(NS, json={"namespace": name}).status_code == 201
    for _ in range(6):
        rtype = f"Review::{uuid.uuid4().hex[:8]}"
        resps = race([lambda n=n, t=rtype: pg.post(f"{NS}/{n}/resource_types",
                                                     json={"name": t}) for n in names])
        assert [r.status_code for r in resps] == [201] * 4, [r.text for r in resps]
        rtype = f"Review::{uuid.uuid4().hex[:8]}"
        made = [unique("rtns") for _ in range(4)]
        resps = race([lambda n=n, t=rtype: pg.post(NS, json={
            "namespace": n, "resource_type_associations": [{"name": t}]}) for n in made])
        assert [r.status_code for r in resps] == [201] * 4, [r.text for r in resps]
    listed = [t["name"] for t in pg.get("/v2/metadefs/resource_types").json()["resource_types"]]
    assert len(listed) == len(set(listed))
