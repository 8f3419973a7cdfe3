"""The only code that touches bytes: block backends (rbd, local), format inspection, copy."""

from .base import BaseBackend, Undo
from .contract import (
                       BackendInfo,
                       DeviceInfo,
                       DeviceRef,
                       Extent,
                       GiB,
                       KiB,
                       LockOwner,
                       MiB,
                       SnapRef,
                       SnapshotInfo,
                       Usage,
                       can_clone,
)
from .errors import (
                       AlreadyExists,
                       Busy,
                       HasChildren,
                       HasSnapshots,
                       InvalidArgument,
                       NoSpace,
                       NotFound,
                       NotSupported,
                       PermissionDenied,
                       ReadOnly,
                       SnapshotProtected,
                       StorageError,
                       Unavailable,
)

__all__ = [
    "GiB", "KiB", "MiB", "BackendInfo", "BaseBackend", "DeviceInfo", "DeviceRef",
    "Extent", "LockOwner", "SnapRef", "SnapshotInfo", "Undo", "Usage", "can_clone",
    "AlreadyExists", "Busy", "HasChildren", "HasSnapshots", "InvalidArgument", "NoSpace",
    "NotFound", "NotSupported", "PermissionDenied", "ReadOnly", "SnapshotProtected",
    "StorageError", "Unavailable",
]
