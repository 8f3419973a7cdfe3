"""A real guest under the qemu driver, end to end (issue 11): the server and two `cowcloud
agent` processes with driver qemu on a real Ceph cluster. The image is booted as Nova boots
one with kernel_id/ramdisk_id (aki/ari images, os_command_line), its root disk a COW clone in
RBD. The guest (scripts/guest-image) prints the image's first line, what an earlier guest
marked at 1 MiB, and writes its own mark there. Then its host crashes (agent and qemu killed),
the operator marks it down and evacuates: the other host fences the dead client and boots the
same disk, whose guest sees both marks. Power actions and delete leave no qemu behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server import openstack as openstack_cli
from server import openstack_json, run_server, token_for

from cowcloud.config import Settings

from .agents import agent_config, running_agents, wait_registered
from .helpers import ComputeApi, unique
from .test_guides import _ceph, ensure_pools

pytestmark = pytest.mark.ceph

REPO = Path(__file__).resolve().parents[2]
MiB = 1 << 20
# TCG on a loaded 2-core machine: a boot takes seconds to a minute; generous, never a claim
BOOT_TIMEOUT = 240.0


def _rbd(info: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rbd", "-c", str(info.conf), "--id", info.user, "--keyring",
                           str(info.keyring), *args], capture_output=True, text=True,
                          timeout=120)


def _processes_naming(path: Path) -> list[int]:
    needle = str(path).encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if needle in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def guest_files() -> tuple[Path, Path]:
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 not installed")
    res = subprocess.run([str(REPO / "scripts" / "guest-image")], capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    kv = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    return Path(kv["KERNEL"]), Path(kv["INITRD"])


@pytest.fixture(scope="module")
def cloud(ceph_clusters: list[Any], guest_files: tuple[Path, Path],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    ceph = ceph_clusters[0]
    ensure_pools(ceph, "vms")
    data = tmp_path_factory.mktemp("qemu-control")
    rbd = {"kind": "rbd", "site": "nova", "conf": str(ceph.conf),
           "keyring": str(ceph.keyring), "user": ceph.user}
    settings = Settings.model_validate({
        "server": {"data_dir": str(data)},
        "compute": {"local_agent": False, "service_down_seconds": 6, "agent_poll_seconds": 5},
        "sites": {"nova": {}}, "clusters": {"ceph": rbd},
        "image_stores": {"images": {"cluster": "ceph", "pool": "images", "default": True}},
    })
    # short: QMP's unix socket paths are capped at 108 bytes
    states = {h: Path(tempfile.mkdtemp(prefix=f"ccq{h[-1]}-"))
              for h in ("hostA", "hostB", "hostL")}
    try:
        with run_server(data, settings) as srv:
            root = tmp_path_factory.mktemp("qemu-agents")
            configs = []
            for host, state in states.items():
                if host == "hostL":   # host-local qcow2 disks only
                    path = agent_config(root / host, host, srv.url,
                                        clusters={"disk": {"kind": "local", "site": "nova"}},
                                        backends={"disk": {"cluster": "disk", "pool": "vms"}})
                else:
                    path = agent_config(root / host, host, srv.url, clusters={"ceph": rbd},
                                        backends={"vms": {"cluster": "ceph", "pool": "vms",
                                                          "default": True}})
                path.write_text(path.read_text().replace(
                    "[agent]\n", f'[agent]\ndriver = "qemu"\nstate_dir = "{state}"\n'))
                configs.append(path)
            admin = ComputeApi(srv.url, token_for(srv.url, "admin", srv.admin_password,
                                                  "admin"))
            clouds = srv.write_clouds_yaml(root / "clouds.yaml")
            with running_agents(configs, srv.admin_password, root) as agents:
                wait_registered(srv, admin.token, list(states), agents)
                yield {"srv": srv, "admin": admin, "ceph": ceph, "clouds": clouds,
                       "states": states, "agents": dict(zip(states, agents, strict=True)),
                       "files": guest_files, "root": root}
    finally:
        for state in states.values():   # never leave a guest running, even on failure
            for pid in _processes_naming(state):
                os.kill(pid, signal.SIGKILL)
            shutil.rmtree(state, ignore_errors=True)


def _image(clouds: Path, path: Path, fmt: str, *props: str) -> str:
    args = [arg for p in props for arg in ("--property", p)]
    return str(openstack_json(clouds, "image", "create", "--disk-format", fmt,
                              "--container-format", "bare" if fmt == "raw" else fmt,
                              "--file", str(path), *args, unique("img"))["id"])


def _wait(admin: ComputeApi, sid: str, ok: Any, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not ok(server := admin.get(f"/servers/{sid}").json()["server"]):
        assert server["status"] != "ERROR", server
        assert time.monotonic() < deadline, server
        time.sleep(0.5)
    return server


def _console(admin: ComputeApi, sid: str) -> str:
    resp = admin.post(f"/servers/{sid}/action", json={"os-getConsoleOutput": {}})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["output"])


def _until_console(admin: ComputeApi, sid: str, *texts: str, count: int = 1) -> str:
    deadline = time.monotonic() + BOOT_TIMEOUT
    while True:
        out = _console(admin, sid)
        if all(out.count(t) >= count for t in texts):
            return out
        assert time.monotonic() < deadline, f"waiting for {texts} x{count}:\n{out[-3000:]}"
        time.sleep(1)


def _lockers(ceph: Any, disk: str) -> list[dict[str, Any]]:
    found = json.loads(_rbd(ceph, "lock", "ls", disk, "--format", "json").stdout or "[]")
    return list(found) if isinstance(found, list) else list(found.values())


def test_a_real_guest_boots_marks_its_disk_and_is_evacuated(cloud: dict[str, Any],
                                                             tmp_path: Path) -> None:
    admin, ceph, clouds = cloud["admin"], cloud["ceph"], cloud["clouds"]
    state_a, state_b = cloud["states"]["hostA"], cloud["states"]["hostB"]
    kernel_file, initrd_file = cloud["files"]
    tag = uuid.uuid4().hex[:10]
    root_file = tmp_path / "root.raw"
    root_file.write_bytes(f"cowcloud-image-mark:{tag}\n".encode().ljust(2 * MiB, b"\0"))
    kernel = _image(clouds, kernel_file, "aki")
    ramdisk = _image(clouds, initrd_file, "ari")
    image = _image(clouds, root_file, "raw", f"kernel_id={kernel}", f"ramdisk_id={ramdisk}",
                   f"os_command_line=console=ttyS0 quiet cowcloud.mark=first-{tag} "
                   "cowcloud.then=wait")
    flavor = admin.flavor(disk=0, ram=256, vcpus=1)

    # boot on hostA: the console is the guest's own
    sid = openstack_json(clouds, "server", "create", "--flavor", flavor["id"], "--image",
                         image, "--nic", "none", "--availability-zone", "nova:hostA",
                         "--wait", unique("vm"))["id"]
    out = _until_console(admin, sid, f"cowcloud-guest: wrote first-{tag}")
    assert f"cowcloud-guest: read cowcloud-image-mark:{tag}" in out
    assert "cowcloud-guest: found \n" in out.replace("\r", "")  # a new disk: no mark yet
    disk = f"vms/{sid}_disk"
    exported = tmp_path / "disk.raw"
    assert _rbd(ceph, "export", disk, str(exported)).returncode == 0
    data = exported.read_bytes()
    assert data.startswith(f"cowcloud-image-mark:{tag}\n".encode())
    assert data[MiB:].startswith(f"cowcloud-guest-mark:first-{tag}\n".encode())
    # a COW clone of the image's copy in the cluster
    info = json.loads(_rbd(ceph, "info", disk, "--format", "json").stdout)
    assert info["parent"]["image"] == image, info

    # the kernel was fetched once into hostA's cache; the cephx key is in no command line
    # and no file of the agent's state folder
    cached = state_a / "images" / kernel
    assert cached.read_bytes() == kernel_file.read_bytes()
    fetched = cached.stat().st_ino
    key = next(line.split("=", 1)[1].strip() for line in Path(ceph.keyring).read_text()
               .splitlines() if line.strip().startswith("key"))
    running = _processes_naming(state_a)
    assert len(running) == 2, running  # qemu and its wrapper
    for pid in running:
        assert key.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    for folder, _, names in os.walk(state_a):
        for name in names:
            if (Path(folder) / name).is_file():   # not the QMP sockets
                assert key.encode() not in (Path(folder) / name).read_bytes(), name

    # stop leaves no qemu; start boots the same kernel from the cache
    openstack_cli(clouds, "server", "stop", sid)
    _wait(admin, sid, lambda s: s["status"] == "SHUTOFF")
    assert _processes_naming(state_a) == []
    openstack_cli(clouds, "server", "start", sid)
    _wait(admin, sid, lambda s: s["status"] == "ACTIVE")
    out = _until_console(admin, sid, "cowcloud-guest: waiting", count=2)
    assert f"cowcloud-guest: found cowcloud-guest-mark:first-{tag}" in out
    assert cached.stat().st_ino == fetched
    # a soft reboot: the guest powers off on the ACPI button, a new qemu boots it again
    first_qemu = set(_processes_naming(state_a))
    openstack_cli(clouds, "server", "reboot", "--soft", sid)
    _wait(admin, sid, lambda s: s["status"] == "ACTIVE" and not s["OS-EXT-STS:task_state"])
    out = _until_console(admin, sid, "cowcloud-guest: waiting", count=3)
    assert "cowcloud-guest: power button" in out
    running = _processes_naming(state_a)
    assert len(running) == 2 and not first_qemu & set(running), (first_qemu, running)
    # a hard reboot resets the same qemu
    openstack_cli(clouds, "server", "reboot", "--hard", sid)
    _wait(admin, sid, lambda s: s["status"] == "ACTIVE" and not s["OS-EXT-STS:task_state"])
    assert len(_processes_naming(state_a)) == 2

    # hostA crashes: its agent and its guest's qemu die, the disk's lock stays behind
    holders = _lockers(ceph, disk)
    assert len(holders) == 1, holders
    address = holders[0]["address"]
    cloud["agents"]["hostA"].stop(kill=True)
    for pid in _processes_naming(state_a):
        os.kill(pid, signal.SIGKILL)
    assert [h["address"] for h in _lockers(ceph, disk)] == [address]
    openstack_cli(clouds, "--os-compute-api-version", "2.11", "compute", "service", "set",
                  "--down", "hostA", "nova-compute")
    resp = admin.post(f"/servers/{sid}/action", json={"evacuate": {"host": "hostB"}})
    assert resp.status_code == 202, resp.text
    server = _wait(admin, sid, lambda s: s["status"] == "ACTIVE"
                   and s["OS-EXT-STS:task_state"] is None, timeout=BOOT_TIMEOUT)
    assert server["OS-EXT-SRV-ATTR:host"] == "hostB"
    record = server["cowcloud:history"][-1]
    assert record["ok"] and any(address in f for f in record["fenced"]), record

    # hostB's guest, on the same disk, sees the image's line and hostA's guest's mark
    out = _until_console(admin, sid, f"cowcloud-guest: wrote first-{tag}")
    assert f"cowcloud-guest: read cowcloud-image-mark:{tag}" in out
    assert f"cowcloud-guest: found cowcloud-guest-mark:first-{tag}" in out
    assert (state_b / "images" / kernel).is_file()
    # the old client is blocklisted and its lock broken (hostB's qemu holds the disk now)
    assert address not in [h["address"] for h in _lockers(ceph, disk)]
    blocklist = _ceph(ceph, "osd", "blocklist", "ls")
    assert address in blocklist.stdout + blocklist.stderr

    # delete leaves no qemu and no disk
    openstack_cli(clouds, "server", "delete", "--wait", sid)
    assert _processes_naming(state_b) == []
    assert f"{sid}_disk" not in _rbd(ceph, "-p", "vms", "ls").stdout.split()
    assert not (state_b / "boot" / f"{sid}.json").exists()


def test_a_kernel_of_the_wrong_format_is_refused(cloud: dict[str, Any],
                                                 tmp_path: Path) -> None:
    admin, clouds = cloud["admin"], cloud["clouds"]
    blob = tmp_path / "blob"
    blob.write_bytes(b"not a kernel\n".ljust(MiB, b"\0"))
    not_aki = _image(clouds, blob, "raw")
    image = _image(clouds, blob, "raw", f"kernel_id={not_aki}")
    missing = _image(clouds, blob, "raw", f"kernel_id={uuid.uuid4()}")
    flavor = admin.flavor(disk=0, ram=256, vcpus=1)
    before = len(admin.get("/servers").json()["servers"])
    for img, says in ((image, "not aki"), (missing, "could not be found")):
        resp = admin.post("/servers", json={"server": {
            "name": unique("vm"), "flavorRef": flavor["id"], "imageRef": img,
            "networks": "none"}}, version="2.37")
        assert resp.status_code == 400, resp.text
        assert says in resp.json()["badRequest"]["message"]
    assert len(admin.get("/servers").json()["servers"]) == before


def test_a_local_qcow2_guest_boots_and_cannot_be_evacuated(cloud: dict[str, Any],
                                                           tmp_path: Path) -> None:
    """A host-local root disk is a qcow2 file the guest reads and writes; its host's crash
    leaves it where it is: evacuate is refused."""
    admin, clouds = cloud["admin"], cloud["clouds"]
    state = cloud["states"]["hostL"]
    kernel_file, initrd_file = cloud["files"]
    tag = uuid.uuid4().hex[:10]
    root_file = tmp_path / "root.raw"
    root_file.write_bytes(f"cowcloud-image-mark:{tag}\n".encode().ljust(2 * MiB, b"\0"))
    kernel = _image(clouds, kernel_file, "aki")
    ramdisk = _image(clouds, initrd_file, "ari")
    image = _image(clouds, root_file, "raw", f"kernel_id={kernel}", f"ramdisk_id={ramdisk}",
                   f"os_command_line=console=ttyS0 quiet cowcloud.mark=local-{tag} "
                   "cowcloud.then=wait")
    flavor = admin.flavor(disk=0, ram=256, vcpus=1)
    sid = openstack_json(clouds, "server", "create", "--flavor", flavor["id"], "--image",
                         image, "--nic", "none", "--availability-zone", "nova:hostL",
                         "--wait", unique("vm"))["id"]
    out = _until_console(admin, sid, f"cowcloud-guest: wrote local-{tag}")
    assert f"cowcloud-guest: read cowcloud-image-mark:{tag}" in out
    # hostL reaches no cluster holding the kernel: downloaded from the Image API instead
    assert (state / "images" / kernel).read_bytes() == kernel_file.read_bytes()
    disk = next(p for p in (cloud["root"] / "hostL").rglob(f"{sid}_disk*")
                if p.is_file() and p.suffix != ".json")   # not its metadata
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output", "json",
                                      str(disk)], capture_output=True, text=True,
                                     check=True).stdout)
    assert info["format"] == "qcow2", info
    raw = tmp_path / "disk.raw"
    subprocess.run(["qemu-img", "convert", "-U", "-O", "raw", str(disk), str(raw)], check=True)
    assert raw.read_bytes()[MiB:].startswith(f"cowcloud-guest-mark:local-{tag}\n".encode())

    cloud["agents"]["hostL"].stop(kill=True)
    for pid in _processes_naming(state):
        os.kill(pid, signal.SIGKILL)
    openstack_cli(clouds, "--os-compute-api-version", "2.11", "compute", "service", "set",
                  "--down", "hostL", "nova-compute")
    resp = admin.post(f"/servers/{sid}/action", json={"evacuate": {}})
    assert resp.status_code == 400, resp.text
    assert "host-local storage" in resp.json()["badRequest"]["message"]
    assert admin.get(f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"] == "hostL"
