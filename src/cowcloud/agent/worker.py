"""The agent's loop: register, heartbeat, take work, do it, report it.

A server's work runs in the order it was handed out (one lock per server); different servers'
work runs side by side. Work that fails is reported with its reason; the agent goes on. If
the control plane says another agent holds this host now, this one stops at once rather
than run guests two agents believe are theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Any

from ..block.targets import Target, Targets
from ..config import Settings
from ..errors import Error
from ..hypervisor.driver import (
    Driver,
    FileDisk,
    GuestDisk,
    GuestExists,
    GuestNotFound,
    GuestSpec,
    PowerState,
    RbdDisk,
)
from . import disks, facts, volumes
from .boot import BootFiles
from .channel import AgentRefused, Channel

log = logging.getLogger("cowcloud.agent")

POWER = {PowerState.RUNNING: 1, PowerState.PAUSED: 3, PowerState.SHUTDOWN: 4,
         PowerState.CRASHED: 6}
RETRY_SECONDS = 1.0


class Agent:
    def __init__(self, settings: Settings, channel: Channel, driver: Driver, targets: Targets,
                 state_dir: Path) -> None:
        self.settings = settings
        self.channel = channel
        self.driver = driver
        self.targets = targets
        self.state_dir = Path(state_dir)
        self.boot = BootFiles(settings, targets, self.state_dir,
                              lambda image_id: self.channel.image_chunks(image_id))
        self.host = facts.host_name(settings)
        self.session: str | None = None
        self.heartbeat_seconds = settings.compute.service_down_seconds / 3
        self.poll_seconds = settings.compute.agent_poll_seconds
        self._locks: dict[str, asyncio.Lock] = {}
        self._registered: list[str] = []
        self._running: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- registration

    @property
    def _session_file(self) -> Path:
        return self.state_dir / "session"

    def _hold_state_dir(self) -> None:
        """One agent per state folder: its session file makes the holder the host's agent,
        so a second process on the same folder must not even ask."""
        if getattr(self, "_lock_fd", None) is not None:
            return
        fd = os.open(self.state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AgentRefused(f"Another agent runs with state folder {self.state_dir} "
                               f"(host {self.host}).") from None
        self._lock_fd: int | None = fd

    def release(self) -> None:
        fd, self._lock_fd = getattr(self, "_lock_fd", None), None
        if fd is not None:
            os.close(fd)

    async def register(self) -> dict[str, Any]:
        """Registers the host; AgentRefused when another agent holds it up. A session kept
        from this agent's last run makes it its own successor after a restart."""
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._hold_state_dir()
        spec = facts.registration(self.settings, self.targets, self.driver.name)
        with contextlib.suppress(OSError):
            spec["session"] = self._session_file.read_text().strip()
        answer = await self.channel.register(spec)
        self._registered = [b["name"] for b in spec["backends"]]
        self.session = answer["session"]
        self._session_file.write_text(self.session)
        self.heartbeat_seconds = float(answer.get("heartbeat_seconds", self.heartbeat_seconds))
        if "servers" in answer:
            await self._drop_stale(set(answer["servers"]))
        self.poll_seconds = float(answer.get("poll_seconds", self.poll_seconds))
        log.info("agent registered host %s with %d backend(s)", self.host,
                 len(spec["backends"]))
        return answer

    async def _drop_stale(self, mine: set[str]) -> None:
        """Guests the control plane no longer places here (evacuated while this host was
        down) are destroyed; their disks are elsewhere's now and are left alone."""
        for uuid in await self.driver.guests():
            if uuid not in mine:
                log.warning("guest %s was moved off host %s while it was away: destroying "
                            "it here (its disk is left alone)", uuid, self.host)
                await self.driver.destroy(uuid)
                self.boot.forget(uuid)

    def _reached(self) -> list[Target]:
        return facts.backends(self.settings, self.targets)

    async def _heartbeats(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), self.heartbeat_seconds)
            if stop.is_set():
                return
            assert self.session is not None
            try:
                reached = self._reached()
                if [t.name for t in reached] != self._registered:
                    # a cluster opened (or went) since: the host's backends are news
                    await self.register()
                    continue
                await self.channel.heartbeat(self.host, {
                    "session": self.session,
                    "backends": [facts.backend_report(self.settings, t) for t in reached]})
            except AgentRefused:
                log.error("host %s was taken over by another agent: stopping", self.host)
                stop.set()
                raise
            except Exception as exc:  # the control plane away: the next beat tries again
                log.warning("heartbeat failed: %s", exc)

    # ---------------------------------------------------------------- the loop

    async def run(self, stop: asyncio.Event) -> None:
        if self.session is None:
            await self.register()
        beats = asyncio.create_task(self._heartbeats(stop), name="agent-heartbeat")
        try:
            while not stop.is_set():
                asked_as = self.session
                assert asked_as is not None
                poll = asyncio.create_task(self.channel.work(self.host, asked_as,
                                                             self.poll_seconds))
                stopping = asyncio.create_task(stop.wait())
                done, _ = await asyncio.wait({poll, stopping},
                                             return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if poll not in done:
                    poll.cancel()
                    with contextlib.suppress(BaseException):
                        await poll
                    break
                try:
                    items = poll.result()
                except AgentRefused:
                    if self.session != asked_as:
                        continue  # this agent re-registered meanwhile (new backends)
                    log.error("host %s was taken over by another agent: stopping", self.host)
                    raise
                except Exception as exc:
                    log.warning("asking for work failed: %s", exc)
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                for item in items:
                    task = asyncio.create_task(self._do(item))
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
        finally:
            stop.set()
            beats.cancel()
            with contextlib.suppress(BaseException):
                await beats
            if self._running:
                await asyncio.wait(self._running, timeout=10)

    async def _do(self, item: dict[str, Any]) -> None:
        key = item.get("server_id") or f"work-{item['id']}"
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            try:
                result = await self.handle(item["kind"], item["payload"])
            except Error as exc:
                result = {"ok": False, "error": exc.message or type(exc).__name__}
            except Exception as exc:  # reported, so the server shows why
                log.exception("work %s (%s) failed", item["id"], item["kind"])
                result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            for attempt in range(30):
                try:
                    assert self.session is not None
                    await self.channel.report(self.host, self.session, item["id"], result)
                    break
                except AgentRefused:
                    raise
                except Exception as exc:
                    log.warning("reporting work %s failed (%s), again", item["id"], exc)
                    await asyncio.sleep(RETRY_SECONDS * (attempt + 1))
        if item["kind"] == "destroy":
            self._locks.pop(key, None)

    # ---------------------------------------------------------------- work kinds

    async def handle(self, kind: str, p: dict[str, Any]) -> dict[str, Any]:
        uuid = p["server_id"]
        if kind == "spawn":
            return await self._spawn(p)
        if kind == "evacuate":
            return await self._evacuate(p)
        if kind in volumes.KINDS:
            return await volumes.handle(self.settings, self.targets, self.driver, kind, p)
        if kind == "rebuild":
            # the old guest and disk go, then the server is spawned again from its new image
            await self.driver.destroy(uuid)
            await disks.remove_root(self.targets.get("ephemeral_backends",
                                                     p["root"]["backend"]), uuid)
            result = await self._spawn(p)
            if result.get("ok") and p.get("stopped"):  # a stopped server is rebuilt stopped
                await self.driver.power_off(uuid)
                result = {**result, "power_state": POWER[await self.driver.state(uuid)]}
            return result
        if kind == "stop":
            await self.driver.power_off(uuid)
        elif kind == "start":
            # the spec again: drivers keep disk keys in memory only, and this agent may have
            # restarted since the spawn
            spec = await self._spec(p) if p.get("backend") else None
            await self.driver.power_on(uuid, spec)
        elif kind == "reboot":
            await self.driver.reboot(uuid, hard=bool(p.get("hard")))
        elif kind == "console":
            return {"ok": True, "output": self.driver.console_log(uuid, p.get("length"))}
        elif kind == "destroy":
            await self.driver.destroy(uuid)
            self.boot.forget(uuid)
            if p.get("backend"):
                await disks.remove_root(self.targets.get("ephemeral_backends", p["backend"]),
                                        uuid)
            return {"ok": True, "power_state": 0}
        else:
            return {"ok": False, "error": f"unknown work {kind!r}"}
        return {"ok": True, "power_state": POWER[await self.driver.state(uuid)]}

    async def _spawn(self, p: dict[str, Any]) -> dict[str, Any]:
        uuid = p["server_id"]
        with contextlib.suppress(GuestNotFound):
            state = await self.driver.state(uuid)
            return {"ok": True, "power_state": POWER[state]}  # spawned by an earlier run
        if p["root"].get("volume"):  # booted from a volume: it is the root disk
            await volumes.spawn(self.settings, self.targets, self.driver, p)
            return {"ok": True, "power_state": POWER[await self.driver.state(uuid)]}
        target = self.targets.get("ephemeral_backends", p["root"]["backend"])
        dev = await disks.build_root(self.settings, self.targets, target, uuid, p["root"],
                                     self.channel.image_chunks)
        try:
            source = await disks.disk_source(self.settings, target, dev)
            self.boot.remember(uuid, p.get("boot"))
            spec = await self._guest(p, source)
            try:
                await self.driver.spawn(spec)
            except GuestExists:
                pass
        except BaseException:
            self.boot.forget(uuid)
            await disks.remove_root(target, uuid)
            raise
        return {"ok": True, "power_state": POWER[await self.driver.state(uuid)],
                "device": f"{dev.pool}/{dev.name}"}

    async def _evacuate(self, p: dict[str, Any]) -> dict[str, Any]:
        """The server's disk is already there (shared RBD): fence whoever holds it (the dead
        host; breaking its lock blocklists its address), then start the guest on it."""
        uuid = p["server_id"]
        target = self.targets.get("ephemeral_backends", p["root"]["backend"])
        dev = disks.root_device(target, uuid)
        fenced = await disks.fence(target, dev)
        with contextlib.suppress(GuestNotFound):
            await self.driver.destroy(uuid)  # an earlier attempt's guest
        self.boot.remember(uuid, p.get("boot"))
        await self.driver.spawn(await self._spec({**p, "backend": p["root"]["backend"]}))
        if p.get("was_stopped"):
            await self.driver.power_off(uuid)
        return {"ok": True, "power_state": POWER[await self.driver.state(uuid)],
                "fenced": fenced}

    async def _spec(self, p: dict[str, Any]) -> GuestSpec:
        """The guest of a server whose root disk is already on `p["backend"]`."""
        target = self.targets.get("ephemeral_backends", p["backend"])
        source = await disks.disk_source(self.settings, target,
                                         disks.root_device(target, p["server_id"]))
        return await self._guest(p, source)

    async def _guest(self, p: dict[str, Any], source: RbdDisk | FileDisk) -> GuestSpec:
        """The guest of a server on that root disk, with its attached volumes and the kernel it
        was spawned with."""
        kernel, initrd, cmdline = await self.boot.files(self.boot.recalled(p["server_id"]))
        attached = tuple(volumes.guest_disk(self.settings, self.targets, v)
                         for v in p.get("volumes") or ())
        return GuestSpec(uuid=p["server_id"], name=p["name"], vcpus=p["vcpus"],
                         memory_mib=p["memory_mb"],
                         disks=(GuestDisk(source, "root"), *attached),
                         nic="user" if p.get("nic") == "auto" else "none", kernel=kernel,
                         initrd=initrd, cmdline=cmdline)
