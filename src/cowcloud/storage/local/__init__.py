"""The embedded default backend: qcow2 overlays in a folder, managed with qemu-img and qemu-nbd."""

from .backend import LocalBackend

__all__ = ["LocalBackend"]
