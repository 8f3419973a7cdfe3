"""all_stores_must_succeed (IMP-07) when one target store fails (its pool does not exist), and
the import lock (IMP-08): a second import while one runs is refused. Neither depends on what
kind of store fails, so the server here has local stores only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server import run_server

from cowcloud.config import Settings

from .helpers import Api, leftovers, pattern, token_for


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Settings]]:
    data = tmp_path_factory.mktemp("broken-store")
    local = {"kind": "local", "site": "a"}
    settings = Settings.model_validate({
        "server": {"data_dir": str(data)}, "sites": {"a": {}},
        "clusters": {"local0": local, "local1": local, "local2": local},
        "image_stores": {"central": {"cluster": "local0", "pool": "images", "default": True},
                         "broken": {"cluster": "local1", "pool": "no-such-pool"},
                         "edge": {"cluster": "local2", "pool": "images"}}})
    with run_server(data, settings) as srv:
        # the server makes a local store's pool folder at start: take it away, as a Ceph pool
        # that nobody created
        (srv.settings.cluster_path("local1") / "no-such-pool").rmdir()
        yield Api(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin")), srv.settings


def _copy(api: Api, iid: str, must: bool) -> dict[str, Any]:
    resp = api.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "copy-image"}, "stores": ["edge", "broken"],
        "all_stores_must_succeed": must})
    assert resp.status_code == 202, resp.text
    return api.wait_tasks(iid)[-1]


def test_must_succeed_undoes_every_copy(broken: tuple[Api, Settings]) -> None:
    api, settings = broken
    iid = api.create()["id"]
    api.upload(iid, pattern(2 << 20))
    task = _copy(api, iid, must=True)
    assert task["status"] == "failure" and "broken" in task["message"]
    image = api.image(iid)
    assert image["status"] == "active" and image["stores"] == "central"
    assert set(image["os_glance_failed_import"].split(",")) >= {"broken"}
    assert image["os_glance_importing_to_stores"] == ""
    assert leftovers(settings, iid) == {"central": [iid]}  # the edge copy was removed too
    api.delete(f"/v2/images/{iid}")


def test_may_fail_keeps_the_copies_that_worked(broken: tuple[Api, Settings]) -> None:
    api, settings = broken
    iid = api.create()["id"]
    api.upload(iid, pattern(2 << 20))
    task = _copy(api, iid, must=False)
    assert task["status"] == "success", task
    image = api.image(iid)
    assert image["stores"] == "central,edge"
    assert image["os_glance_failed_import"] == "broken"
    assert leftovers(settings, iid) == {"central": [iid], "edge": [iid]}
    api.delete(f"/v2/images/{iid}")
    assert leftovers(settings, iid) == {}


def test_one_import_at_a_time(broken: tuple[Api, Settings], tmp_path: Path) -> None:
    api, settings = broken
    iid = api.create()["id"]
    api.upload(iid, pattern(64 << 20))
    body = {"method": {"name": "copy-image"}, "stores": ["edge"]}
    assert api.post(f"/v2/images/{iid}/import", json=body).status_code == 202
    second = api.post(f"/v2/images/{iid}/import", json=body)
    assert second.status_code == 409, second.text
    api.wait_tasks(iid)
    assert api.image(iid)["stores"] == "central,edge"
    api.delete(f"/v2/images/{iid}")
