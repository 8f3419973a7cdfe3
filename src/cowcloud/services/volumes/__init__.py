"""The volume service: Cinder's Block Storage v3 over RBD (and local) copy-on-write devices."""

from .service import VolumeService

__all__ = ["VolumeService"]
