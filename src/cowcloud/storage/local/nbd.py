"""A small NBD client: fixed newstyle handshake (OPT_GO, or EXPORT_NAME on old servers), simple
replies, READ / WRITE / WRITE_ZEROES / FLUSH / DISC.

qemu-nbd (qemu_nbd.py) is the only way to reach bytes inside a qcow2 chain without linking
libqemu: it exports one qcow2 file (with its backing chain) over a UNIX socket. The client
pipelines requests on one connection (qemu-nbd serves them concurrently), so a window of
in-flight writes keeps the disk busy.

Protocol: https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import os
import socket
import struct

NBDMAGIC = b"NBDMAGIC"
IHAVEOPT = 0x49484156454F5054
OPT_REPLY_MAGIC = 0x3E889045565A9
REQUEST_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698

FLAG_FIXED_NEWSTYLE = 1 << 0
FLAG_NO_ZEROES = 1 << 1

OPT_EXPORT_NAME = 1
OPT_GO = 7
REP_ACK = 1
REP_INFO = 3
REP_ERR_UNSUP = (1 << 31) + 1
INFO_EXPORT = 0
INFO_BLOCK_SIZE = 3

TFLAG_READ_ONLY = 1 << 1
TFLAG_SEND_WRITE_ZEROES = 1 << 6

CMD_READ = 0
CMD_WRITE = 1
CMD_DISC = 2
CMD_FLUSH = 3
CMD_WRITE_ZEROES = 6

_REQ = struct.Struct(">IHHQQI")
_REPLY = struct.Struct(">IIQ")
_DEFAULT_MAX_PAYLOAD = 32 << 20  # the spec's default when the server does not say


class NbdError(OSError):
    """A failed NBD request or handshake; errno is the server's (EIO, ENOSPC, EINVAL...)."""


