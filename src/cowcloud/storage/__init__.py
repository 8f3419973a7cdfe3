"""The only code that touches bytes: block backends (rbd, local), format inspection, copy."""

from .base import BaseBackend, Undo
from .contract import (
                       BackendInfo,
                       BlocklistEntry,
                       DeviceInfo,
                       DeviceRef,
                       Extent,
                       GiB,
                       KiB,
                       LockOwner,
                       MiB,
                       PoolUsage,
                       SnapRef,
                       SnapshotInfo,
                       Usage,
                       can_clone,
)
from .errors import (
                       AlreadyExists,
                       Busy,
                       Fenced,
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
    "GiB", "KiB", "MiB", "BackendInfo", "BaseBackend", "BlocklistEntry", "DeviceInfo",
    "DeviceRef", "Extent", "LockOwner", "PoolUsage", "SnapRef", "SnapshotInfo", "Undo", "Usage",
    "can_clone",
    "AlreadyExists", "Busy", "Fenced", "HasChildren", "HasSnapshots", "InvalidArgument", "NoSpace",
    "NotFound", "NotSupported", "PermissionDenied", "ReadOnly", "SnapshotProtected",
    "StorageError", "Unavailable",
]
