"""What the qemu driver puts on QEMU's command line and into QMP, without running QEMU."""

from __future__ import annotations

from pathlib import Path

from cowcloud.hypervisor import FileDisk, GuestDisk, GuestSpec, RbdDisk, qemu_args

KEY = "AQBzc2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0cw=="


def spec(**kw) -> GuestSpec:  # type: ignore[no-untyped-def]
    disk = GuestDisk(RbdDisk("vms", "x_disk", "/etc/ceph/a,b.conf", "nova", KEY), "root")
    base = dict(uuid="6f1c9d2e-0b7a-4c55-9a51-1c2d3e4f5a6b", name="n", vcpus=2, memory_mib=512,
                disks=(disk,), kernel=Path("/k"), initrd=Path("/i"), cmdline="console=ttyS0")
    base.update(kw)
    return GuestSpec(**base)  # type: ignore[arg-type]


def argv(s: GuestSpec, accel: str = "tcg") -> list[str]:
    d = Path("/run/g,1")
    return qemu_args.command_line("qemu-system-x86_64", s, accel, qmp=d / "qmp.sock",
                                  status=d / "status.sock", console=d / "console.log",
                                  pidfile=d / "qemu.pid")


def test_the_command_line_has_no_disk_and_no_key() -> None:
    a = argv(spec())
    assert KEY not in " ".join(a) and "x_disk" not in " ".join(a)
    assert "-S" in a and a[a.index("-nic") + 1] == "none"
    assert a[a.index("-machine") + 1] == "pc,accel=tcg"
    assert a[a.index("-uuid") + 1] == spec().uuid
    # Commas in paths are doubled, as QEMU's option lists want.
    assert "unix:/run/g,,1/qmp.sock,server=on,wait=off" in a
    assert a[a.index("-append") + 1] == "console=ttyS0"


def test_kvm_takes_the_host_cpu_and_a_user_nic_is_virtio() -> None:
    a = argv(spec(nic="user", uuid="not-a-uuid"), accel="kvm")
    assert a[a.index("-cpu") + 1] == "host"
    assert a[a.index("-nic") + 1] == "user,model=virtio-net-pci"
    assert "-uuid" not in a


def test_an_rbd_disk_is_a_secret_a_node_and_a_device() -> None:
    disk = spec().disks[0]
    assert qemu_args.secret_object(3, KEY) == {"qom-type": "secret", "id": "key3", "data": KEY,
                                               "format": "base64"}
    node = qemu_args.blockdev(3, disk)
    assert node["file"]["key-secret"] == "key3" and node["file"]["user"] == "nova"
    assert KEY not in repr(node)
    dev = qemu_args.device(3, GuestDisk(disk.source, "0123456789abcdef0123456789"), boot=False)
    assert dev == {"driver": "virtio-blk-pci", "id": "vd3", "drive": "drv3",
                   "serial": "0123456789abcdef0123"}


def test_a_file_disk_keeps_its_format() -> None:
    node = qemu_args.blockdev(0, GuestDisk(FileDisk(Path("/d/x.qcow2")), "root", readonly=True))
    assert node["driver"] == "qcow2" and node["read-only"] is True
    assert node["file"] == {"driver": "file", "filename": "/d/x.qcow2"}


def test_no_kvm_without_a_qemu_that_runs_it(tmp_path: Path) -> None:
    from cowcloud.hypervisor.probe import kvm_runs
    assert kvm_runs(str(tmp_path / "no-such-qemu")) is False