class NbdClient:
    """One NBD connection; requests may be issued concurrently and are matched by handle.

    A raw non-blocking socket rather than asyncio streams: sock_sendall() sends a payload straight
    from the caller's buffer and sock_recv_into() fills the reply's own buffer, where a stream
    transport would copy every payload once more through its bytearray (a third of the time).
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._send_lock = asyncio.Lock()  # one request (header + payload) on the wire at a time
        self._handles = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.Future[bytes], int]] = {}
        self._reply_task: asyncio.Task[None] | None = None
        self._broken: BaseException | None = None
        self.size = 0
        self.flags = 0
        self.max_payload = _DEFAULT_MAX_PAYLOAD

    @classmethod
    async def connect(cls, socket_path: str, export: str = "") -> NbdClient:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            # Bigger kernel buffers mean fewer wake-ups per MiB (capped by net.core.[rw]mem_max).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            await asyncio.get_running_loop().sock_connect(sock, socket_path)
            client = cls(sock)
            await client._handshake(export.encode())
        except BaseException:
            sock.close()
            raise
        client._reply_task = asyncio.create_task(client._read_replies())
        return client

    async def _recv(self, length: int) -> bytearray:
        buf = bytearray(length)
        view = memoryview(buf)
        got = 0
        while got < length:
            n = await self._loop.sock_recv_into(self._sock, view[got:])
            if n == 0:
                raise ConnectionResetError("NBD server closed the connection")
            got += n
        return buf

    async def _handshake(self, name: bytes) -> None:
        send = self._loop.sock_sendall
        magic, opt_magic, hflags = struct.unpack(">8sQH", await self._recv(18))
        if magic != NBDMAGIC or opt_magic != IHAVEOPT or not hflags & FLAG_FIXED_NEWSTYLE:
            raise NbdError(errno.EPROTO, "server does not speak fixed-newstyle NBD")
        no_zeroes = hflags & FLAG_NO_ZEROES
        await send(self._sock, struct.pack(">I", FLAG_FIXED_NEWSTYLE | no_zeroes))
        go = struct.pack(">I", len(name)) + name + struct.pack(">HH", 1, INFO_BLOCK_SIZE)
        await send(self._sock, struct.pack(">QII", IHAVEOPT, OPT_GO, len(go)) + go)
        while True:
            rmagic, _opt, rtype, rlen = struct.unpack(">QIII", await self._recv(20))
            data = bytes(await self._recv(rlen))
            if rmagic != OPT_REPLY_MAGIC:
                raise NbdError(errno.EPROTO, "bad NBD option reply")
            if rtype == REP_ACK:
                return
            if rtype == REP_INFO and len(data) >= 2:
                info = struct.unpack(">H", data[:2])[0]
                if info == INFO_EXPORT:
                    self.size, self.flags = struct.unpack(">QH", data[2:12])
                elif info == INFO_BLOCK_SIZE:
                    self.max_payload = struct.unpack(">III", data[2:14])[2]
            elif rtype == REP_ERR_UNSUP:
                break  # an old server: fall back to EXPORT_NAME below
            elif rtype & (1 << 31):
                raise NbdError(errno.ENOENT, f"NBD export refused: {data.decode(errors='replace')}")
        await send(self._sock, struct.pack(">QII", IHAVEOPT, OPT_EXPORT_NAME, len(name)) + name)
        self.size, self.flags = struct.unpack(">QH", await self._recv(10))
        if not no_zeroes:
            await self._recv(124)

    async def _read_replies(self) -> None:
        try:
            while True:
                magic, err, handle = _REPLY.unpack(await self._recv(_REPLY.size))
                if magic != SIMPLE_REPLY_MAGIC:
                    raise NbdError(errno.EPROTO, f"unexpected NBD reply magic {magic:#x}")
                fut, length = self._pending.pop(handle)
                # The payload follows only a successful read reply.
                data = bytes(await self._recv(length)) if length and not err else b""
                if not fut.done():
                    if err:
                        fut.set_exception(NbdError(err, f"NBD request failed: {os.strerror(err)}"))
                    else:
                        fut.set_result(data)
        except (ConnectionError, OSError) as exc:
            self._fail_all(exc)

    def _fail_all(self, exc: BaseException) -> None:
        self._broken = exc
        for fut, _ in self._pending.values():
            if not fut.done():
                fut.set_exception(NbdError(errno.ESHUTDOWN, f"NBD connection lost: {exc}"))
        self._pending.clear()

    async def _request(self, cmd: int, offset: int, length: int,
                       payload: bytes | memoryview = b"", reply_len: int = 0) -> bytes:
        if self._broken is not None:
            raise NbdError(errno.ESHUTDOWN, f"NBD connection lost: {self._broken}")
        handle = next(self._handles)
        fut: asyncio.Future[bytes] = self._loop.create_future()
        self._pending[handle] = (fut, reply_len)
        async with self._send_lock:
            try:
                await self._loop.sock_sendall(
                    self._sock, _REQ.pack(REQUEST_MAGIC, 0, cmd, handle, offset, length))
                if payload:
                    await self._loop.sock_sendall(self._sock, payload)
            except BaseException as exc:
                # A request cut short (cancelled, or the socket failed) leaves the stream in
                # mid-frame: nothing after it could be parsed, so the connection is done for.
                self._pending.pop(handle, None)
                self._fail_all(exc)
                raise
        return await fut

    @property
    def broken(self) -> bool:
        return self._broken is not None

    async def read(self, offset: int, length: int) -> bytes:
        if length <= self.max_payload:
            return await self._request(CMD_READ, offset, length, reply_len=length)
        parts = [self._request(CMD_READ, pos, n, reply_len=n)
                 for pos, n in _split(offset, length, self.max_payload)]
        return b"".join(await asyncio.gather(*parts))

    async def write(self, offset: int, data: bytes | memoryview) -> None:
        if len(data) <= self.max_payload:
            await self._request(CMD_WRITE, offset, len(data), data)
            return
        view = memoryview(data)
        for pos, n in _split(offset, len(view), self.max_payload):
            await self._request(CMD_WRITE, pos, n, view[pos - offset:pos - offset + n])

    async def write_zeroes(self, offset: int, length: int) -> None:
        if not self.flags & TFLAG_SEND_WRITE_ZEROES:
            for pos, n in _split(offset, length, min(self.max_payload, 8 << 20)):
                await self.write(pos, bytes(n))
            return
        # WRITE_ZEROES carries no payload, so one request may cover up to 4 GiB (u32 length).
        for pos, n in _split(offset, length, 1 << 30):
            await self._request(CMD_WRITE_ZEROES, pos, n)

    async def flush(self) -> None:
        await self._request(CMD_FLUSH, 0, 0)

    async def close(self) -> None:
        """Asks the server to disconnect (it flushes and, not being persistent, exits)."""
        if self._broken is None:
            with contextlib.suppress(OSError):
                async with self._send_lock:
                    await self._loop.sock_sendall(
                        self._sock, _REQ.pack(REQUEST_MAGIC, 0, CMD_DISC, 0, 0, 0))
        if self._reply_task is not None:
            self._reply_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reply_task
        self._sock.close()
        self._fail_all(ConnectionAbortedError("closed"))


def _split(offset: int, length: int, step: int) -> list[tuple[int, int]]:
    return [(pos, min(step, offset + length - pos)) for pos in range(offset, offset + length, step)]
