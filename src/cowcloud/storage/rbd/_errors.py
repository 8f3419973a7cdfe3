"""librbd/librados failures -> the storage error tree, in one place.

This is the only module that names rbd.* and rados.* exceptions. Every blocking call runs inside
`map_rbd_errors(what)` (RbdCluster.call does it), so callers only ever see cowcloud.storage.errors.
"""

from __future__ import annotations

import errno as E
from collections.abc import Iterator
from contextlib import contextmanager

import rados  # type: ignore[import-not-found]  # Debian's python3-rados, no stubs
import rbd  # type: ignore[import-not-found]  # Debian's python3-rbd, no stubs

from ...errors import Error
from ..errors import (
    AlreadyExists,
    Busy,
    Fenced,
    HasSnapshots,
    InvalidArgument,
    NoSpace,
    NotFound,
    NotSupported,
    PermissionDenied,
    ReadOnly,
    Unavailable,
)

# Most specific first: the first class the exception is an instance of wins. Classes are tried
# before errno because librbd reuses errnos (ENOTEMPTY is "has snapshots" only for images).
_BY_CLASS: tuple[tuple[type[BaseException], type[Error]], ...] = (
    (rbd.ImageNotFound, NotFound),
    (rbd.ObjectNotFound, NotFound),
    (rados.ObjectNotFound, NotFound),
    (rbd.ImageExists, AlreadyExists),
    (rbd.ObjectExists, AlreadyExists),
    (rados.ObjectExists, AlreadyExists),
    (rbd.ImageBusy, Busy),
    (rados.ObjectBusy, Busy),
    (rbd.ImageHasSnapshots, HasSnapshots),
    (rbd.ReadOnlyImage, ReadOnly),
    (rbd.InvalidArgument, InvalidArgument),
    (rbd.ArgumentOutOfRange, InvalidArgument),
    (rados.InvalidArgumentError, InvalidArgument),
    (rbd.PermissionError, PermissionDenied),
    (rados.PermissionError, PermissionDenied),
    (rados.PermissionDeniedError, PermissionDenied),
    (rbd.NoSpace, NoSpace),
    (rbd.DiskQuotaExceeded, NoSpace),
    (rados.NoSpace, NoSpace),
    (rbd.FunctionNotSupported, NotSupported),
    (rbd.OperationNotSupported, NotSupported),
    (rbd.Timeout, Unavailable),
    # ESHUTDOWN is Ceph's EBLOCKLISTED: the OSDs refuse this client, which was fenced.
    (rbd.ConnectionShutdown, Fenced),
    (rados.ConnectionShutdown, Fenced),
    (rados.TimedOut, Unavailable),
    (rados.InterruptedOrTimeoutError, Unavailable),
    (rados.NotConnected, Unavailable),
)

# For exceptions whose class says nothing (rbd.OSError, rados.OSError, aio return codes).
_BY_ERRNO: dict[int, type[Error]] = {
    E.ENOENT: NotFound,
    E.EEXIST: AlreadyExists,
    E.EBUSY: Busy,
    E.ENOTEMPTY: HasSnapshots,
    E.EROFS: ReadOnly,
    E.EINVAL: InvalidArgument,
    E.ERANGE: InvalidArgument,
    E.EDOM: InvalidArgument,
    E.EPERM: PermissionDenied,
    E.EACCES: PermissionDenied,
    E.ENOSPC: NoSpace,
    E.EDQUOT: NoSpace,
    E.EOPNOTSUPP: NotSupported,
    E.ENOSYS: NotSupported,
    E.ESHUTDOWN: Fenced,
}


def _make(cls: type[Error], message: str) -> Error:
    if cls is NotSupported:
        # NotSupported builds its own sentence from the operation's name.
        return NotSupported(message)
    if cls is Fenced:
        return Fenced(f"{message} (the cluster refuses this client: it was blocklisted, "
                      "fenced by another host; reopen once unblocklisted)")
    return cls(message)


def error_for_errno(code: int, what: str) -> Error:
    """Our error for a bare errno, e.g. an aio completion's negative return value or mon reply."""
    code = abs(code)
    cls = _BY_ERRNO.get(code, Unavailable)
    try:
        reason = E.errorcode[code]
    except KeyError:
        reason = f"errno {code}"
    return _make(cls, f"{what}: {reason}")


def translate(exc: BaseException, what: str) -> Error:
    for foreign, ours in _BY_CLASS:
        if isinstance(exc, foreign):
            return _make(ours, f"{what}: {exc}")
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code in _BY_ERRNO:
        return _make(_BY_ERRNO[code], f"{what}: {exc}")
    # Anything else from the cluster (EIO, state errors): not the
    # caller's fault and possibly transient.
    return Unavailable(f"{what}: {exc}")


@contextmanager
def map_rbd_errors(what: str) -> Iterator[None]:
    """Re-raise rbd/rados errors as storage errors naming `what` (e.g. "remove rbd/disk1")."""
    try:
        yield
    except (rbd.Error, rados.Error) as exc:
        raise translate(exc, what) from exc
