"""Keystone's token calls (issue, validate, check, revoke) and what a token shows its holder
(catalog, projects, domains), over services.authn and services.tokens."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import anyio

from ..errors import AuthenticationFailed, Denied, NotFound
from ..policy import enforce
from . import views
from .base import ServiceBase
from .bodies import section

if TYPE_CHECKING:
    from ..authn import TokenInfo
    from ..catalog import Catalog


def token_view(url: str, info: TokenInfo, catalog: Catalog,
               with_catalog: bool = True) -> dict[str, Any]:
    p = info.payload
    token: dict[str, Any] = {
        "methods": list(p.methods),
        "user": {"id": info.user.id, "name": info.user.name,
                 "domain": views.domain_ref(info.user_domain), "password_expires_at": None},
        "audit_ids": list(p.audit_ids),
        "expires_at": views.isotime(p.expires_at),
        "issued_at": views.isotime(p.issued_at),
    }
    if info.project and info.project_domain:
        token["project"] = {"id": info.project.id, "name": info.project.name,
                            "domain": views.domain_ref(info.project_domain)}
        token["is_domain"] = False
    elif info.domain:
        token["domain"] = views.domain_ref(info.domain)
    if info.project or info.domain:
        token["roles"] = [{"id": r.id, "name": r.name} for r in info.roles]
        if with_catalog:
            token["catalog"] = views.catalog(catalog.endpoints(
                url, info.project.id if info.project else None))
    if info.app_cred:
        token["application_credential"] = {"id": info.app_cred.id, "name": info.app_cred.name,
                                           "restricted": not info.app_cred.unrestricted}
    return {"token": token}


# Logins issued at once. Each holds a thread for its database work and its hash; the hashes
# run without the GIL and at most HASH_SLOTS at once anyway (passwords.py), but the database work
# holds the GIL, and every login thread running Python is one more the event loop waits behind
# for each read. Three kept tokens/s where they were (66-71/s on 2 cores) and took the reads'
# p99 among 20 clients' logins from 60-74 ms to 11-23 (show) and 27-74 (list).
LOGINS_AT_ONCE = 3


class TokenService(ServiceBase):
    _logins: anyio.CapacityLimiter | None = None

    async def issue_token(self, url: str, body: Any,
                          with_catalog: bool = True) -> tuple[str, dict[str, Any]]:
        """POST /v3/auth/tokens: the new token and its body."""
        if self._logins is None:  # made on the event loop it limits
            self._logins = anyio.CapacityLimiter(LOGINS_AT_ONCE)
        info = await anyio.to_thread.run_sync(
            functools.partial(self.auth.issue, section(body, "auth")), limiter=self._logins)
        return info.token, token_view(url, info, self.catalog, with_catalog)

    async def _subject(self, caller: TokenInfo, token: str, rule: str) -> TokenInfo:
        """The X-Subject-Token, validated before the rule runs, as Keystone does: the rule's
        target is that token's user, so an invalid (revoked, expired, garbled) one is 404
        TokenNotFound for every caller, its own user included. That tells nothing to anyone but
        the token's holder."""
        try:
            subject = await self.run(self.auth.validate, token)
        except AuthenticationFailed as exc:
            raise NotFound(f"Could not find token: {token[:16]}...") from exc
        enforce(caller.context(), rule, {"user_id": subject.user.id})
        return subject

    async def validate_token(self, caller: TokenInfo, url: str, token: str,
                             with_catalog: bool = True) -> tuple[str, dict[str, Any]]:
        subject = await self._subject(caller, token, "identity:validate_token")
        return subject.token, token_view(url, subject, self.catalog, with_catalog)

    async def check_token(self, caller: TokenInfo, token: str) -> str:
        return (await self._subject(caller, token, "identity:check_token")).token

    async def revoke_token(self, caller: TokenInfo, token: str) -> None:
        subject = await self._subject(caller, token, "identity:revoke_token")
        await self.run(self.tokens.revoke, subject.payload)

    async def auth_catalog(self, caller: TokenInfo, url: str) -> list[dict[str, Any]]:
        enforce(caller.context(), "identity:get_auth_catalog")
        if caller.project is None and caller.domain is None:
            raise Denied("A scoped token is required to see the service catalog.")
        catalog: list[dict[str, Any]] = token_view(url, caller, self.catalog)["token"]["catalog"]
        return catalog

    async def auth_projects(self, caller: TokenInfo, url: str) -> list[dict[str, Any]]:
        enforce(caller.context(), "identity:get_auth_projects")
        found = await self.run(self.store.user_projects, caller.user.id, enabled_only=True)
        return [views.project(url, p) for p in found]

    async def auth_domains(self, caller: TokenInfo, url: str) -> list[dict[str, Any]]:
        enforce(caller.context(), "identity:get_auth_domains")
        found = await self.run(self.store.user_domains, caller.user.id)
        return [views.domain(url, d) for d in found]
