"""The storage error tree: the only module that defines storage exceptions.

Each class carries the HTTP status the API layer answers with, so the API maps the whole tree with
one handler and services catch these classes, never a backend's own (rbd.*, OSError from qemu-img).
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every storage failure."""

    status = 500


class NotFound(StorageError):
    """The device, snapshot or pool does not exist."""

    status = 404


class AlreadyExists(StorageError):
    """A device or snapshot of that name is already there."""

    status = 409


class Busy(StorageError):
    """The device is in use (open elsewhere, locked, or being changed)."""

    status = 409


class HasSnapshots(StorageError):
    """Removal refused: the device still has snapshots."""

    status = 409


class HasChildren(StorageError):
    """Refused: clones still depend on this snapshot (or on a snapshot of this device)."""

    status = 409

    def __init__(self, message: str, children: list[object] | None = None) -> None:
        super().__init__(message)
        self.children = list(children or [])


class SnapshotProtected(StorageError):
    """Removal refused: the snapshot is protected."""

    status = 409


class ReadOnly(StorageError):
    """A write to something that cannot be written (a snapshot, a read-only open)."""

    status = 409


class InvalidArgument(StorageError):
    """The request cannot be carried out as asked (bad size, out-of-range offset, bad name)."""

    status = 400


class UnsafeImage(InvalidArgument):
    """Image content refused: a backing or data file, VMDK extent paths, QED, a corrupt header."""


class FormatMismatch(InvalidArgument):
    """The content's format is not the format the caller declared."""

    def __init__(self, declared: str, detected: str) -> None:
        super().__init__(f"image data is {detected}, but the image was declared {declared}")
        self.declared = declared
        self.detected = detected


class TooLarge(InvalidArgument):
    """Over a size limit: a stream longer than allowed, a virtual size above the cap."""

    status = 413


class PermissionDenied(StorageError):
    """The cluster refused the credentials or caps."""

    status = 403


class NoSpace(StorageError):
    """The pool or disk is full."""

    status = 507


class NotSupported(StorageError):
    """This backend does not offer the operation."""

    status = 501

    def __init__(self, operation: str, backend: str = "") -> None:
        where = f" by backend {backend!r}" if backend else ""
        super().__init__(f"{operation} is not supported{where}")
        self.operation = operation


class Unavailable(StorageError):
    """The cluster or tool could not be reached or timed out."""

    status = 503
