"""What an action handler gets and gives back (actions.py holds the table of handlers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..context import RequestContext
from .env import Env
from .errors import InvalidInput
from .views import Version


@dataclass(frozen=True)
class Call:
    ctx: RequestContext
    volume_id: str
    arg: Any  # the action's value in the body ({"os-extend": ARG})
    version: Version
    base: str  # the endpoint URL, for links

    def field(self, name: str) -> Any:
        """A required key of the action's object."""
        if not isinstance(self.arg, dict) or name not in self.arg:
            raise InvalidInput(f"'{name}' is a required property")
        return self.arg[name]


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any] | None = None


Handler = Callable[[Env, Call], Awaitable[Reply | None]]


H = TypeVar("H")


def pick(body: Any, table: dict[str, H]) -> tuple[str, H, Any]:
    """The one action an action body names ({"os-extend": ARG}): its name, its handler in the
    table, and its argument."""
    if not isinstance(body, dict) or len(body) != 1:
        raise InvalidInput("An action body names exactly one action.")
    (name, arg), = body.items()
    handler = table.get(name)
    if handler is None:
        raise InvalidInput(f"There is no such action: {name}")
    return name, handler, arg
