"""Keystone v3 application credentials, under /v3/users/{user_id}/application_credentials, and
the (always empty) /v3/users/{user_id}/access_rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request, Response

from ...services.authn import TokenInfo
from ...services.errors import Denied, Invalid
from ...services.policy import enforce
from ...services.runtime import Runtime
from ..auth import get_runtime, get_token
from .views import app_cred_view, collection, section

router = APIRouter(prefix="/v3/users/{user_id}")
Rt = Depends(get_runtime)
Caller = Depends(get_token)


@router.post("/application_credentials", status_code=201)
def create_app_cred(request: Request, user_id: str, body: Any = Body(...), rt: Runtime = Rt,
                    caller: TokenInfo = Caller) -> dict[str, Any]:
    enforce(caller.context(), "identity:create_application_credential", {"user_id": user_id})
    if caller.project is None:
        raise Invalid("An application credential is made from a project-scoped token.")
    if caller.app_cred is not None and not caller.app_cred.unrestricted:
        raise Denied("A restricted application credential cannot create another one.")
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
    cred, secret, delegated = rt.appcreds.create(
        user_id, caller.project.id, caller.roles, name=name, description=description or "",
        secret=secret, expires_at=part.get("expires_at"), roles=roles, unrestricted=unrestricted)
    return {"application_credential": app_cred_view(request, cred, delegated, secret)}


@router.get("/application_credentials")
def list_app_creds(request: Request, user_id: str, name: str | None = None, rt: Runtime = Rt,
                   caller: TokenInfo = Caller) -> dict[str, Any]:
    enforce(caller.context(), "identity:list_application_credentials", {"user_id": user_id})
    creds = rt.appcreds.of_user(user_id, name=name)
    return collection(request, "application_credentials",
                      [app_cred_view(request, c, roles) for c, roles in creds])


@router.get("/application_credentials/{cred_id}")
def get_app_cred(request: Request, user_id: str, cred_id: str, rt: Runtime = Rt,
                 caller: TokenInfo = Caller) -> dict[str, Any]:
    enforce(caller.context(), "identity:get_application_credential", {"user_id": user_id})
    cred, roles = rt.appcreds.get(user_id, cred_id)
    return {"application_credential": app_cred_view(request, cred, roles)}


@router.delete("/application_credentials/{cred_id}", status_code=204)
def delete_app_cred(user_id: str, cred_id: str, rt: Runtime = Rt,
                    caller: TokenInfo = Caller) -> Response:
    enforce(caller.context(), "identity:delete_application_credential", {"user_id": user_id})
    if caller.app_cred is not None and not caller.app_cred.unrestricted:  # as Keystone
        raise Denied("A restricted application credential cannot delete one.")
    rt.appcreds.delete(user_id, cred_id)
    return Response(status_code=204)


@router.get("/access_rules")
def list_access_rules(request: Request, user_id: str, rt: Runtime = Rt,
                      caller: TokenInfo = Caller) -> dict[str, Any]:
    """No credential here has access rules (creating one with rules is refused), so none exist."""
    enforce(caller.context(), "identity:list_access_rules", {"user_id": user_id})
    rt.identity.get_user(user_id)
    return collection(request, "access_rules", [])
