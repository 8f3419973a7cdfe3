"""qemu-nbd, started so that it never outlives this process, serving one image to one client."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import tempfile
import uuid
from pathlib import Path
from typing import IO

from .nbd import NbdClient, NbdError

# How qemu-nbd is started, so that it never outlives us:
# - it inherits a listening socket we made (systemd socket activation: LISTEN_FDS/LISTEN_PID and
#   fd 3), so our client's connection is queued before it even starts, and no socket file exists;
# - `exec` all along keeps one pid, as LISTEN_PID requires ($$ of the first bash; bash, not sh:
#   dash cannot redirect descriptors above 9);
# - setpriv's pdeathsig has the kernel send it SIGTERM when this process dies (on its own,
#   qemu-nbd exits only after a client that had finished negotiating leaves), and the PPID check
#   after it covers a death in the instant before pdeathsig was set.
_LAUNCH = ('LISTEN_PID=$$ LISTEN_FDS=1 exec setpriv --pdeathsig TERM -- bash -c '
           '\'[ "$PPID" = "$0" ] || exit 1; exec qemu-nbd "$@"\' {parent} "$@" {redirect}')


class NbdServer:
    """One qemu-nbd process exporting one qcow2 file to one client of ours.

    Not persistent (no -t): qemu-nbd exits when its client disconnects; and it is stopped by
    the kernel if this process dies first (see _LAUNCH), so no server outlives us.
    """

    def __init__(self, image: Path) -> None:
        self.image = image
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: IO[bytes] | None = None

    async def start(self, timeout: float = 10.0) -> NbdClient:
        # An abstract socket address: no file, no 108-byte path limit, nothing left on a crash.
        address = f"\0cowcloud-nbd-{os.getpid()}-{uuid.uuid4().hex}"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # stderr goes to an unlinked file, not a pipe: nobody reads a pipe while the server
        # runs, and a full pipe would stall it.
        self._stderr = tempfile.TemporaryFile()
        try:
            listener.bind(address)
            listener.listen(1)
            fd = listener.fileno()
            launch = _LAUNCH.format(parent=os.getpid(),
                                    redirect="" if fd == 3 else f"3<&{fd} {fd}<&-")
            # writeback: qcow2 keeps its metadata ordered on disk (power-loss safe) and our
            # FLUSH is a real fdatasync; discard=unmap lets WRITE_ZEROES drop clusters.
            self._proc = await asyncio.create_subprocess_exec(
                "bash", "-c", launch, "bash", "--format=qcow2", "--cache=writeback",
                "--discard=unmap", str(self.image), pass_fds=(fd,),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=self._stderr)
        except BaseException:
            self._stderr.close()
            raise
        finally:
            listener.close()  # the server has its own copy now
        try:
            return await asyncio.wait_for(NbdClient.connect(address), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            # The server quit (the image is locked, missing...) or hangs: say why it did.
            await self._kill()
            raise self._failure(exc) from exc
        except BaseException:
            await self._kill()  # cancelled: no half-started server stays behind
            raise

    def _failure(self, exc: BaseException) -> NbdError:
        err = self._read_stderr() or f"no answer ({exc!r})"
        # qemu's image locking: another process has the file open for writing.
        code = errno.EBUSY if '" lock' in err or "Failed to lock" in err else errno.EIO
        return NbdError(code, f"qemu-nbd {self.image}: {err}")

    def _read_stderr(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip()
        self._stderr.close()
        self._stderr = None
        return text

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()

    async def stop(self, timeout: float = 10.0) -> None:
        """Waits for the server to exit (it does once its client has disconnected)."""
        proc, self._proc = self._proc, None
        try:
            if proc is None:
                return
            await asyncio.wait_for(proc.wait(), timeout)
        except asyncio.TimeoutError:
            assert proc is not None
            proc.kill()
            await proc.wait()
        except asyncio.CancelledError:
            if proc is not None and proc.returncode is None:
                proc.kill()  # not left behind; asyncio's child watcher reaps it
            raise
        finally:
            self._read_stderr()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None
