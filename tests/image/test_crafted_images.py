"""Every crafted image through every ingestion path, into both store kinds: refused, nothing left.

Paths: upload (PUT /file) into the rbd store `central` and the local store `edge`, glance-direct
staging (PUT /stage), web-download into each store kind, and Glance's legacy import task (into
an rbd default store, and a local one on the local-store server). The files point their backing, data
and extent files at decoys made here (`qemu-img create -o data_file=X` truncates X), and each
decoy is checked untouched at the end. copy-image, which moves data already accepted, is tested
for what it may not do: put a non-raw image into an rbd store.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cowcloud.config import Settings

from .helpers import Api, leftovers, make_qcow2, pattern, qemu_img

DECOY = b"decoy: must never be read into an image\n" * 64


def _decoy(folder: Path) -> Path:
    path = folder / "decoy.raw"
    path.write_bytes(DECOY)
    return path


def backing_file(folder: Path) -> bytes:
    out = folder / "backing.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", str(_decoy(folder)), "-F", "raw", str(out), "1M")
    return out.read_bytes()


def data_file(folder: Path) -> bytes:
    victim = folder / "data-file-target.raw"  # qemu-img truncates it: never a decoy of value
    out = folder / "datafile.qcow2"
    qemu_img("create", "-f", "qcow2", "-o", f"data_file={victim}", str(out), "1M")
    return out.read_bytes()


def vmdk_descriptor(folder: Path) -> bytes:
    return (f'# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
            f'createType="monolithicFlat"\nRW 2048 FLAT "{_decoy(folder)}" 0\n').encode()


def vmdk_descriptor_unmarked(folder: Path) -> bytes:
    """No '# Disk DescriptorFile' first line: qemu still reads it as a descriptor."""
    return (f'\n  version=1\ncreateType="monolithicSparse"\n'
            f'RW 2048 SPARSE "{_decoy(folder)}"\n').encode()


def qcow2_declared_raw(folder: Path) -> bytes:
    return make_qcow2(folder, pattern(1 << 20)).read_bytes()


def raw_declared_qcow2(_folder: Path) -> bytes:
    return pattern(1 << 20, seed=3)


def truncated_qcow2(folder: Path) -> bytes:
    return make_qcow2(folder, pattern(1 << 20)).read_bytes()[:100]


def bad_l1_qcow2(folder: Path) -> bytes:
    """A header our inspection accepts, with an L1 table offset qemu refuses to follow."""
    data = bytearray(make_qcow2(folder, pattern(1 << 20)).read_bytes())
    struct.pack_into(">Q", data, 40, 0x12345)
    return bytes(data)


def huge_qcow2(folder: Path) -> bytes:
    """A 64 KiB file claiming 2 TiB, over the 1 TiB size cap."""
    out = folder / "huge.qcow2"
    qemu_img("create", "-f", "qcow2", str(out), "2T")
    return out.read_bytes()


CASES: dict[str, tuple[Callable[[Path], bytes], str, str, int]] = {
    # name: (maker, disk_format, container_format, status an upload gets)
    "backing_file": (backing_file, "qcow2", "bare", 400),
    "data_file": (data_file, "qcow2", "bare", 400),
    "vmdk_descriptor_ova": (vmdk_descriptor, "vmdk", "ova", 400),
    "vmdk_descriptor_bare": (vmdk_descriptor, "vmdk", "bare", 400),
    "vmdk_descriptor_unmarked_ova": (vmdk_descriptor_unmarked, "vmdk", "ova", 400),
    "qcow2_declared_raw": (qcow2_declared_raw, "raw", "bare", 400),
    "qcow2_declared_raw_ova": (qcow2_declared_raw, "raw", "ova", 400),
    "raw_declared_qcow2": (raw_declared_qcow2, "qcow2", "bare", 400),
    "truncated_qcow2": (truncated_qcow2, "qcow2", "bare", 400),
    "bad_l1_qcow2": (bad_l1_qcow2, "qcow2", "bare", 400),
    "huge_qcow2": (huge_qcow2, "qcow2", "bare", 413),
}


def _crafted(case: str, tmp_path: Path) -> tuple[bytes, dict[str, Any], int]:
    maker, disk_format, container, status = CASES[case]
    return maker(tmp_path), {"disk_format": disk_format, "container_format": container}, status


def _decoys_untouched(folder: Path) -> None:
    decoy = folder / "decoy.raw"
    if decoy.exists():
        assert decoy.read_bytes() == DECOY


@pytest.mark.parametrize("store", ["central", "edge"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_upload_refuses(admin: Api, settings: Settings, tmp_path: Path, case: str,
                        store: str) -> None:
    data, fmt, status = _crafted(case, tmp_path)
    iid = admin.create(**fmt)["id"]
    resp = admin.upload(iid, data, store=store)
    assert resp.status_code == status, resp.text
    assert admin.image(iid)["status"] == "queued"
    assert leftovers(settings, iid) == {}
    _decoys_untouched(tmp_path)
    admin.delete(f"/v2/images/{iid}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_stage_refuses(admin: Api, settings: Settings, tmp_path: Path, case: str) -> None:
    data, fmt, status = _crafted(case, tmp_path)
    iid = admin.create(**fmt)["id"]
    resp = admin.put(f"/v2/images/{iid}/stage", content=data,
                     headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == status, resp.text
    assert admin.image(iid)["status"] == "queued"
    assert leftovers(settings, iid) == {}
    _decoys_untouched(tmp_path)
    admin.delete(f"/v2/images/{iid}")


@pytest.mark.parametrize("store", ["central", "edge"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_web_download_refuses(admin: Api, settings: Settings, tmp_path: Path,
                              web: tuple[str, Path], case: str, store: str) -> None:
    base, root = web
    data, fmt, _status = _crafted(case, tmp_path)
    name = f"{case}-{store}.img"
    (root / name).write_bytes(data)
    iid = admin.create(**fmt)["id"]
    resp = admin.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "web-download", "uri": f"{base}/{name}"}, "stores": [store]})
    assert resp.status_code == 202, resp.text
    tasks = admin.wait_tasks(iid)
    assert tasks[0]["status"] == "failure", tasks
    image = admin.image(iid)
    assert image["status"] == "queued" and "stores" not in image
    assert leftovers(settings, iid) == {}
    _decoys_untouched(tmp_path)
    admin.delete(f"/v2/images/{iid}")


def test_copy_image_of_qcow2_into_rbd_is_refused(admin: Api, settings: Settings,
                                                 tmp_path: Path) -> None:
    """A qcow2 held by the local store stays out of rbd: rbd holds only raw, and a copy keeps
    the image's bytes (it cannot make them raw in one store and qcow2 in another)."""
    qcow2 = make_qcow2(tmp_path, pattern(1 << 20)).read_bytes()
    iid = admin.create(disk_format="qcow2")["id"]
    assert admin.upload(iid, qcow2, store="edge").status_code == 204
    for stores in (["central"], ["dcn0"]):
        resp = admin.post(f"/v2/images/{iid}/import", json={
            "method": {"name": "copy-image"}, "stores": stores})
        assert resp.status_code == 400, resp.text
        assert "holds only raw" in resp.json()["message"]
    assert leftovers(settings, iid) == {"edge": [iid]}
    admin.delete(f"/v2/images/{iid}")
    assert leftovers(settings, iid) == {}


