"""Refusals in Cinder's words (cinder/exception.py), with the statuses Cinder answers."""

from __future__ import annotations

from ..errors import Conflict, Invalid, NotFound


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
