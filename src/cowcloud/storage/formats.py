"""Disk image format inspection from the first bytes only, with the 2024-CVE safety checks.

Images are untrusted. A qcow2 with a backing file or an external data file, or a VMDK whose extents
name other files, makes qemu-img (and so a hypervisor) read host files; QED is refused outright.
Everything here reads a header of at most HEAD_BYTES, so it runs on a stream as it arrives, before
any byte is trusted, and never calls qemu-img on unchecked data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .errors import FormatMismatch, UnsafeImage

HEAD_BYTES = 1 << 20  # enough for every header below (ISO descriptors end at 36 KiB)

QCOW2_MAGIC = b"QFI\xfb"
QCOW2_INCOMPAT_CORRUPT = 1 << 1
QCOW2_INCOMPAT_DATA_FILE = 1 << 2
QCOW2_INCOMPAT_KNOWN = 0x1F  # dirty, corrupt, data file, compression type, extended L2
QCOW2_EXT_DATA_FILE = 0x44415441
VMDK_SPARSE_MAGIC = b"KDMV"
VMDK_ALLOWED_TYPES = frozenset({"monolithicSparse", "streamOptimized"})

# Glance disk_format values that inspection cannot tell from raw: stored as they come.
OPAQUE_FORMATS = frozenset({"ami", "ari", "aki", "raw"})
DISK_FORMATS = frozenset({"raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "ploop",
                          "ami", "ari", "aki"})


@dataclass(frozen=True)
class FormatInfo:
    format: str  # raw, qcow2, vmdk, vhd, vhdx, vdi, iso, gpt, qed, luks
    virtual_size: int | None  # None where the header does not say (raw: the data's size)
    problems: tuple[str, ...] = field(default=())  # safety failures; empty means safe

    @property
    def safe(self) -> bool:
        return not self.problems


def inspect(head: bytes) -> FormatInfo:
    """Identifies the format of data starting with `head` and lists what makes it unsafe."""
    if head.startswith(QCOW2_MAGIC):
        return _qcow2(head)
    if head.startswith(b"QED\x00"):
        return FormatInfo("qed", None, ("QED images are not accepted",))
    if head.startswith(VMDK_SPARSE_MAGIC):
        return _vmdk_sparse(head)
    if head.startswith(b"# Disk DescriptorFile"):
        return FormatInfo("vmdk", None, ("a VMDK descriptor without data names other files",))
    if head.startswith(b"vhdxfile"):
        return FormatInfo("vhdx", None)
    if head.startswith(b"conectix"):
        return _vhd(head)
    if len(head) >= 0x44 and head[0x40:0x44] == b"\x7f\x10\xda\xbe":
        return FormatInfo("vdi", struct.unpack_from("<Q", head, 0x170)[0]
                          if len(head) >= 0x178 else None)
    if head.startswith(b"LUKS\xba\xbe"):
        return FormatInfo("luks", None)
    if any(head[off:off + 5] == b"CD001" for off in (0x8001, 0x8801, 0x9001)):
        return FormatInfo("iso", None)
    if len(head) >= 0x208 and head[0x1FE:0x200] == b"\x55\xaa" and head[0x200:0x208] == b"EFI PART":
        return FormatInfo("gpt", None)
    if _vmdk_text_descriptor(head):
        return FormatInfo("vmdk", None, ("a VMDK descriptor without data names other files",))
    return FormatInfo("raw", None)


def _vmdk_text_descriptor(head: bytes) -> bool:
    """What qemu's VMDK probe takes for a descriptor: in its 2 KiB probe window, a line
    `version=1|2|3` (comment lines and leading blanks skipped), wherever it stands. Such a file
    read as VMDK opens the extent files it names, so it is refused whatever comes before."""
    for line in head[:2048].split(b"\n"):
        text = line.lstrip(b" ").rstrip(b"\r")
        if text in (b"version=1", b"version=2", b"version=3"):
            return True
    return False


def _qcow2(head: bytes) -> FormatInfo:
    if len(head) < 104:
        return FormatInfo("qcow2", None, ("truncated qcow2 header",))
    version, backing_offset = struct.unpack_from(">IQ", head, 4)
    size = struct.unpack_from(">Q", head, 24)[0]
    problems = []
    if version not in (2, 3):
        problems.append(f"unknown qcow2 version {version}")
    if backing_offset:
        problems.append("qcow2 has a backing file")
    if version == 3:
        incompat = struct.unpack_from(">Q", head, 72)[0]
        if incompat & QCOW2_INCOMPAT_DATA_FILE or _has_qcow2_ext(head, QCOW2_EXT_DATA_FILE):
            problems.append("qcow2 has an external data file")
        if incompat & QCOW2_INCOMPAT_CORRUPT:
            problems.append("qcow2 is marked corrupt")
        if incompat & ~QCOW2_INCOMPAT_KNOWN:
            problems.append(f"qcow2 has unknown incompatible features {incompat:#x}")
    return FormatInfo("qcow2", size, tuple(problems))


def _has_qcow2_ext(head: bytes, wanted: int) -> bool:
    header_length = struct.unpack_from(">I", head, 100)[0]
    pos = header_length if 104 <= header_length <= 4096 else 104
    while pos + 8 <= len(head):
        kind, length = struct.unpack_from(">II", head, pos)
        if kind == 0:
            return False
        if kind == wanted:
            return True
        pos += 8 + ((length + 7) & ~7)
    return False


def _vmdk_sparse(head: bytes) -> FormatInfo:
    if len(head) < 40:
        return FormatInfo("vmdk", None, ("truncated VMDK header",))
    capacity, _grain, desc_sector, desc_sectors = struct.unpack_from("<QQQQ", head, 12)
    start, end = desc_sector * 512, (desc_sector + desc_sectors) * 512
    if not desc_sector or end > len(head):
        return FormatInfo("vmdk", capacity * 512, ("VMDK descriptor is missing or out of reach",))
    problems = _vmdk_descriptor_problems(head[start:end].split(b"\0", 1)[0].decode("latin-1"))
    return FormatInfo("vmdk", capacity * 512, tuple(problems))


def _vmdk_descriptor_problems(text: str) -> list[str]:
    problems, extents, create_type = [], 0, None
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or line.startswith("ddb."):
            continue
        if line.startswith(("RW ", "RDONLY ", "NOACCESS ")):
            extents += 1
            if "/" in line:
                problems.append("VMDK extent names a path")
        elif "=" in line:
            key, _, value = line.partition("=")
            if key.strip() == "createType":
                create_type = value.strip().strip('"')
        else:
            problems.append("VMDK descriptor has an unexpected line")
    if create_type not in VMDK_ALLOWED_TYPES:
        problems.append(f"VMDK type {create_type!r} is not allowed")
    if not extents:
        problems.append("VMDK descriptor has no extent")
    return problems


def _vhd(head: bytes) -> FormatInfo:
    # A dynamic VHD starts with a copy of its footer: current size at 48 (big endian).
    size = struct.unpack_from(">Q", head, 48)[0] if len(head) >= 56 else None
    return FormatInfo("vhd", size)


def check(info: FormatInfo, declared: str | None, *, archive: bool = False) -> None:
    """Refuses unsafe content, and content whose format is not the declared one.

    As Glance does: gpt counts as raw, an iso holding a gpt is an iso, and formats inspection
    cannot tell from raw (ami, ari, aki) accept raw-looking data. `archive`: the payload is a
    container (ova, docker...) that inspection reads as raw bytes; a disk image found there is
    still held to the declared format, so no container hides a qcow2 declared as something else.
    """
    if info.problems:
        raise UnsafeImage("image refused: " + "; ".join(info.problems))
    if declared is None:
        return
    detected = "raw" if info.format == "gpt" else info.format
    if archive and detected == "raw":
        return
    if declared in OPAQUE_FORMATS and detected == "raw":
        return
    if declared == "iso" and info.format in ("iso", "gpt"):
        return
    if detected != declared:
        raise FormatMismatch(declared, detected)
