"""One async function per qemu-img verb the local backend uses; nothing else runs qemu-img.

Every call names the format explicitly (`-f qcow2`, `-F qcow2`): qemu-img must never probe a
format from file contents (the CVE-2026-24708 lesson, REFERENCE SEC-05). Failures raise
QemuImgError carrying stderr; `_errors.map_errors` turns it into the storage error tree.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

FMT = "qcow2"
# Stable English messages: _errors.py recognises a few of them.
_ENV = {**os.environ, "LC_ALL": "C"}


class QemuImgError(Exception):
    """qemu-img exited non-zero; `stderr` holds its own explanation."""

    def __init__(self, verb: str, returncode: int, stderr: str) -> None:
        super().__init__(f"qemu-img {verb} failed ({returncode}): {stderr.strip()}")
        self.verb = verb
        self.returncode = returncode
        self.stderr = stderr


async def _run(verb: str, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "qemu-img", verb, *args, env=_ENV, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await proc.communicate()
    except BaseException:
        # Cancelled: do not leave qemu-img running on a file we are about to touch again.
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        raise QemuImgError(verb, proc.returncode or -1, err.decode(errors="replace"))
    return out.decode(errors="replace")


def _backing_args(backing: str | None) -> list[str]:
    # An empty -b means "no backing file" to rebase; -F is only valid alongside a real one.
    if backing is None:
        return ["-b", ""]
    return ["-b", backing, "-F", FMT]


async def create(path: Path, size: int, backing: str | None = None) -> None:
    """A new qcow2 of `size` bytes (qcow2 rounds up to 512), optionally over a backing file.

    `backing` is stored as given; a relative name is resolved against `path`'s folder.
    """
    args = ["-q", "-f", FMT]
    if backing is not None:
        args += ["-b", backing, "-F", FMT]
    await _run("create", *args, str(path), str(size))


async def info(path: Path, *, backing_chain: bool = False,
               force_share: bool = False) -> dict[str, Any] | list[dict[str, Any]]:
    """`qemu-img info --output=json`; a list of layers (top first) with backing_chain=True.

    Without force_share, qemu takes its image lock: this fails while another process has the
    file open for writing, which is how callers probe "is it in use".
    """
    args = ["-f", FMT, "--output=json"]
    if backing_chain:
        args.append("--backing-chain")
    if force_share:
        args.append("-U")
    result: dict[str, Any] | list[dict[str, Any]] = json.loads(await _run("info", *args, str(path)))
    return result


async def map_(path: Path, *, force_share: bool = True) -> list[dict[str, Any]]:
    """`qemu-img map --output=json`: allocation of the whole chain, each range with its depth."""
    args = ["-f", FMT, "--output=json"] + (["-U"] if force_share else [])
    result: list[dict[str, Any]] = json.loads(await _run("map", *args, str(path)))
    return result


async def convert(src: Path, dst: Path) -> None:
    """Copies the view of `src` (with its backing chain) into a new standalone qcow2 `dst`.

    `-t writeback` instead of convert's default `unsafe`: the file is flushed before we rename
    it into place, so a crash cannot leave a half-written layer under a live name.
    """
    await _run("convert", "-q", "-f", FMT, "-O", FMT, "-t", "writeback", str(src), str(dst))


async def rebase(path: Path, backing: str | None, *, unsafe: bool = False) -> None:
    """Changes `path`'s backing file. Safe mode (default) first copies into `path` whatever
    differs between the old and new backing, so the view of `path` does not change."""
    args = ["-q", "-f", FMT, "-t", "writeback"] + (["-u"] if unsafe else [])
    await _run("rebase", *args, *_backing_args(backing), str(path))


async def resize(path: Path, size: int, *, shrink: bool = False) -> None:
    args = ["-q", "-f", FMT] + (["--shrink"] if shrink else [])
    await _run("resize", *args, str(path), str(size))


async def check(path: Path) -> dict[str, Any]:
    """`qemu-img check --output=json`: consistency of one qcow2 file's metadata."""
    proc = await asyncio.create_subprocess_exec(
        "qemu-img", "check", "-f", FMT, "--output=json", "-U", str(path), env=_ENV,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    # Exit codes 2 and 3 still print a report (corruption, leaks); 1 means no report at all.
    if proc.returncode not in (0, 2, 3):
        raise QemuImgError("check", proc.returncode or -1, err.decode(errors="replace"))
    result: dict[str, Any] = json.loads(out)
    result["exit-code"] = proc.returncode
    return result
