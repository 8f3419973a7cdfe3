"""Store weights (Glance's per-store `weight`): stores and locations are listed heaviest first,
direct_url names the heaviest copy, and a download reads it unless the caller prefers another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server import RunningServer, run_server

from cowcloud.config import ConfigError, load

from .conftest import image_settings
from .helpers import Api, leftovers, mark_device, pattern, token_for

WEIGHTS = {"dcn0": 100, "central": 50}  # edge and central-b keep 0


@pytest.fixture(scope="module")
def weighted(ceph_clusters: list[Any], tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("weighted-server")
    with run_server(data, image_settings(data, ceph_clusters, weights=WEIGHTS)) as running:
        yield running


def test_heaviest_store_first(weighted: RunningServer, ceph_clusters: list[Any]) -> None:
    api = Api(weighted.url, token_for(weighted.url, "admin", weighted.admin_password, "admin"))
    info = {s["id"]: s["weight"] for s in api.get("/v2/info/stores").json()["stores"]}
    assert info == {"central": 50, "dcn0": 100, "edge": 0, "central-b": 0}
    data = pattern(2 << 20, seed=51)
    iid = api.create()["id"]
    assert api.upload(iid, data, store="edge").status_code == 204
    assert api.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "copy-image"}, "stores": ["central", "dcn0"]}).status_code == 202
    assert api.wait_tasks(iid)[0]["status"] == "success"
    image = api.image(iid)
    assert image["stores"] == "dcn0,central,edge"
    assert [loc["metadata"]["store"] for loc in image["locations"]] == ["dcn0", "central", "edge"]
    assert image["direct_url"] == image["locations"][0]["url"]
    assert image["direct_url"].startswith(f"rbd://{ceph_clusters[1].fsid}/")
    # mark the dcn0 copy behind the server's back: the download must read that one
    mark_device(ceph_clusters[1], "images", iid, b"DCN0")
    assert api.get(f"/v2/images/{iid}/file").content[:4] == b"DCN0"
    assert api.get(f"/v2/images/{iid}/file", params={"prefer": "central"}).content == data
    api.delete(f"/v2/images/{iid}")
    assert leftovers(weighted.settings, iid) == {}


def test_weight_must_be_an_integer(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[sites.a]\n[clusters.c]\nkind = "local"\nsite = "a"\n'
                    '[image_stores.s]\ncluster = "c"\npool = "p"\nweight = "heavy"\n')
    with pytest.raises(ConfigError, match="image_stores.s.weight"):
        load(path)
