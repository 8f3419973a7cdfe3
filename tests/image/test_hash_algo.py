"""`[image] hashing_algorithm` (Glance's option of that name): new data is hashed with it, the
image names it in os_hash_algo, and the OpenStack client verifies downloads with it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server import RunningServer, openstack, openstack_json, run_server

from cowcloud.config import ConfigError, load

from .conftest import image_settings, local_image_settings
from .helpers import Api, leftovers, make_qcow2, md5, pattern, token_for, unique


@pytest.fixture(scope="module")
def sha256_srv(ceph_clusters: list[Any], tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("sha256-server")
    with run_server(data, image_settings(data, ceph_clusters,
                                         hashing_algorithm="sha256")) as running:
        yield running


@pytest.fixture(scope="module")
def local_sha256_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("local-sha256-server")
    with run_server(data, local_image_settings(data, hashing_algorithm="sha256")) as running:
        yield running


def _admin(srv: RunningServer) -> Api:
    return Api(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin"))


def test_upload_is_hashed_with_the_configured_algorithm(local_sha256_srv: RunningServer,
                                                         tmp_path: Path) -> None:
    data = pattern(5 << 20, seed=21) + bytes(8 << 20) + b"end"
    clouds = local_sha256_srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    (tmp_path / "disk.raw").write_bytes(data)
    created = openstack_json(clouds, "image", "create", "--disk-format", "raw",
                             "--container-format", "bare", "--file", str(tmp_path / "disk.raw"),
                             unique("sha256"))
    image = _admin(local_sha256_srv).image(created["id"])
    assert image["os_hash_algo"] == "sha256"
    assert image["os_hash_value"] == hashlib.sha256(data).hexdigest()
    assert image["checksum"] == md5(data)
    # openstacksdk recomputes os_hash_algo over what it downloads and fails on a mismatch
    openstack(clouds, "image", "save", "--file", str(tmp_path / "saved"), created["id"])
    assert (tmp_path / "saved").read_bytes() == data
    openstack(clouds, "image", "delete", created["id"])
    assert leftovers(local_sha256_srv.settings, created["id"]) == {}


def test_converted_image_keeps_one_algorithm(sha256_srv: RunningServer, tmp_path: Path) -> None:
    raw = pattern(3 << 20, seed=22) + bytes(1 << 20)
    qcow2 = make_qcow2(tmp_path, raw).read_bytes()
    api = _admin(sha256_srv)
    iid = api.create(disk_format="qcow2")["id"]
    assert api.upload(iid, qcow2).status_code == 204
    image = api.image(iid)
    assert image["disk_format"] == "raw" and image["os_hash_algo"] == "sha256"
    assert image["os_hash_value"] == hashlib.sha256(raw).hexdigest()
    assert image["os_glance_uploaded_os_hash_value"] == hashlib.sha256(qcow2).hexdigest()
    api.delete(f"/v2/images/{iid}")


def test_unknown_algorithm_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "cowcloud.toml"
    path.write_text('[image]\nhashing_algorithm = "crc32"\n')
    with pytest.raises(ConfigError, match="image.hashing_algorithm"):
        load(path)
