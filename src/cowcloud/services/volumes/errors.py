"""Refusals in Cinder's words (cinder/exception.py), with the statuses Cinder answers."""

from __future__ import annotations

from ..errors import Conflict, Invalid, NotFound, TooLarge


class VolumeNotFound(NotFound):
    def __init__(self, volume_id: str) -> None:
        super().__init__(f"Volume {volume_id} could not be found.")


class SnapshotNotFound(NotFound):
    def __init__(self, snapshot_id: str) -> None:
        super().__init__(f"Snapshot {snapshot_id} could not be found.")


class VolumeTypeNotFound(NotFound):
    def __init__(self, type_id: str) -> None:
        super().__init__(f"Volume type {type_id} could not be found.")


class InvalidInput(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid input received: {reason}")


class InvalidVolume(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid volume: {reason}")


class InvalidSnapshot(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid snapshot: {reason}")


class InvalidVolumeType(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid volume type: {reason}")


class VolumeTypeExists(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"Volume Type {name} already exists.")


class AttachmentNotFound(NotFound):
    def __init__(self, attachment_id: str) -> None:
        super().__init__(f"Volume attachment could not be found with filter: "
                         f"attachment_id = {attachment_id}.")


class ResourceConflict(Conflict):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Conflict occurred attempting to store resource: {reason}")


class BackupNotFound(NotFound):
    def __init__(self, backup_id: str) -> None:
        super().__init__(f"Backup {backup_id} could not be found.")


class InvalidBackup(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid backup: {reason}")


# ---------------------------------------------------------------- quotas, type access, hosts

class QuotaError(TooLarge):
    """Over a project's quota: Cinder's 413 with Retry-After 0."""

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Retry-After": "0"})


class VolumeLimitExceeded(QuotaError):
    def __init__(self, allowed: int, name: str = "volumes") -> None:
        super().__init__(f"Maximum number of volumes allowed ({allowed}) exceeded for quota "
                         f"'{name}'.")


class SnapshotLimitExceeded(QuotaError):
    def __init__(self, allowed: int) -> None:
        super().__init__(f"Maximum number of snapshots allowed ({allowed}) exceeded")


class VolumeSizeExceedsAvailableQuota(QuotaError):
    def __init__(self, requested: int, quota: int, consumed: int,
                 name: str = "gigabytes") -> None:
        super().__init__(f"Requested volume or snapshot exceeds allowed {name} quota. "
                         f"Requested {requested}G, quota is {quota}G and {consumed}G has been "
                         "consumed.")


class BackupLimitExceeded(QuotaError):
    def __init__(self, allowed: int) -> None:
        super().__init__(f"Maximum number of backups allowed ({allowed}) exceeded")


class VolumeBackupSizeExceedsAvailableQuota(QuotaError):
    def __init__(self, requested: int, quota: int, consumed: int) -> None:
        super().__init__(f"Requested backup exceeds allowed Backup gigabytes quota. Requested "
                         f"{requested}G, quota is {quota}G and {consumed}G has been consumed.")


class VolumeSizeExceedsLimit(QuotaError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"Requested volume size {size}G is larger than maximum allowed limit "
                         f"{limit}G.")


class VolumeTypeAccessExists(Conflict):
    def __init__(self, type_id: str, project_id: str) -> None:
        super().__init__(f"Volume type access for {type_id} / {project_id} combination "
                         "already exists.")


class VolumeTypeAccessNotFound(NotFound):
    def __init__(self, type_id: str, project_id: str) -> None:
        super().__init__(f"Volume type access not found for {type_id} / {project_id} "
                         "combination.")


class InvalidHost(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid host: {reason}")
