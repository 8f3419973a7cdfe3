"""Hypervisor drivers: what a compute agent runs guests with (see driver.py)."""

from .driver import (
    Driver,
    FileDisk,
    GuestDisk,
    GuestSpec,
    HypervisorError,
    PowerState,
    RbdDisk,
)

__all__ = ["Driver", "FileDisk", "GuestDisk", "GuestSpec", "HypervisorError", "PowerState",
           "RbdDisk"]
