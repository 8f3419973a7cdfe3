"""The only place where qemu-img failures, NBD errors and OSErrors become storage errors.

As in httpx's map_httpcore_exceptions: every foreign call of the local backend runs inside
`map_errors(what)`, the most specific translation wins, and the original stays as __cause__.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from ...errors import Error
from ..errors import (
    AlreadyExists,
    Busy,
    InvalidArgument,
    NoSpace,
    NotFound,
    PermissionDenied,
    ReadOnly,
    StorageError,
    Unavailable,
)
from .nbd import NbdError
from .qemu_img import QemuImgError

_ERRNO: dict[int, type[Error]] = {
    errno.ENOENT: NotFound,
    errno.ENOTDIR: NotFound,
    errno.EEXIST: AlreadyExists,
    errno.EBUSY: Busy,
    errno.EAGAIN: Busy,
    errno.ENOSPC: NoSpace,
    errno.EDQUOT: NoSpace,
    errno.EFBIG: NoSpace,
    errno.EACCES: PermissionDenied,
    errno.EPERM: PermissionDenied,
    errno.EROFS: ReadOnly,
    errno.EINVAL: InvalidArgument,
    errno.EOVERFLOW: InvalidArgument,
    errno.ETIMEDOUT: Unavailable,
    errno.ESHUTDOWN: Unavailable,
    errno.ECONNREFUSED: Unavailable,
    errno.ECONNRESET: Unavailable,
    errno.EPIPE: Unavailable,
}

# qemu-img reports through messages, not exit codes (it exits 1 for nearly everything).
_QEMU_MESSAGES: list[tuple[str, type[Error]]] = [
    ('" lock', Busy),  # 'Failed to get "write" lock': another process has the image open
    ("Failed to lock byte", Busy),
    ("No space left on device", NoSpace),
    ("Disk quota exceeded", NoSpace),
    ("Permission denied", PermissionDenied),
    ("Read-only file system", ReadOnly),
    ("No such file or directory", NotFound),
    ("Use the --shrink option", InvalidArgument),
    ("Invalid", InvalidArgument),
]


def translate(exc: BaseException, what: str) -> Error:
    """The storage error for a foreign exception, its message prefixed with what was being done."""
    if isinstance(exc, Error):  # already ours
        return exc
    if isinstance(exc, QemuImgError):
        for needle, cls in _QEMU_MESSAGES:
            if needle in exc.stderr:
                return cls(f"{what}: {exc}")
        return StorageError(f"{what}: {exc}")
    if isinstance(exc, NbdError) and exc.errno == errno.EPERM:
        return ReadOnly(f"{what}: {exc}")  # NBD's EPERM is a write to a read-only export
    if isinstance(exc, OSError):
        cls: type[Error] = _ERRNO.get(exc.errno or 0, StorageError)
        return cls(f"{what}: {exc.strerror or exc}")
    return StorageError(f"{what}: {exc}")


@contextmanager
def map_errors(what: str) -> Iterator[None]:
    """Runs the body with every qemu-img, NBD or OS failure re-raised as a StorageError."""
    try:
        yield
    except Error:
        raise
    except (QemuImgError, OSError) as exc:
        raise translate(exc, what) from exc
