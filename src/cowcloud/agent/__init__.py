"""The compute agent: one per hypervisor host, as nova-compute is (`cowcloud agent`, and the
one `cowcloud serve` runs for its own machine). It registers its host, heartbeats, takes work
from the control plane over its channel, builds and removes root disks on the ephemeral
backends it reaches, and runs guests through a hypervisor driver."""

from .channel import AgentRefused, Channel, HttpChannel
from .worker import Agent

__all__ = ["Agent", "AgentRefused", "Channel", "HttpChannel"]
