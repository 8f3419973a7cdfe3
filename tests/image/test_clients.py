"""The real clients' import paths: glance image-create-via-import (glance-direct and
web-download), openstack image import (copy-image), and openstacksdk's image proxy."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import openstack
from server import RunningServer, openstack_json
from server import openstack as osc

from cowcloud.config import Settings

from .helpers import Api, glance, leftovers, md5, pattern, sha512, unique


def test_glance_image_create_via_import(local_srv: RunningServer, local_admin: Api,
                                        local_settings: Settings, tmp_path: Path) -> None:
    data = pattern(4 << 20, seed=41)
    disk = tmp_path / "d.raw"
    disk.write_bytes(data)
    name = unique("gd")
    out = glance(local_srv.url, "admin", local_srv.admin_password, "admin",
                 "image-create-via-import", "--disk-format", "raw", "--container-format",
                 "bare", "--name", name,
                 "--file", str(disk), "--import-method", "glance-direct",
                 "--stores", "dcn0,edge").stdout
    iid = next(line.split("|")[2].strip() for line in out.splitlines()
               if line.startswith("| id "))
    image = local_admin.wait(iid, lambda i: i["status"] == "active" and
                             not i.get("os_glance_importing_to_stores"))
    assert sorted(image["stores"].split(",")) == ["dcn0", "edge"]
    assert image["checksum"] == md5(data)
    # the image is active before its task has dropped the stage and settled: a delete in that
    # window is the task's to finish, so wait for the task to end before looking at the pools
    assert local_admin.wait_tasks(iid)[0]["status"] == "success"
    local_admin.delete(f"/v2/images/{iid}")
    assert leftovers(local_settings, iid) == {}


def test_glance_web_download(local_srv: RunningServer, local_admin: Api, local_settings: Settings,
                             tmp_path: Path) -> None:
    data = pattern(3 << 20, seed=42)
    (tmp_path / "disk.raw").write_bytes(data)
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path), **kw)
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{web.server_address[1]}/disk.raw"
        out = glance(local_srv.url, "admin", local_srv.admin_password, "admin",
                     "image-create-via-import", "--disk-format", "raw", "--container-format",
                     "bare", "--name", unique("wd"), "--import-method", "web-download",
                     "--uri", uri).stdout
        iid = next(line.split("|")[2].strip() for line in out.splitlines()
                   if line.startswith("| id "))
        image = local_admin.wait(iid, lambda i: i["status"] == "active")
    finally:
        web.shutdown()
    assert image["os_hash_value"] == sha512(data) and image["stores"] == "central"
    local_admin.delete(f"/v2/images/{iid}")


def test_openstack_image_import_copy(local_srv: RunningServer, local_admin: Api,
                                     tmp_path: Path) -> None:
    clouds = local_srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    disk = tmp_path / "d.raw"
    disk.write_bytes(pattern(1 << 20, seed=43))
    made = openstack_json(clouds, "image", "create", "--disk-format", "raw", "--file",
                          str(disk), unique("osc"))
    osc(clouds, "image", "import", made["id"], "--method", "copy-image", "--store", "dcn0",
        "--wait")
    image = local_admin.wait(made["id"], lambda i: "dcn0" in i.get("stores", ""))
    assert image["stores"] == "central,dcn0"
    listed = openstack_json(clouds, "image", "list", "--long")
    assert made["id"] in {i["ID"] for i in listed}
    osc(clouds, "image", "delete", made["id"])


def test_openstacksdk(local_srv: RunningServer, local_admin: Api, local_settings: Settings,
                      tmp_path: Path) -> None:
    conn = openstack.connect(load_yaml_config=False, load_envvars=False, **local_srv.cloud())
    stores = {s.id: s for s in conn.image.stores()}
    assert stores["central"].is_default and set(stores) == {"central", "dcn0", "edge",
                                                            "central-b"}
    data = pattern(2 << 20, seed=44)
    image = conn.image.create_image(name=unique("sdk"), data=data, disk_format="raw",
                                    container_format="bare", validate_checksum=True)
    assert image.status == "active" and image.checksum == md5(data)
    conn.image.import_image(image, method="copy-image", stores=["edge"])
    conn.image.wait_for_status(image, "active")
    local_admin.wait(image.id, lambda i: i.get("stores") == "central,edge")
    assert conn.image.download_image(image).content == data  # verified by the sdk
    image = conn.image.get_image(image.id)
    assert image.properties["stores"] == "central,edge" and image.hash_algo == "sha512"
    assert [i.id for i in conn.image.images(name=image.name)] == [image.id]
    conn.image.delete_image(image)
    assert leftovers(local_settings, image.id) == {}
