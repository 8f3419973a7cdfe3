"""attach_spec: how a hypervisor reaches a device, on each backend (what volumes'
connection_info is made of)."""

from __future__ import annotations

import json
import subprocess

import pytest

from cowcloud.storage import BaseBackend, DeviceRef
from cowcloud.storage.contract import MiB
from cowcloud.storage.errors import NotFound


async def test_attach_spec_names_a_device_a_guest_can_open(backend: BaseBackend,
                                                           dev: DeviceRef) -> None:
    await backend.create(dev, 8 * MiB)
    spec = await backend.attach_spec(dev)
    assert spec["kind"] == backend.info.kind
    if spec["kind"] == "rbd":
        assert (spec["pool"], spec["name"]) == (dev.pool, dev.name)
        assert spec["hosts"] and len(spec["hosts"]) == len(spec["ports"])
        assert all(p.isdigit() for p in spec["ports"])
        assert spec["fsid"] == backend.info.cluster_id and spec["cluster_name"] == "ceph"
        assert spec["auth_enabled"] is True and spec["user"]
    else:
        out = subprocess.run(["qemu-img", "info", "-U", "--output=json", spec["path"]],
                             capture_output=True, text=True, check=True).stdout
        info = json.loads(out)
        assert info["format"] == spec["format"] == "qcow2"
        assert info["virtual-size"] == 8 * MiB
        # a snapshot leaves the path in place (the new top layer takes the name)
        await backend.snapshot(dev, "s1")
        assert (await backend.attach_spec(dev))["path"] == spec["path"]
        await backend.remove_snapshot(dev.snap("s1"))
    await backend.remove(dev)
    with pytest.raises(NotFound):
        await backend.attach_spec(dev)
