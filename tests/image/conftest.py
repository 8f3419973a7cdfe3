"""The servers for the image tests.

`srv` (with `admin`, `alice`, `bob`, `settings`, `clouds_yaml`): two real Ceph clusters and a
local store. Stores, as the DCN guide lays them out: `central` (cluster 0, pool images, the
default), `dcn0` (cluster 1, pool images), `edge` (a local qcow2 cluster) and `central-b`
(cluster 0, pool volumes: same cluster as central, so copies between them are server-side
clones). Tests of what only Ceph has (rbd:// locations, qcow2 converted to raw for rbd, COW
clones in rbd, marking a copy behind the server's back) use it.

`local_srv` (with `local_admin`, `local_alice`, `local_bob`, `local_settings`,
`local_clouds_yaml`): the same store names in the same roles, every one a local qcow2 store
(the embedded default's kind), so no Ceph cluster starts for the tests that use only it: the
image API's records, access rules, tasks, metadefs, uploads, imports and copies between stores.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from server import RunningServer, new_account, run_server

from cowcloud.config import Settings

from .helpers import Api, token_for

# the web server of these tests is on loopback; deferred deletes and lost tasks come back soon
_TEST_IMAGE_OPTIONS = {"web_download_allow_private": True, "reap_interval_seconds": 1,
                       "task_lease_seconds": 6}


def image_settings(data_dir: Path, ceph: list[Any], weights: dict[str, int] | None = None,
                   **image: Any) -> Settings:
    """The stores above; `weights` sets store weights by name, `image` the [image] options."""
    c0, c1 = ceph
    cluster = lambda info, site: {"kind": "rbd", "site": site, "conf": str(info.conf),  # noqa: E731
                                  "keyring": str(info.keyring), "user": info.user}
    stores: dict[str, dict[str, Any]] = {
        "central": {"cluster": "ceph0", "pool": "images", "default": True,
                    "description": "central rbd glance store"},
        "dcn0": {"cluster": "ceph1", "pool": "images", "description": "dcn0 rbd store"},
        "edge": {"cluster": "local", "pool": "images", "description": "local qcow2 store"},
        "central-b": {"cluster": "ceph0", "pool": "volumes"},
    }
    for name, weight in (weights or {}).items():
        stores[name]["weight"] = weight
    return Settings.model_validate({
        "server": {"data_dir": str(data_dir)},
        "image": {**_TEST_IMAGE_OPTIONS, **image},
        "sites": {"central": {}, "dcn0": {}},
        "clusters": {"ceph0": cluster(c0, "central"), "ceph1": cluster(c1, "dcn0"),
                     "local": {"kind": "local", "site": "dcn0"}},
        "image_stores": stores,
    })


def local_image_settings(data_dir: Path, **image: Any) -> Settings:
    """The stores of image_settings, all local: central and central-b share a cluster (copies
    between them are clones), dcn0 and edge each have their own (copies to them stream)."""
    local = lambda site: {"kind": "local", "site": site}  # noqa: E731
    return Settings.model_validate({
        "server": {"data_dir": str(data_dir)},
        "image": {**_TEST_IMAGE_OPTIONS, **image},
        "sites": {"central": {}, "dcn0": {}},
        "clusters": {"local0": local("central"), "local1": local("dcn0"),
                     "local2": local("dcn0")},
        "image_stores": {
            "central": {"cluster": "local0", "pool": "images", "default": True,
                        "description": "central local store"},
            "dcn0": {"cluster": "local1", "pool": "images", "description": "dcn0 local store"},
            "edge": {"cluster": "local2", "pool": "images", "description": "local qcow2 store"},
            "central-b": {"cluster": "local0", "pool": "volumes"},
        },
    })


@pytest.fixture(scope="package")
def srv(ceph_clusters: list[Any], tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("image-server")
    with run_server(data, image_settings(data, ceph_clusters)) as running:
        yield running


@pytest.fixture(scope="package")
def settings(srv: RunningServer) -> Settings:
    return srv.settings


@pytest.fixture(scope="package")
def local_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("local-image-server")
    with run_server(data, local_image_settings(data)) as running:
        yield running


@pytest.fixture(scope="package")
def local_settings(local_srv: RunningServer) -> Settings:
    return local_srv.settings


def _admin_api(srv: RunningServer) -> Api:
    runtime = srv.app.state.runtime
    project = runtime.identity.list_projects(name="admin")[0]
    return Api(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin"), project.id)


@pytest.fixture(scope="package")
def admin(srv: RunningServer) -> Api:
    return _admin_api(srv)


@pytest.fixture(scope="package")
def local_admin(local_srv: RunningServer) -> Api:
    return _admin_api(local_srv)


@dataclass
class User:
    name: str
    password: str
    project: str
    project_id: str
    api: Api


def _make_user(srv: RunningServer, role: str = "member") -> User:
    a = new_account(srv, role)
    return User(a.name, a.password, a.project, a.project_id, Api(srv.url, a.token, a.project_id))


@pytest.fixture(scope="package")
def alice(srv: RunningServer) -> User:
    return _make_user(srv)


@pytest.fixture(scope="package")
def bob(srv: RunningServer) -> User:
    return _make_user(srv)


@dataclass(frozen=True)
class ImageServer:
    kind: str  # "ceph" (srv) or "local" (local_srv)
    srv: RunningServer
    admin: Api

    @property
    def settings(self) -> Settings:
        return self.srv.settings


@pytest.fixture(params=["ceph", "local"])
def each_server(request: pytest.FixtureRequest) -> ImageServer:
    """The test once on srv and once on local_srv: for behaviour that both kinds of store must
    show alike and that is cheap to prove twice."""
    prefix = "" if request.param == "ceph" else "local_"
    return ImageServer(request.param, request.getfixturevalue(f"{prefix}srv"),
                       request.getfixturevalue(f"{prefix}admin"))


@pytest.fixture(scope="package")
def local_alice(local_srv: RunningServer) -> User:
    return _make_user(local_srv)


@pytest.fixture(scope="package")
def local_bob(local_srv: RunningServer) -> User:
    return _make_user(local_srv)


def _clouds_yaml(srv: RunningServer, folder: Path, alice: User) -> Path:
    return srv.write_clouds_yaml(folder / "clouds.yaml",
                                 alice=srv.cloud(alice.name, alice.password, alice.project))


@pytest.fixture
def clouds_yaml(srv: RunningServer, tmp_path: Path, alice: User) -> Path:
    return _clouds_yaml(srv, tmp_path, alice)


@pytest.fixture
def local_clouds_yaml(local_srv: RunningServer, tmp_path: Path, local_alice: User) -> Path:
    return _clouds_yaml(local_srv, tmp_path, local_alice)


@pytest.fixture(scope="package")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server on loopback serving a folder (the session server allows private)."""
    root = tmp_path_factory.mktemp("web")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
