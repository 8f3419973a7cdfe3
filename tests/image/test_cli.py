"""`cowcloud image upload | download | copy` against the running server, as a user runs them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from server import RunningServer

from cowcloud.config import Settings

from .helpers import VENV_BIN, Api, leftovers, make_qcow2, md5, pattern, unique


def cowcloud(clouds: Path, *args: str, cloud: str = "cowcloud",
             check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_CLIENT_CONFIG_FILE=str(clouds), OS_CLOUD=cloud, COLUMNS="120")
    res = subprocess.run([str(VENV_BIN / "cowcloud"), "image", *args], env=env,
                         capture_output=True, text=True, timeout=180)
    if check and res.returncode != 0:
        raise AssertionError(f"cowcloud image {' '.join(args)}: {res.returncode}\n"
                             f"{res.stdout}\n{res.stderr}")
    return res


def test_upload_copy_download(srv: RunningServer, admin: Api, settings: Settings,
                              tmp_path: Path) -> None:
    clouds = srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    raw = pattern(3 << 20, seed=31)
    disk = make_qcow2(tmp_path, raw, "disk.qcow2")
    name = unique("cli")
    res = cowcloud(clouds, "upload", str(disk), "--name", name, "--property", "os_distro=x")
    iid = res.stdout.strip()
    image = admin.image(iid)
    assert image["name"] == name and image["os_distro"] == "x"
    assert image["disk_format"] == "raw"  # detected qcow2, converted for the rbd store
    assert image["checksum"] == md5(disk.read_bytes())
    assert "upload" in res.stderr  # the progress bar

    res = cowcloud(clouds, "copy", name, "--store", "dcn0", "--store", "edge")
    assert "dcn0" in res.stderr
    assert sorted(admin.image(iid)["stores"].split(",")) == ["central", "dcn0", "edge"]
    res = cowcloud(clouds, "copy", iid, "--all-stores")
    assert sorted(admin.image(iid)["stores"].split(",")) == ["central", "central-b", "dcn0",
                                                             "edge"]
    assert "nothing to copy" in cowcloud(clouds, "copy", iid, "--all-stores").stderr

    out = tmp_path / "out.raw"
    res = cowcloud(clouds, "download", iid, "--file", str(out))
    assert out.read_bytes() == raw and "verified sha512" in res.stderr

    bad = cowcloud(clouds, "copy", iid, "--store", "dcn0", check=False)
    assert bad.returncode == 1 and "already present" in bad.stderr
    missing = cowcloud(clouds, "download", "no-such-image", "--file", str(out), check=False)
    assert missing.returncode == 1 and "0 images" in missing.stderr
    admin.delete(f"/v2/images/{iid}")
    assert leftovers(settings, iid) == {}


def test_upload_refused_cleans_up(local_srv: RunningServer, local_admin: Api,
                                  tmp_path: Path) -> None:
    clouds = local_srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    disk = tmp_path / "d.raw"
    disk.write_bytes(pattern(1 << 20))
    name = unique("cli-bad")
    res = cowcloud(clouds, "upload", str(disk), "--name", name, "--store", "nowhere",
                   check=False)
    assert res.returncode == 1 and "nowhere" in res.stderr
    assert local_admin.get(f"/v2/images?name={name}").json()["images"] == []