def test_local_store_takes_qemus_virtual_size(admin: Api, tmp_path: Path) -> None:
    path = tmp_path / "sized.qcow2"
    qemu_img("create", "-f", "qcow2", str(path), "48M")
    iid = admin.create(disk_format="qcow2")["id"]
    assert admin.upload(iid, path.read_bytes(), store="edge").status_code == 204
    assert admin.image(iid)["virtual_size"] == 48 << 20
    admin.delete(f"/v2/images/{iid}")



@pytest.mark.parametrize("case", sorted(CASES))
def test_legacy_import_task_refuses(admin: Api, local_admin: Api, settings: Settings,
                                    local_settings: Settings, tmp_path: Path,
                                    web: tuple[str, Path], case: str) -> None:
    """Glance's legacy `import` task lands in the default store: rbd on one server, local on
    the other; each refuses, and the image it made is gone with nothing left."""
    base, root = web
    data, fmt, _status = _crafted(case, tmp_path)
    (root / f"{case}-legacy.img").write_bytes(data)
    for api, where in ((admin, settings), (local_admin, local_settings)):
        created = api.post("/v2/tasks", json={"type": "import", "input": {
            "import_from": f"{base}/{case}-legacy.img",
            "import_from_format": fmt["disk_format"],
            "image_properties": {"name": f"legacy-{case}", **fmt}}})
        assert created.status_code == 201, created.text
        task = api.wait_task(created.json()["id"])
        assert task["status"] == "failure", task
        assert api.get(f"/v2/images/{task['image_id']}").status_code == 404
        assert leftovers(where, task["image_id"]) == {}
    _decoys_untouched(tmp_path)
