"""The embedded default (`cowcloud serve` with no configuration: one local qcow2 cluster, image
store and volume backend in the data folder) serves volumes too, with no Ceph at all: a volume
from an image is a COW clone there, snapshots and clones work, and nothing is left."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server import RunningServer, run_server

from cowcloud.config import embedded_default

from .helpers import VolumeApi, fault, pattern, pool_devices, read_device, token_for


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("local-volumes")
    with run_server(data, embedded_default(data)) as running:
        yield running


def test_volumes_on_the_embedded_default(local: RunningServer) -> None:
    project = local.app.state.runtime.identity.list_projects(name="admin")[0]
    api = VolumeApi(local.url, token_for(local.url, "admin", local.admin_password, "admin"),
                    project.id)
    settings = local.settings
    data = pattern(1 << 20, seed=41)
    iid = api.image(data)
    vol = api.wait(api.create(size=1, imageRef=iid)["id"])
    assert vol["availability_zone"] == "default" and vol["bootable"] == "true"
    assert read_device(settings, "local", vol["id"], len(data)) == data
    snap = api.snapshot(vol["id"])
    clone = api.wait(api.create(snapshot_id=snap["id"], size=2)["id"])
    copy = api.wait(api.create(source_volid=vol["id"])["id"])
    for vid in (clone["id"], copy["id"]):
        assert read_device(settings, "local", vid, len(data)) == data
    assert "dependent snapshots" in fault(api.delete(f"/volumes/{vol['id']}"), 400)
    assert api.delete(f"/volumes/{vol['id']}?cascade=true").status_code == 202
    api.gone(vol["id"])
    for vid in (clone["id"], copy["id"]):
        assert api.delete(f"/volumes/{vid}").status_code == 202
        api.gone(vid)
    api.delete_image(iid)
    assert pool_devices(settings) == {"local": []}
