"""The services' refusals are the package's kinds (cowcloud.errors), re-exported for the services'
own imports; a service adds a subclass only where its wording or a field differs (ImageNotFound,
NamespaceNotFound). Services never import api: the API maps the one tree to each service's shape.
"""

from __future__ import annotations

from ..errors import (
    AuthenticationFailed,
    Conflict,
    Denied,
    Error,
    Invalid,
    NotFound,
    TooLarge,
    Unavailable,
)

__all__ = ["AuthenticationFailed", "Conflict", "Denied", "Error", "Invalid", "NotFound",
           "TooLarge", "Unavailable"]
