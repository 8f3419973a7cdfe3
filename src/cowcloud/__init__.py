"""cowcloud: a compact, Ceph-native cloud storage plane for virtual machines, speaking OpenStack APIs."""

__version__ = "0.1.0"
