"""A guest's state folder (mode 0700): what the qemu driver keeps so a restarted agent finds its
guests. Never a secret: spec.json holds the disks without their cephx keys.

    spec.json     the GuestSpec without keys, each disk with its slot (QEMU ids key<N>/drv<N>/vd<N>)
    qmp.sock      QMP for control;  status.sock  QMP for state() (see qemu_args)
    qemu.pid      QEMU's pid (-pidfile);  wrapper.pid  the shell that waits for it
    exit          QEMU's exit status, written by that shell when QEMU ends
    stopping      present when the driver asked the guest to stop (an end then is no crash)
    console.log   the serial console;  qemu.log  QEMU's own messages
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .driver import FileDisk, GuestDisk, GuestSpec, RbdDisk

SPEC = "spec.json"
# Unix socket paths are capped at 108 bytes (sun_path) including the final NUL.
_SUN_PATH = 107


@dataclass
class Slotted:
    slot: int
    disk: GuestDisk   # an RbdDisk's key is "" here: keys live in the driver's memory only


def spec_to_json(spec: GuestSpec, slots: list[Slotted]) -> dict[str, Any]:
    disks = []
    for s in slots:
        src = s.disk.source
        entry: dict[str, Any] = {"slot": s.slot, "serial": s.disk.serial,
                                 "readonly": s.disk.readonly}
        if isinstance(src, RbdDisk):
            entry["rbd"] = {"pool": src.pool, "image": src.image, "conf": src.conf,
                            "user": src.user}
        else:
            entry["file"] = {"path": str(src.path), "format": src.format}
        disks.append(entry)
    return {"uuid": spec.uuid, "name": spec.name, "vcpus": spec.vcpus,
            "memory_mib": spec.memory_mib, "nic": spec.nic,
            "kernel": str(spec.kernel) if spec.kernel else None,
            "initrd": str(spec.initrd) if spec.initrd else None,
            "cmdline": spec.cmdline, "disks": disks}


def spec_from_json(doc: dict[str, Any]) -> tuple[GuestSpec, list[Slotted]]:
    slots = []
    for d in doc["disks"]:
        src: RbdDisk | FileDisk
        if "rbd" in d:
            src = RbdDisk(key="", **d["rbd"])
        else:
            src = FileDisk(Path(d["file"]["path"]), d["file"]["format"])
        slots.append(Slotted(d["slot"], GuestDisk(src, d["serial"], d["readonly"])))
    spec = GuestSpec(uuid=doc["uuid"], name=doc["name"], vcpus=doc["vcpus"],
                     memory_mib=doc["memory_mib"], disks=tuple(s.disk for s in slots),
                     nic=doc["nic"], kernel=Path(doc["kernel"]) if doc["kernel"] else None,
                     initrd=Path(doc["initrd"]) if doc["initrd"] else None,
                     cmdline=doc["cmdline"])
    return spec, slots


class GuestDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.spec_file = path / SPEC
        self.qmp = path / "qmp.sock"
        self.status = path / "status.sock"
        self.pidfile = path / "qemu.pid"
        self.wrapper_pidfile = path / "wrapper.pid"
        self.exit = path / "exit"
        self.stopping = path / "stopping"
        self.console = path / "console.log"
        self.log = path / "qemu.log"

    @staticmethod
    def longest_socket(root: Path) -> int:
        return len(str(root)) + 1 + 36 + len("/status.sock")

    def exists(self) -> bool:
        return self.spec_file.is_file()

    def create(self) -> None:
        self.path.mkdir(mode=0o700)
        os.chmod(self.path, 0o700)   # whatever the umask

    def load(self) -> tuple[GuestSpec, list[Slotted]]:
        return spec_from_json(json.loads(self.spec_file.read_text()))

    def save(self, spec: GuestSpec, slots: list[Slotted]) -> None:
        tmp = self.spec_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(spec_to_json(spec, slots), indent=1))
        os.replace(tmp, self.spec_file)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self.path.exists():   # a file appeared while removing (the wrapper's exit status)
            shutil.rmtree(self.path)

    def clear_run_files(self) -> None:
        for f in (self.qmp, self.status, self.pidfile, self.wrapper_pidfile, self.exit,
                  self.stopping):
            f.unlink(missing_ok=True)

    def _pid(self, file: Path) -> int | None:
        """The pid in `file` if that process still runs and is this guest's (a pid reused by
        another process does not count: its command line must name this folder)."""
        try:
            pid = int(file.read_text().strip())
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return None
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            return None
        return pid if str(self.path).encode() in cmdline else None

    def qemu_pid(self) -> int | None:
        return self._pid(self.pidfile)

    def wrapper_pid(self) -> int | None:
        return self._pid(self.wrapper_pidfile)

    def exit_status(self) -> int | None:
        try:
            return int(self.exit.read_text().strip())
        except (OSError, ValueError):
            return None

    def log_tail(self, limit: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-limit:].strip()
        except OSError:
            return ""

    def trim_console(self, keep: int = 256 << 10, over: int = 1 << 20) -> None:
        """QEMU appends to the console file for as long as the guest lives; at each start the
        file is cut to its last `keep` bytes once it passes `over`."""
        try:
            if self.console.stat().st_size <= over:
                return
            with open(self.console, "rb") as f:
                f.seek(-keep, os.SEEK_END)
                tail = f.read()
        except OSError:
            return
        self.console.write_bytes(tail)
