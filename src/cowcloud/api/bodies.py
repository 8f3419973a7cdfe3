"""What every JSON request body is checked for, whichever service's route parses it (the check
lives in services.bodies: the services read bodies too)."""

from __future__ import annotations

from ..services.bodies import has_lone_surrogate

__all__ = ["has_lone_surrogate"]
