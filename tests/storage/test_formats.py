"""Format inspection against images made by the real qemu-img, including the hostile ones."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cowcloud.storage.errors import FormatMismatch, UnsafeImage
from cowcloud.storage.formats import HEAD_BYTES, check, inspect

MiB = 1 << 20


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(HEAD_BYTES)


def virtual_size(path: Path, fmt: str) -> int:
    out = subprocess.run(["qemu-img", "info", "-f", fmt, "--output=json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return int(json.loads(out)["virtual-size"])


@pytest.mark.parametrize("fmt,options", [
    ("qcow2", []), ("qcow2", ["-o", "compat=0.10"]), ("vmdk", []),
    ("vmdk", ["-o", "subformat=streamOptimized"]), ("vpc", []), ("vhdx", []), ("vdi", []),
])
def test_safe_images_are_identified_with_their_virtual_size(tmp_path: Path, fmt: str,
                                                            options: list[str]) -> None:
    path = tmp_path / f"disk.{fmt}"
    qemu_img("create", "-f", fmt, *options, str(path), "64M")
    info = inspect(head(path))
    expected = {"vpc": "vhd"}.get(fmt, fmt)
    assert info.format == expected and info.safe, info
    if info.virtual_size is not None:
        assert info.virtual_size == virtual_size(path, fmt)
    check(info, expected)


def test_raw_and_iso_and_gpt(tmp_path: Path) -> None:
    assert inspect(bytes(4096)).format == "raw"
    iso = bytearray(64 * 1024)
    iso[0x8001:0x8006] = b"CD001"
    assert inspect(bytes(iso)).format == "iso"
    gpt = bytearray(4096)
    gpt[0x1FE:0x200] = b"\x55\xaa"
    gpt[0x200:0x208] = b"EFI PART"
    info = inspect(bytes(gpt))
    assert info.format == "gpt"
    check(info, "raw")  # a whole-disk image with a partition table is raw


def test_qcow2_with_backing_file_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "base.raw"
    base.write_bytes(bytes(MiB))
    path = tmp_path / "evil.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", str(base), "-F", "raw", str(path))
    info = inspect(head(path))
    assert info.format == "qcow2" and "qcow2 has a backing file" in info.problems
    with pytest.raises(UnsafeImage, match="backing file"):
        check(info, "qcow2")


def test_qcow2_with_external_data_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.qcow2"
    qemu_img("create", "-f", "qcow2", "-o", f"data_file={tmp_path / 'data.raw'}", str(path), "1M")
    with pytest.raises(UnsafeImage, match="external data file"):
        check(inspect(head(path)), "qcow2")


def test_vmdk_naming_other_files_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flat.vmdk"
    qemu_img("create", "-f", "vmdk", "-o", "subformat=monolithicFlat", str(path), "1M")
    with pytest.raises(UnsafeImage):
        check(inspect(head(path)), "vmdk")
    sparse = tmp_path / "sparse.vmdk"
    qemu_img("create", "-f", "vmdk", str(sparse), "1M")
    data = bytearray(head(sparse))
    at = data.index(b'SPARSE "') + len(b'SPARSE "')
    data[at:at + 1] = b"/"  # an extent that points at /...: the CVE-2022-47951 shape
    with pytest.raises(UnsafeImage, match="extent names a path"):
        check(inspect(bytes(data)), "vmdk")


def test_qed_is_always_refused(tmp_path: Path) -> None:
    path = tmp_path / "disk.qed"
    qemu_img("create", "-f", "qed", str(path), "1M")
    with pytest.raises(UnsafeImage, match="QED"):
        check(inspect(head(path)), None)


def test_declared_format_must_match_content(tmp_path: Path) -> None:
    path = tmp_path / "disk.qcow2"
    qemu_img("create", "-f", "qcow2", str(path), "1M")
    with pytest.raises(FormatMismatch) as raised:
        check(inspect(head(path)), "raw")  # qcow2 uploaded as raw: Nova would boot it as raw
    assert (raised.value.declared, raised.value.detected) == ("raw", "qcow2")
    with pytest.raises(FormatMismatch):
        check(inspect(bytes(4096)), "qcow2")
    check(inspect(bytes(4096)), "ami")  # formats inspection cannot tell from raw
