"""The storage layer's errors: the package's kinds (cowcloud.errors) and the storage cases a caller
must tell apart. The only module that defines storage exceptions; services catch these classes,
never a backend's own (rbd.*, OSError from qemu-img), which storage translates where they arise.
"""

from __future__ import annotations

from ..errors import Conflict, Denied, Error, Invalid, NotFound, TooLarge, Unavailable

__all__ = ["AlreadyExists", "Busy", "Fenced", "FormatMismatch", "HasChildren", "HasSnapshots",
           "InvalidArgument", "NoSpace", "NotFound", "NotSupported", "PermissionDenied",
           "ReadOnly", "SnapshotProtected", "StorageError", "TooLarge", "Unavailable",
           "UnsafeImage"]


class StorageError(Error):
    """A storage failure of no more precise kind (a 500)."""


class AlreadyExists(Conflict):
    """A device or snapshot of that name is already there."""


class Busy(Conflict):
    """The device is in use (open elsewhere, locked, or being changed)."""


class HasSnapshots(Conflict):
    """Removal refused: the device still has snapshots."""


class HasChildren(Conflict):
    """Refused: clones still depend on this snapshot (or on a snapshot of this device)."""

    def __init__(self, message: str, children: list[object] | None = None) -> None:
        super().__init__(message)
        self.children = list(children or [])


class SnapshotProtected(Conflict):
    """Removal refused: the snapshot is protected."""


class ReadOnly(Conflict):
    """A write to something that cannot be written (a snapshot, a read-only open)."""


class InvalidArgument(Invalid):
    """The request cannot be carried out as asked (bad size, out-of-range offset, bad name)."""


class UnsafeImage(InvalidArgument):
    """Image content refused: a backing or data file, VMDK extent paths, QED, a corrupt header."""


class FormatMismatch(InvalidArgument):
    """The content's format is not the format the caller declared."""

    def __init__(self, declared: str, detected: str) -> None:
        super().__init__(f"image data is {detected}, but the image was declared {declared}")
        self.declared = declared
        self.detected = detected


class PermissionDenied(Denied):
    """The cluster refused the credentials or caps."""


class NoSpace(StorageError):
    """The pool or disk is full."""

    status = 507


class Fenced(Unavailable):
    """The cluster refuses this client: it was blocklisted (fenced), as a host taken for dead is.

    Not transient like its base: the connection stays refused until the entry expires or is
    removed, and devices opened before stay refused even then (close and reopen them)."""


class NotSupported(Error):
    """This backend does not offer the operation."""

    status = 501

    def __init__(self, operation: str, backend: str = "") -> None:
        where = f" by backend {backend!r}" if backend else ""
        super().__init__(f"{operation} is not supported{where}")
        self.operation = operation

