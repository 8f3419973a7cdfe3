"""The `qemu` driver: guests run by qemu-system-x86_64 itself, driven over QMP, as incus does
(no libvirt). KVM where a KVM guest runs (probe.py), TCG otherwise.

A guest starts paused (-S) with nothing but its console, two QMP sockets and the kernel; its disks
are added over QMP (RBD: the cephx key as a `secret` object, then a blockdev and a virtio-blk
device), then `cont`. So a key is never on a command line or in a file: the driver keeps the keys
of its guests in memory only. A restarted agent re-learns them by passing the spec again:
`power_on(uuid, spec)` (or `reboot` of a running guest, which needs none for a hard reset).

QEMU runs under a small shell that records its exit status in the state folder, and in a session
of its own, so a guest outlives an agent that crashes or restarts, and `state()` can tell a guest
that powered itself off (status 0) from one whose QEMU died (CRASHED).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from ..errors import Conflict, Invalid
from . import qemu_args
from .driver import (
    Driver,
    FileDisk,
    GuestDisk,
    GuestExists,
    GuestNotFound,
    GuestSpec,
    HypervisorError,
    PowerState,
    RbdDisk,
)
from .guestdir import GuestDir, Slotted
from .probe import kvm_runs
from .qmp import Qmp, QmpError

_UUID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# Runs QEMU ("$@") and writes its exit status to the file named first; the wrapper's own name
# and the exit path put the guest's folder on its command line (that is how its pid is checked).
_WRAPPER = 'e=$1; shift; "$@"; echo $? >"$e"'

_PAUSED = {"paused", "prelaunch", "suspended", "inmigrate", "postmigrate", "finish-migrate",
           "restore-vm", "save-vm", "debug", "io-error", "watchdog", "colo"}
_CRASHED = {"internal-error", "guest-panicked"}


class KeysUnknown(HypervisorError):
    """The driver does not hold the cephx keys of a stopped guest's RBD disks (keys live in
    memory only: an agent restarted since the spawn must pass the spec again)."""
    status = 409


class QemuDriver(Driver):
    name = "qemu"

    def __init__(self, state_dir: Path, *, accel: str = "auto",
                 qemu: str = "qemu-system-x86_64", start_timeout: float = 30.0,
                 detach_timeout: float = 30.0, soft_reboot_timeout: float = 30.0) -> None:
        if accel not in ("auto", "kvm", "tcg"):
            raise Invalid(f"accel must be auto, kvm or tcg, not {accel!r}")
        self.state_dir = Path(state_dir).resolve()
        if GuestDir.longest_socket(self.state_dir) > 107:
            raise Invalid(f"state folder {self.state_dir} is too long for QMP's unix sockets "
                          f"(at most {107 - GuestDir.longest_socket(Path())} characters)")
        self.accel = ("kvm" if kvm_runs(qemu) else "tcg") if accel == "auto" else accel
        self.qemu = qemu
        self.start_timeout = start_timeout
        self.detach_timeout = detach_timeout
        self.soft_reboot_timeout = soft_reboot_timeout
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._keys: dict[str, dict[str, str]] = {}     # uuid -> serial -> cephx key
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- helpers ---------------------------------------------------------------------------

    def _dir(self, uuid: str) -> GuestDir:
        if not _UUID.match(uuid):
            raise Invalid(f"not a guest id: {uuid!r}")
        return GuestDir(self.state_dir / uuid)

    def _existing(self, uuid: str) -> GuestDir:
        gd = self._dir(uuid)
        if not gd.exists():
            raise GuestNotFound(f"no guest {uuid} on this host")
        return gd

    @contextlib.asynccontextmanager
    async def _locked(self, uuid: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(uuid, asyncio.Lock())
        async with lock:
            yield

    def _check(self, spec: GuestSpec) -> None:
        if spec.vcpus < 1 or spec.memory_mib < 16:
            raise Invalid(f"guest {spec.uuid}: needs at least 1 vCPU and 16 MiB "
                          f"(got {spec.vcpus}, {spec.memory_mib})")
        if spec.nic not in ("none", "user"):
            raise Invalid(f"guest {spec.uuid}: nic must be none or user, not {spec.nic!r}")
        serials = [d.serial for d in spec.disks]
        if len(set(serials)) != len(serials) or not all(serials):
            raise Invalid(f"guest {spec.uuid}: disk serials must be set and distinct")
        for path in (spec.kernel, spec.initrd):
            if path is not None and not Path(path).is_file():
                raise Invalid(f"guest {spec.uuid}: no such file {path}")
        for d in spec.disks:
            self._check_disk(d)

    @staticmethod
    def _check_disk(disk: GuestDisk) -> None:
        src = disk.source
        if isinstance(src, RbdDisk) and not src.key:
            raise Invalid(f"disk {disk.serial}: an RBD disk needs its cephx key")
        if isinstance(src, FileDisk) and not Path(src.path).is_file():
            raise Invalid(f"disk {disk.serial}: no such file {src.path}")

    def _keys_for(self, uuid: str, slots: list[Slotted]) -> dict[str, str]:
        keys = self._keys.get(uuid, {})
        missing = [s.disk.serial for s in slots
                   if isinstance(s.disk.source, RbdDisk) and s.disk.serial not in keys]
        if missing:
            raise KeysUnknown(f"guest {uuid}: the cephx keys of disks {', '.join(missing)} are "
                              "not known since the agent restarted; pass the spec to power_on")
        return keys

    # -- process ---------------------------------------------------------------------------

    async def _launch(self, gd: GuestDir, spec: GuestSpec, slots: list[Slotted],
                      keys: dict[str, str]) -> None:
        """Start QEMU paused, add the disks, let it run. On failure no process is left."""
        gd.clear_run_files()
        gd.trim_console()
        argv = qemu_args.command_line(self.qemu, spec, self.accel, qmp=gd.qmp, status=gd.status,
                                      console=gd.console, pidfile=gd.pidfile)
        with open(gd.log, "ab") as log:
            os.chmod(gd.log, 0o600)
            try:
                proc = await asyncio.create_subprocess_exec(
                    "/bin/sh", "-c", _WRAPPER, f"cowcloud-qemu-{spec.uuid}", str(gd.exit), *argv,
                    stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                    start_new_session=True)
            except OSError as e:
                raise HypervisorError(f"cannot run {self.qemu}: {e}") from e
        self._procs[spec.uuid] = proc
        gd.wrapper_pidfile.write_text(str(proc.pid))
        try:
            async with await self._connect_new(gd, proc) as qmp:
                for s in slots:
                    # A direct kernel boot holds boot index 0 (its option ROM) itself. Without
                    # a kernel SeaBIOS boots the first disk: disks are added in spec order, so
                    # it has the lowest PCI slot (bootindex counts from the next reset on).
                    boot = s is slots[0] and spec.kernel is None
                    await self._add_disk(qmp, s, keys.get(s.disk.serial, ""), boot=boot)
                await qmp.execute("cont")
        except BaseException as e:
            await self._kill(spec.uuid, gd)
            if isinstance(e, HypervisorError):
                tail = gd.log_tail()
                raise HypervisorError(f"guest {spec.uuid} did not start: {e.message}"
                                      + (f"\n{tail}" if tail else "")) from e
            raise

    async def _connect_new(self, gd: GuestDir, proc: asyncio.subprocess.Process) -> Qmp:
        deadline = time.monotonic() + self.start_timeout
        while True:
            if proc.returncode is not None:
                raise HypervisorError(f"qemu ended at start (status {gd.exit_status()})")
            if gd.qmp.exists():
                try:
                    return await Qmp.connect(gd.qmp)
                except HypervisorError:
                    if time.monotonic() > deadline:
                        raise
            if time.monotonic() > deadline:
                raise HypervisorError(f"no QMP socket within {self.start_timeout:g} s")
            await asyncio.sleep(0.02)

    async def _add_disk(self, qmp: Qmp, s: Slotted, key: str, *, boot: bool) -> None:
        """Secret, block node, device; on failure what was added is removed again."""
        secret, node, dev = qemu_args.names(s.slot)
        added: list[tuple[str, dict[str, str]]] = []
        try:
            if isinstance(s.disk.source, RbdDisk):
                await qmp.execute("object-add", qemu_args.secret_object(s.slot, key))
                added.append(("object-del", {"id": secret}))
            await qmp.execute("blockdev-add", qemu_args.blockdev(s.slot, s.disk))
            added.append(("blockdev-del", {"node-name": node}))
            await qmp.execute("device_add", qemu_args.device(s.slot, s.disk, boot=boot))
        except BaseException:
            for cmd, args in reversed(added):
                with contextlib.suppress(HypervisorError):
                    await qmp.execute(cmd, args)
            raise

    async def _kill(self, uuid: str, gd: GuestDir) -> None:
        """End QEMU at once and wait until it and its wrapper are gone. `quit` first: the guest
        gets no grace, but QEMU closes its RBD images, so no watch or exclusive lock of a dead
        client lingers on them (Ceph would keep a killed client's watch ~30 s and refuse to
        remove the image meanwhile). SIGKILL if QEMU does not end within seconds."""
        pid = gd.qemu_pid()
        if pid is not None:
            with contextlib.suppress(HypervisorError, asyncio.TimeoutError):
                async with await Qmp.connect(gd.qmp, timeout=3.0) as qmp:
                    await asyncio.wait_for(qmp.execute("quit"), 3.0)
            await self._wait_gone(gd, 5.0)
            pid = gd.qemu_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc = self._procs.pop(uuid, None)
        if proc is not None:
            if proc.returncode is None:   # once reaped, its pid may be someone else's
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        await self._wait_gone(gd, 10.0)

    @staticmethod
    async def _wait_gone(gd: GuestDir, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while gd.qemu_pid() is not None or gd.wrapper_pid() is not None:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _reap(self, uuid: str) -> None:
        proc = self._procs.get(uuid)
        if proc is not None and proc.returncode is not None:
            self._procs.pop(uuid, None)

    # -- contract --------------------------------------------------------------------------

    async def spawn(self, spec: GuestSpec) -> None:
        gd = self._dir(spec.uuid)
        self._check(spec)
        async with self._locked(spec.uuid):
            if gd.path.exists():
                raise GuestExists(f"guest {spec.uuid} is already defined on this host")
            slots = [Slotted(i, d) for i, d in enumerate(spec.disks)]
            keys = _keys_of(spec)
            gd.create()
            try:
                gd.save(spec, slots)
                self._keys[spec.uuid] = keys
                await self._launch(gd, spec, slots, keys)
            except BaseException:
                await self._kill(spec.uuid, gd)
                self._keys.pop(spec.uuid, None)
                gd.remove()
                raise

    async def power_off(self, uuid: str, timeout: float = 10.0) -> None:
        gd = self._existing(uuid)
        async with self._locked(uuid):
            await self._power_off(uuid, gd, timeout)

    async def _power_off(self, uuid: str, gd: GuestDir, timeout: float) -> None:
        gd.stopping.touch()
        if gd.qemu_pid() is None:
            return
        with contextlib.suppress(HypervisorError):
            async with await Qmp.connect(gd.qmp) as qmp:
                await qmp.execute("system_powerdown")
        if not await self._wait_gone(gd, timeout):
            await self._kill(uuid, gd)
        await self._reap(uuid)

    async def power_on(self, uuid: str, spec: GuestSpec | None = None) -> None:
        """Start a stopped guest with the spec it was spawned with (and the disks attached
        since). `spec`: the whole spec again, keys included, for an agent restarted since the
        spawn (the driver keeps keys in memory only); it replaces the stored one."""
        gd = self._existing(uuid)
        if spec is not None:
            if spec.uuid != uuid:
                raise Invalid(f"spec is for guest {spec.uuid}, not {uuid}")
            self._check(spec)
        async with self._locked(uuid):
            if gd.qemu_pid() is not None:
                if spec is not None:   # running: keep its definition, learn its keys
                    self._keys[uuid] = _keys_of(spec)
                await self._resume(gd)
                return
            await self._start_stopped(uuid, gd, spec)

    async def _start_stopped(self, uuid: str, gd: GuestDir, spec: GuestSpec | None) -> None:
        if spec is not None:
            slots = [Slotted(i, d) for i, d in enumerate(spec.disks)]
            self._keys[uuid] = _keys_of(spec)
            gd.save(spec, slots)
        else:
            spec, slots = gd.load()
        await self._launch(gd, spec, slots, self._keys_for(uuid, slots))

    @staticmethod
    async def _resume(gd: GuestDir) -> None:
        async with await Qmp.connect(gd.qmp) as qmp:
            status = (await qmp.execute("query-status"))["status"]
            if status in ("paused", "prelaunch", "suspended"):
                await qmp.execute("cont")

    async def reboot(self, uuid: str, hard: bool = False) -> None:
        """Hard: a reset, as a power cycle does (disks stay). Soft: an ACPI power-off, then a
        fresh QEMU (a guest that ignores the button is killed after soft_reboot_timeout). A
        stopped guest is started."""
        gd = self._existing(uuid)
        async with self._locked(uuid):
            if gd.qemu_pid() is None:
                await self._start_stopped(uuid, gd, None)
            elif hard:
                async with await Qmp.connect(gd.qmp) as qmp:
                    await qmp.execute("system_reset")
                    status = (await qmp.execute("query-status"))["status"]
                    if status in ("paused", "prelaunch"):
                        await qmp.execute("cont")
            else:
                _, slots = gd.load()
                # Before stopping: a guest that could not start again stays up.
                self._keys_for(uuid, slots)
                await self._power_off(uuid, gd, self.soft_reboot_timeout)
                await self._start_stopped(uuid, gd, None)

    async def destroy(self, uuid: str) -> None:
        gd = self._dir(uuid)
        async with self._locked(uuid):
            if gd.path.exists():
                if gd.exists():
                    gd.stopping.touch()
                await self._kill(uuid, gd)
                gd.remove()
            self._keys.pop(uuid, None)
        self._locks.pop(uuid, None)

    async def state(self, uuid: str) -> PowerState:
        gd = self._existing(uuid)
        # The wrapper without QEMU: QEMU is starting (no pidfile yet) or has just ended (its
        # status is being written). Either passes in milliseconds; a start that takes longer
        # is a paused guest.
        for _ in range(40):
            if gd.qemu_pid() is not None or gd.wrapper_pid() is None:
                break
            await asyncio.sleep(0.05)
        else:
            return PowerState.PAUSED
        if gd.qemu_pid() is not None:
            try:
                async with await Qmp.connect(gd.status, timeout=5.0) as qmp:
                    status = (await qmp.execute("query-status"))["status"]
            except HypervisorError:
                # Started, monitor not up yet, or ended between the two checks.
                if gd.qemu_pid() is not None:
                    return PowerState.PAUSED
            else:
                if status == "running":
                    return PowerState.RUNNING
                if status == "shutdown":
                    return PowerState.SHUTDOWN
                if status in _CRASHED:
                    return PowerState.CRASHED
                return PowerState.PAUSED
        await self._reap(uuid)
        if gd.stopping.exists() or gd.exit_status() == 0:
            return PowerState.SHUTDOWN
        return PowerState.CRASHED

    async def guests(self) -> list[str]:
        return sorted(p.name for p in self.state_dir.iterdir()
                      if _UUID.match(p.name) and GuestDir(p).exists())

    async def attach_disk(self, uuid: str, disk: GuestDisk) -> None:
        """Live on a running guest; on a stopped one the disk is there at the next start."""
        gd = self._existing(uuid)
        self._check_disk(disk)
        async with self._locked(uuid):
            spec, slots = gd.load()
            if any(s.disk.serial == disk.serial for s in slots):
                raise Conflict(f"guest {uuid} already has a disk with serial {disk.serial}")
            new = Slotted(max((s.slot for s in slots), default=-1) + 1, disk)
            key = disk.source.key if isinstance(disk.source, RbdDisk) else ""
            if gd.qemu_pid() is not None:
                async with await Qmp.connect(gd.qmp) as qmp:
                    await self._add_disk(qmp, new, key, boot=False)
            if key:
                self._keys.setdefault(uuid, {})[disk.serial] = key
            slots.append(new)
            gd.save(_with_disks(spec, slots), slots)

    async def detach_disk(self, uuid: str, serial: str) -> None:
        """Live: the guest is asked to release the disk (ACPI hot-unplug) and its block node is
        removed once it has. Detaching a disk the guest does not have does nothing; the boot
        disk cannot be detached."""
        gd = self._existing(uuid)
        async with self._locked(uuid):
            spec, slots = gd.load()
            found = [s for s in slots if s.disk.serial == serial]
            if not found:
                return
            s = found[0]
            if s is slots[0]:
                raise Conflict(f"guest {uuid}: the boot disk {serial} cannot be detached")
            if gd.qemu_pid() is not None:
                await self._remove_disk(gd, s)
            self._keys.get(uuid, {}).pop(serial, None)
            slots.remove(s)
            gd.save(_with_disks(spec, slots), slots)

    async def _remove_disk(self, gd: GuestDir, s: Slotted) -> None:
        secret, node, dev = qemu_args.names(s.slot)
        async with await Qmp.connect(gd.qmp) as qmp:
            try:
                await qmp.execute("device_del", {"id": dev})
            except QmpError as e:
                if e.cls != "DeviceNotFound":
                    raise
            else:
                await qmp.wait_event("DEVICE_DELETED", self.detach_timeout, device=dev)
            for cmd, args in (("blockdev-del", {"node-name": node}),
                              ("object-del", {"id": secret})):
                try:
                    await qmp.execute(cmd, args)
                except QmpError:
                    pass   # already gone (an earlier detach ended half-way), or a file disk

    def console_log(self, uuid: str, length: int | None = None) -> str:
        gd = self._existing(uuid)
        try:
            with open(gd.console, "rb") as f:
                if length is not None:
                    # The tail is enough for the last lines of a console that may be large.
                    size = f.seek(0, os.SEEK_END)
                    f.seek(max(0, size - max(length, 1) * 1024))
                data = f.read()
        except FileNotFoundError:
            return ""
        text = data.decode(errors="replace")
        if length is None:
            return text
        if length <= 0:
            return ""
        return "".join(text.splitlines(keepends=True)[-length:])


def _with_disks(spec: GuestSpec, slots: list[Slotted]) -> GuestSpec:
    return replace(spec, disks=tuple(s.disk for s in slots))


def _keys_of(spec: GuestSpec) -> dict[str, str]:
    return {d.serial: d.source.key for d in spec.disks if isinstance(d.source, RbdDisk)}
