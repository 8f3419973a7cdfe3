"""The compute domain (Nova's Compute API v2.1): flavors, aggregates, hosts, scheduling."""

from .service import ComputeService

__all__ = ["ComputeService"]
