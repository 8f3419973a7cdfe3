"""Can this host run KVM guests? /dev/kvm that opens and makes a VM is not enough: in a nested
guest QEMU may abort on an MSR it cannot set, or its vCPU may never run. So the probe boots a
512-byte disk whose code writes a line to COM1, under the same machine and CPU model as guests."""

from __future__ import annotations

import fcntl
import os
import subprocess
import tempfile
from pathlib import Path

# Linux's KVM ioctls (linux/kvm.h): _IO(KVMIO=0xAE, 0x00) and _IO(KVMIO, 0x01).
_KVM_GET_API_VERSION = 0xAE00
_KVM_CREATE_VM = 0xAE01
_KVM_API_VERSION = 12


def kvm_usable(dev: str = "/dev/kvm") -> bool:
    """True if this process can create a KVM VM (no permission, or no VT-x: False)."""
    try:
        fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if fcntl.ioctl(fd, _KVM_GET_API_VERSION, 0) != _KVM_API_VERSION:
            return False
        vm = fcntl.ioctl(fd, _KVM_CREATE_VM, 0)
        os.close(vm)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def boot_sector(message: str) -> bytes:
    """A 512-byte MBR whose code writes `message` to COM1 and halts (hand-assembled 16-bit
    code; offsets in the comments)."""
    text = message.encode() + b"\r\n\0"
    code = bytes([
        0xFA,                    # 0   cli
        0x31, 0xC0,              # 1   xor ax, ax
        0x8E, 0xD8,              # 3   mov ds, ax
        0xBE, 0x16, 0x7C,        # 5   mov si, 0x7c16 (the text, at offset 22)
        0xBA, 0xF8, 0x03,        # 8   mov dx, 0x3f8 (COM1)
        0xAC,                    # 11  lodsb
        0x84, 0xC0,              # 12  test al, al
        0x74, 0x03,              # 14  jz 19
        0xEE,                    # 16  out dx, al
        0xEB, 0xF8,              # 17  jmp 11
        0xF4,                    # 19  hlt
        0xEB, 0xFD,              # 20  jmp 19
    ])
    assert len(code) == 22 and len(code) + len(text) <= 510
    return (code + text).ljust(510, b"\0") + b"\x55\xAA"


def kvm_runs(qemu: str = "qemu-system-x86_64", timeout: float = 20.0) -> bool:
    """True if a KVM guest (machine pc, CPU host) boots and writes to its serial port."""
    if not kvm_usable():
        return False
    marker = "cowcloud-kvm-probe"
    with tempfile.TemporaryDirectory(prefix="cowcloud-kvm-") as tmp:
        disk = Path(tmp) / "mbr.raw"
        disk.write_bytes(boot_sector(marker))
        console = Path(tmp) / "console"
        try:
            proc = subprocess.Popen(
                [qemu, "-machine", "pc,accel=kvm", "-cpu", "host", "-m", "16M", "-nodefaults",
                 "-no-user-config", "-display", "none", "-nic", "none",
                 "-serial", f"file:{console}",
                 "-drive", f"file={disk},format=raw,if=virtio,readonly=on"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            return False
        try:
            for _ in range(int(timeout / 0.05)):
                if proc.poll() is not None:
                    return False
                if console.exists() and marker.encode() in console.read_bytes():
                    return True
                try:
                    proc.wait(0.05)
                except subprocess.TimeoutExpired:
                    pass
            return False
        finally:
            proc.kill()
            proc.wait()
