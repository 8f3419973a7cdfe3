"""Refusals in Nova's words (nova/exception.py), with the statuses Nova's API answers."""

from __future__ import annotations

from ..errors import Conflict, Denied, Invalid, NotFound


class FlavorNotFound(NotFound):
    def __init__(self, flavor_id: str) -> None:
        super().__init__(f"Flavor {flavor_id} could not be found.")


class FlavorExists(Conflict):
    pass


class ExtraSpecNotFound(NotFound):
    def __init__(self, flavor_id: str, key: str) -> None:
        super().__init__(f"Flavor {flavor_id} has no extra specs with key {key}.")


class AggregateNotFound(NotFound):
    def __init__(self, aggregate_id: object) -> None:
        super().__init__(f"Aggregate {aggregate_id} could not be found.")


class HostNotFound(NotFound):
    def __init__(self, host: str) -> None:
        super().__init__(f"Compute host {host} could not be found.")


class ServiceNotFound(NotFound):
    def __init__(self, service_id: object) -> None:
        super().__init__(f"Service {service_id} could not be found.")


class HypervisorNotFound(NotFound):
    def __init__(self, hypervisor_id: object) -> None:
        super().__init__(f"Hypervisor {hypervisor_id} could not be found.")


class BadRequest(Invalid):
    pass


class ComputeConflict(Conflict):
    pass


class Forbidden(Denied):
    pass
