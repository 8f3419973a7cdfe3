"""A store whose disk is full: the upload is refused as Glance refuses it (413, "Image storage
media is full"), not with the storage layer's own status and words, and nothing is left behind.
The local store lives on a small tmpfs mounted for the test (the suite runs as root)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from server import run_server

from cowcloud.config import Settings

from .helpers import Api, leftovers, pattern, token_for


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Settings]]:
    data = tmp_path_factory.mktemp("store-full")
    disk = data / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6M", "tmpfs", str(disk)], check=True)
    try:
        local = {"kind": "local", "site": "a"}
        settings = Settings.model_validate({
            "server": {"data_dir": str(data)}, "sites": {"a": {}},
            "clusters": {"small": {**local, "path": str(disk / "cluster")}, "big": local},
            "image_stores": {"small": {"cluster": "small", "pool": "images", "default": True},
                             "big": {"cluster": "big", "pool": "images"}}})
        with run_server(data, settings) as srv:
            yield Api(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin")), \
                srv.settings
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_full_store_is_413_and_leaves_nothing(small: tuple[Api, Settings]) -> None:
    api, settings = small
    iid = api.create()["id"]
    resp = api.upload(iid, pattern(32 << 20), store="small")
    assert resp.status_code == 413, resp.text
    assert resp.json()["message"].startswith("Image storage media is full")
    assert api.image(iid)["status"] == "queued"
    assert leftovers(settings, iid) == {}
    # the space came back: a small image fits, and the other store was never affected
    assert api.upload(iid, pattern(1 << 20), store="small").status_code == 204
    other = api.create()["id"]
    assert api.upload(other, pattern(8 << 20), store="big").status_code == 204
