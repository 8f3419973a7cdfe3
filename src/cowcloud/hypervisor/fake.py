"""The `fake` driver: guests that are only records, for scale tests and for hosts that run
no VMs. It keeps the contract's semantics (GuestExists, GuestNotFound, idempotent stops) and
its state in one JSON file per guest under its state folder, so an agent restarted after a
crash finds its guests with `guests()`, as with a real driver."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from .driver import Driver, GuestDisk, GuestExists, GuestNotFound, GuestSpec, PowerState


class FakeDriver(Driver):
    name = "fake"

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _path(self, uuid: str) -> Path:
        return self.state_dir / f"{uuid}.json"

    def _load(self, uuid: str) -> dict:  # type: ignore[type-arg]
        try:
            return json.loads(self._path(uuid).read_text())  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise GuestNotFound(f"Guest {uuid} is not defined on this host.") from None

    def _save(self, uuid: str, state: dict) -> None:  # type: ignore[type-arg]
        tmp = self._path(uuid).with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(state, f)
        tmp.replace(self._path(uuid))

    @staticmethod
    def _disk(disk: GuestDisk) -> dict:  # type: ignore[type-arg]
        # the cephx key stays out of the file, as a real driver keeps it off disk
        source = {k: str(v) for k, v in asdict(disk.source).items() if k != "key"}
        return {"serial": disk.serial, "readonly": disk.readonly, "source": source}

    async def spawn(self, spec: GuestSpec) -> None:
        if self._path(spec.uuid).exists():
            raise GuestExists(f"Guest {spec.uuid} is already defined on this host.")
        self._save(spec.uuid, {
            "uuid": spec.uuid, "name": spec.name, "vcpus": spec.vcpus,
            "memory_mb": spec.memory_mib, "nic": spec.nic,
            "disks": [self._disk(d) for d in spec.disks],
            "state": PowerState.RUNNING.value,
            # a boot of a few lines, as a real guest's console has (clients and tempest
            # read more lines than one from a console log)
            "console": [f"fake guest {spec.name} ({spec.uuid}) started",
                        f"{spec.vcpus} vCPU(s), {spec.memory_mib} MiB, "
                        f"{len(spec.disks)} disk(s)", f"{spec.name} login:"]})

    async def _set(self, uuid: str, state: PowerState, line: str) -> None:
        record = self._load(uuid)
        if record["state"] != state.value:
            record["state"] = state.value
            record["console"].append(line)
            self._save(uuid, record)

    async def power_off(self, uuid: str, timeout: float = 10.0) -> None:
        await self._set(uuid, PowerState.SHUTDOWN, "powered off")

    async def power_on(self, uuid: str, spec: GuestSpec | None = None) -> None:
        if spec is not None:  # the contract's restarted agent hands the spec back
            record = self._load(uuid)
            record["disks"] = [self._disk(d) for d in spec.disks]
            self._save(uuid, record)
        await self._set(uuid, PowerState.RUNNING, "powered on")

    async def reboot(self, uuid: str, hard: bool = False) -> None:
        record = self._load(uuid)
        record["state"] = PowerState.RUNNING.value
        record["console"].append("hard reboot" if hard else "reboot")
        self._save(uuid, record)

    async def destroy(self, uuid: str) -> None:
        self._path(uuid).unlink(missing_ok=True)

    async def state(self, uuid: str) -> PowerState:
        return PowerState(self._load(uuid)["state"])

    async def guests(self) -> list[str]:
        return sorted(p.stem for p in self.state_dir.glob("*.json"))

    async def attach_disk(self, uuid: str, disk: GuestDisk) -> None:
        record = self._load(uuid)
        if not any(d["serial"] == disk.serial for d in record["disks"]):
            record["disks"].append(self._disk(disk))
            self._save(uuid, record)

    async def detach_disk(self, uuid: str, serial: str) -> None:
        record = self._load(uuid)
        record["disks"] = [d for d in record["disks"] if d["serial"] != serial]
        self._save(uuid, record)

    def console_log(self, uuid: str, length: int | None = None) -> str:
        lines = self._load(uuid)["console"]
        return "\n".join(lines[-length:] if length else lines) + "\n"
