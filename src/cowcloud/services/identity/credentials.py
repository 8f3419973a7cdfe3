"""Keystone's application credentials, under /v3/users/{user_id}/application_credentials, and
the (always empty) /v3/users/{user_id}/access_rules (the store is services.appcreds)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Denied, Invalid
from ..policy import enforce
from . import views
from .base import ServiceBase
from .bodies import section

if TYPE_CHECKING:
    from ..appcreds import AppCredRecord
    from ..authn import TokenInfo


def app_cred_view(url: str, cred: AppCredRecord, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": cred.id, "name": cred.name, "description": cred.description,
        "user_id": cred.user_id, "project_id": cred.project_id,
        "roles": [{"id": r.id, "name": r.name, "domain_id": None} for r in cred.roles],
        "unrestricted": cred.unrestricted, "expires_at": views.naive_utc_time(cred.expires_at),
        "access_rules": [],
        "links": views.self_link(url, f"/users/{cred.user_id}/application_credentials/"
                                      f"{cred.id}")}
    if secret is not None:
        out["secret"] = secret
    return out


def _fields(body: Any) -> dict[str, Any]:
    """The create request's fields, each of its type."""
    part = section(body, "application_credential")
    roles = part.get("roles")
    if roles is not None and not (isinstance(roles, list)
                                  and all(isinstance(r, dict) for r in roles)):
        raise Invalid("application_credential.roles: a list of {\"id\"} or {\"name\"}")
    name, description, secret = part.get("name"), part.get("description"), part.get("secret")
    if not isinstance(name, str) or not name or len(name) > 255 or "\x00" in name:
        raise Invalid("application_credential.name: a string of 1 to 255 characters")
    if description is not None and (not isinstance(description, str) or "\x00" in description):
        raise Invalid("application_credential.description: a string")
    if secret is not None and (not isinstance(secret, str) or "\x00" in secret):
        raise Invalid("application_credential.secret: a string")
    unrestricted = part.get("unrestricted", False)
    if not isinstance(unrestricted, bool):
        raise Invalid("application_credential.unrestricted: true or false")
    access_rules = part.get("access_rules")
    if access_rules is not None and not isinstance(access_rules, list):
        raise Invalid("application_credential.access_rules: a list")
    if access_rules:
        # nothing here would enforce them: a credential asked to be limited to some calls must
        # not be made able to make them all
        raise Invalid("Application credential access rules are not supported.")
    return {"name": name, "description": description or "", "secret": secret,
            "expires_at": part.get("expires_at"), "roles": roles, "unrestricted": unrestricted}


class CredentialService(ServiceBase):
    async def create_app_cred(self, caller: TokenInfo, url: str, user_id: str,
                              body: Any) -> dict[str, Any]:
        enforce(caller.context(), "identity:create_application_credential",
                {"user_id": user_id})
        if caller.project is None:
            raise Invalid("An application credential is made from a project-scoped token.")
        if caller.app_cred is not None and not caller.app_cred.unrestricted:
            raise Denied("A restricted application credential cannot create another one.")
        cred, secret = await self.run(self.appcreds.create, user_id, caller.project.id,
                                      caller.roles, **_fields(body))
        return app_cred_view(url, cred, secret)

    async def list_app_creds(self, caller: TokenInfo, url: str, user_id: str,
                             name: str | None = None) -> list[dict[str, Any]]:
        enforce(caller.context(), "identity:list_application_credentials", {"user_id": user_id})
        return [app_cred_view(url, c)
                for c in await self.run(self.appcreds.of_user, user_id, name=name)]

    async def get_app_cred(self, caller: TokenInfo, url: str, user_id: str,
                           cred_id: str) -> dict[str, Any]:
        enforce(caller.context(), "identity:get_application_credential", {"user_id": user_id})
        return app_cred_view(url, await self.run(self.appcreds.get, user_id, cred_id))

    async def delete_app_cred(self, caller: TokenInfo, user_id: str, cred_id: str) -> None:
        enforce(caller.context(), "identity:delete_application_credential",
                {"user_id": user_id})
        if caller.app_cred is not None and not caller.app_cred.unrestricted:  # as Keystone
            raise Denied("A restricted application credential cannot delete one.")
        await self.run(self.appcreds.delete, user_id, cred_id)

    async def list_access_rules(self, caller: TokenInfo, user_id: str) -> list[dict[str, Any]]:
        """No credential here has access rules (creating one with rules is refused), so none
        exist."""
        enforce(caller.context(), "identity:list_access_rules", {"user_id": user_id})
        await self.run(self.store.get_user, user_id)
        return []
