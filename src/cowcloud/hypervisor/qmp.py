"""A small asyncio client for QEMU's machine protocol (QMP) over a unix socket.

One connection, one command at a time (QMP answers in order); events that arrive meanwhile are
kept so a caller can wait for one (DEVICE_DELETED after device_del). A QMP socket serves one
client at a time, so connections are short: open, do the work, close.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from .driver import HypervisorError

# Large enough for query replies with many block nodes; QMP lines are single JSON documents.
_LIMIT = 16 << 20


class QmpError(HypervisorError):
    """QEMU refused a command: `cls` is QMP's error class (GenericError, DeviceNotFound...)."""

    def __init__(self, command: str, cls: str, desc: str) -> None:
        super().__init__(f"qmp {command}: {desc}")
        self.cls = cls
        self.desc = desc


class Qmp:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()
        self.events: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, path: Path, timeout: float = 10.0) -> Qmp:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(path), limit=_LIMIT), timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise HypervisorError(f"cannot reach QMP at {path}: {e or 'timed out'}") from e
        qmp = cls(reader, writer)
        try:
            greeting = await asyncio.wait_for(qmp._read(), timeout)
            if "QMP" not in greeting:
                raise HypervisorError(f"not a QMP greeting at {path}: {greeting}")
            await asyncio.wait_for(qmp.execute("qmp_capabilities"), timeout)
        except BaseException:
            await qmp.close()
            raise
        return qmp

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (OSError, asyncio.IncompleteReadError):
            pass   # QEMU ended or hung up first: nothing is left to close

    async def __aenter__(self) -> Qmp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _read(self) -> dict[str, Any]:
        try:
            line = await self._reader.readline()
        except (OSError, ValueError) as e:   # reset by a QEMU that ended; an over-long line
            raise HypervisorError(f"QMP connection lost: {e}") from e
        if not line:
            raise HypervisorError("QMP connection closed by QEMU")
        try:
            msg: dict[str, Any] = json.loads(line)
        except ValueError as e:
            raise HypervisorError(f"QMP sent something that is not JSON: {line[:200]!r}") from e
        return msg

    async def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        """Run one command and return its `return` value; QmpError if QEMU refuses it.
        Arguments may hold secrets: they are never put into an error or a log."""
        msg: dict[str, Any] = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        async with self._lock:
            try:
                self._writer.write(json.dumps(msg).encode() + b"\n")
                await self._writer.drain()
            except OSError as e:
                raise HypervisorError(f"QMP connection lost: {e}") from e
            while True:
                reply = await self._read()
                if "event" in reply:
                    self.events.append(reply)
                elif "error" in reply:
                    err = reply["error"]
                    raise QmpError(command, err.get("class", "?"), err.get("desc", "?"))
                elif "return" in reply:
                    return reply["return"]

    async def wait_event(self, name: str, timeout: float, **data: Any) -> dict[str, Any]:
        """The first event `name` whose data has the given items (kept or still to come)."""
        def match(ev: dict[str, Any]) -> bool:
            return ev.get("event") == name and all(
                ev.get("data", {}).get(k) == v for k, v in data.items())

        async def wait() -> dict[str, Any]:
            while True:
                for ev in self.events:
                    if match(ev):
                        self.events.remove(ev)
                        return ev
                async with self._lock:
                    self.events.append(await self._read())

        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            raise HypervisorError(f"no {name} event from QEMU within {timeout:g} s") from None
