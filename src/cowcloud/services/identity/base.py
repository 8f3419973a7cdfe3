"""What the identity stores and the identity service share: the database (each resource's
store is a mixin of Identity), and for the service, the parts it calls and its thread hop."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread

from ...db import Database
from ..context import RequestContext
from ..errors import NotFound
from ..policy import enforce

if TYPE_CHECKING:
    from ..appcreds import AppCreds
    from ..authn import Authenticator
    from ..catalog import Catalog
    from ..tokens import Tokens
    from .store import Identity

T = TypeVar("T")


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db


class ServiceBase:
    """The parts behind the Keystone API. Database work runs off the event loop in the thread
    pool the API's synchronous routes use (anyio's), as it did when the routes called it."""

    def __init__(self, store: Identity, appcreds: AppCreds, auth: Authenticator,
                 tokens: Tokens, catalog: Catalog) -> None:
        self.store = store
        self.appcreds = appcreds
        self.auth = auth
        self.tokens = tokens
        self.catalog = catalog

    @staticmethod
    async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))

    async def fetch_enforced(self, ctx: RequestContext, rule: str, fetch: Callable[[], T],
                             target: Callable[[T], dict[str, Any]]) -> T:
        """The thing, if the rule allows the caller to act on it. A caller the rule refuses
        even for a thing that would be theirs gets 403 for a missing one too, so ids cannot be
        probed."""
        try:
            found = await self.run(fetch)
        except NotFound:
            enforce(ctx, rule)
            raise
        enforce(ctx, rule, target(found))
        return found
