"""One cowcloud server for the volume tests: two real Ceph clusters and a local one, each with
an image store and a volume backend, as the Ceph "Block devices and OpenStack" guide sets up
Glance and Cinder on one cluster (pools images and volumes), times two sites, plus an edge.

Volume backends: `central` (ceph0/volumes, the default), `dcn0` (ceph1/volumes), `edge` (local
qcow2 cluster, pool volumes), `fast` (ceph0/rbd), `nopool` (a ceph1 pool that is missing).
Image stores: `central` (ceph0/images, default), `dcn0` (ceph1/images), `edge` (local, pool
images). Backup targets: `backups` (ceph0/backups, the default), `dcn0` (ceph1/backups).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server import RunningServer, new_account, run_server

from cowcloud.config import Settings

from .helpers import User, VolumeApi, token_for


def volume_settings(data_dir: Path, ceph: list[Any]) -> Settings:
    c0, c1 = ceph
    cluster = lambda info, site: {"kind": "rbd", "site": site, "conf": str(info.conf),  # noqa: E731
                                  "keyring": str(info.keyring), "user": info.user}
    return Settings.model_validate({
        "server": {"data_dir": str(data_dir)},
        "image": {"reap_interval_seconds": 1, "task_lease_seconds": 6},
        "sites": {"central": {}, "dcn0": {}, "edge": {}},
        "clusters": {"ceph0": cluster(c0, "central"), "ceph1": cluster(c1, "dcn0"),
                     "local": {"kind": "local", "site": "edge"}},
        "image_stores": {
            "central": {"cluster": "ceph0", "pool": "images", "default": True},
            "dcn0": {"cluster": "ceph1", "pool": "images"},
            "edge": {"cluster": "local", "pool": "images"},
        },
        "volume_backends": {
            "central": {"cluster": "ceph0", "pool": "volumes", "default": True},
            "dcn0": {"cluster": "ceph1", "pool": "volumes"},
            "edge": {"cluster": "local", "pool": "volumes"},
            # a second backend on ceph0: moves inside one cluster (clone, then flatten)
            "fast": {"cluster": "ceph0", "pool": "rbd"},
            # a pool nobody made: moves into it fail, and must leave nothing behind
            "nopool": {"cluster": "ceph1", "pool": "no-such-pool"},
        },
        "backup_targets": {  # Cinder's backup pool beside the volumes, and another cluster
            "backups": {"cluster": "ceph0", "pool": "backups", "default": True},
            "dcn0": {"cluster": "ceph1", "pool": "backups"},
        },
    })


@pytest.fixture(scope="package")
def srv(ceph_clusters: list[Any], tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("volume-server")
    with run_server(data, volume_settings(data, ceph_clusters)) as running:
        yield running


@pytest.fixture(scope="package")
def settings(srv: RunningServer) -> Settings:
    return srv.settings


@pytest.fixture(scope="package")
def admin(srv: RunningServer) -> VolumeApi:
    project = srv.app.state.runtime.identity.list_projects(name="admin")[0]
    return VolumeApi(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin"),
                     project.id)


def _make_user(srv: RunningServer, role: str = "member") -> User:
    a = new_account(srv, role)
    return User(a.name, a.password, a.project, a.project_id,
                VolumeApi(srv.url, a.token, a.project_id))


@pytest.fixture(scope="package")
def alice(srv: RunningServer) -> User:
    return _make_user(srv)


@pytest.fixture(scope="package")
def bob(srv: RunningServer) -> User:
    return _make_user(srv)


@pytest.fixture
def clouds_yaml(srv: RunningServer, tmp_path: Path, alice: User) -> Path:
    return srv.write_clouds_yaml(tmp_path / "clouds.yaml",
                                 alice=srv.cloud(alice.name, alice.password, alice.project))
