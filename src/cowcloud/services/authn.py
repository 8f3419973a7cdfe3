"""Authentication: who is asking (password, token or application credential), with what scope,
and the validation of the tokens that come back.

Every refusal to authenticate is the same AuthenticationFailed (401, one message), whatever was
wrong (a disabled user is checked only after the password, so it tells nothing either); the real
reason is logged. A token is valid while it decodes, has not expired, is not
revoked, its user and scope are enabled and the user still holds a role there. Validated tokens
are kept in a TokenCache, which any write to an identity table empties (see token_cache).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Database
from ..db.models import ApplicationCredential, Domain, Project, Role, User, utcnow
from .appcreds import delegated_roles, is_expired
from .context import RequestContext
from .errors import AuthenticationFailed, Invalid
from .identity import Identity, expand_implied, plain
from .passwords import verify_secret
from .token_cache import TokenCache
from .tokens import TokenInvalid, TokenPayload, Tokens, new_audit_id

log = logging.getLogger("cowcloud.identity")

METHODS = ("password", "token", "application_credential")


def refuse(reason: str, **extra: Any) -> AuthenticationFailed:
    log.info("authentication refused: %s", reason, extra={"reason": reason, **extra})
    return AuthenticationFailed()


@dataclass(frozen=True)
class TokenInfo:
    """A valid token and every row its body shows."""

    token: str
    payload: TokenPayload
    user: User
    user_domain: Domain
    roles: list[Role]
    project: Project | None = None
    project_domain: Domain | None = None
    domain: Domain | None = None  # the scope of a domain-scoped token
    app_cred: ApplicationCredential | None = None

    def context(self) -> RequestContext:
        """The caller as services see it; built once per TokenInfo (a kept one serves every
        read its token makes), which nothing changes after it is made."""
        ctx: RequestContext | None = self.__dict__.get("_context")
        if ctx is None:
            ctx = self._make_context()
            object.__setattr__(self, "_context", ctx)  # frozen: a cache, not a field
        return ctx

    def _make_context(self) -> RequestContext:
        return RequestContext(
            user_id=self.user.id, user_name=self.user.name,
            project_id=self.project.id if self.project else None,
            project_name=self.project.name if self.project else None,
            domain_id=self.domain.id if self.domain else None,
            roles=tuple(r.name for r in self.roles), audit_id=self.payload.audit_id,
            project_domain_id=self.project.domain_id if self.project else None)


class Authenticator:
    def __init__(self, db: Database, tokens: Tokens) -> None:
        self.db = db
        self.tokens = tokens
        self.cache = TokenCache()
        db.watch_writes(self.cache.tables_written)

    # --- issue ---------------------------------------------------------------------------------

    def issue(self, auth: dict[str, Any]) -> TokenInfo:
        """POST /v3/auth/tokens: `auth` is the request's {"identity": ..., "scope": ...}."""
        identity = auth.get("identity")
        if not isinstance(identity, dict) or not isinstance(identity.get("methods"), list):
            raise Invalid("auth.identity.methods is required")
        methods = identity["methods"]
        if len(methods) != 1 or methods[0] not in METHODS:
            raise Invalid(f"auth.identity.methods: exactly one of {', '.join(METHODS)}")
        method = methods[0]
        body = identity.get(method)
        if not isinstance(body, dict):
            raise Invalid(f"auth.identity.{method} is required")
        scope = auth.get("scope")
        if method == "password":
            payload = self._password(body)
        elif method == "token":
            payload = self._token(body)
        else:
            payload = self._app_cred(body)
            if scope:
                raise Invalid("Application credentials cannot request a scope.")
        if method != "application_credential":
            payload = self._scoped(payload, scope)
        token = self.tokens.encode(payload)
        try:
            with self.db.session() as s:
                return self._load(s, token, payload)
        except TokenInvalid as exc:  # a disabled user or project, no role on the scope
            raise refuse(exc.reason, user_id=payload.user_id) from exc

    def _find_user(self, s: Session, ref: Any) -> User | None:
        if not isinstance(ref, dict):
            raise Invalid("a user is named by id, or by name and domain")
        if ref.get("id"):
            return s.get(User, ref["id"]) if plain(ref["id"]) else None
        domain = Identity.find_domain(s, ref.get("domain") or {})
        if not ref.get("name") or not plain(ref["name"]) or domain is None:
            return None
        return s.scalar(select(User).where(User.domain_id == domain.id, User.name == ref["name"]))

    def _password(self, body: dict[str, Any]) -> TokenPayload:
        ref = body.get("user")
        password = ref.get("password") if isinstance(ref, dict) else None
        if not isinstance(password, str):
            raise Invalid("auth.identity.password.user.password is required")
        with self.db.session() as s:
            user = self._find_user(s, ref)
        if not verify_secret(user.password_hash if user else None, password) or user is None:
            raise refuse("unknown user or wrong password")
        return TokenPayload(user_id=user.id, methods=("password",), expires_at=self.tokens.expiry())

    def _token(self, body: dict[str, Any]) -> TokenPayload:
        old = self.validate(str(body.get("id") or ""))
        if old.app_cred is not None:
            raise refuse("a token from an application credential cannot be rescoped")
        methods = tuple(dict.fromkeys(old.payload.methods + ("token",)))
        return TokenPayload(user_id=old.user.id, methods=methods,
                            expires_at=old.payload.expires_at,
                            audit_ids=(new_audit_id(), old.payload.audit_id))

    def _app_cred(self, body: dict[str, Any]) -> TokenPayload:
        secret = body.get("secret")
        if not isinstance(secret, str):
            raise Invalid("auth.identity.application_credential.secret is required")
        with self.db.session() as s:
            cred: ApplicationCredential | None = None
            if body.get("id"):
                if plain(body["id"]):
                    cred = s.get(ApplicationCredential, body["id"])
            elif not plain(body.get("name")):
                pass  # names no credential: refused below, after the same hashing time
            elif user := self._find_user(s, body.get("user")):
                cred = s.scalar(select(ApplicationCredential).where(
                    ApplicationCredential.user_id == user.id,
                    ApplicationCredential.name == body.get("name")))
        if not verify_secret(cred.secret_hash if cred else None, secret) or cred is None:
            raise refuse("unknown application credential or wrong secret")
        if is_expired(cred):
            raise refuse("application credential expired", app_cred_id=cred.id)
        return TokenPayload(user_id=cred.user_id, methods=("application_credential",),
                            project_id=cred.project_id, app_cred_id=cred.id,
                            expires_at=self.tokens.expiry(cred.expires_at))

    def _scoped(self, payload: TokenPayload, scope: Any) -> TokenPayload:
        """The payload with the scope asked for; with none, the user's default project if the
        user holds a role there (as Keystone does); "unscoped" asks for none explicitly."""
        if scope is None:
            return self._default_scope(payload)
        if scope in ("unscoped", {}):
            return payload
        if not isinstance(scope, dict) or len(scope) != 1:
            raise Invalid("auth.scope: one of project or domain")
        with self.db.session() as s:
            if "project" in scope:
                ref = scope["project"] if isinstance(scope["project"], dict) else {}
                project: Project | None = None
                if ref.get("id"):
                    project = s.get(Project, ref["id"]) if plain(ref["id"]) else None
                elif not plain(ref.get("name")):
                    project = None
                elif domain := Identity.find_domain(s, ref.get("domain") or {}):
                    project = s.scalar(select(Project).where(
                        Project.domain_id == domain.id, Project.name == ref.get("name")))
                if project is None:
                    raise refuse("no such project to scope to", scope=ref)
                return replace(payload, project_id=project.id)
            if "domain" in scope:
                found = Identity.find_domain(s, scope["domain"] or {})
                if found is None:
                    raise refuse("no such domain to scope to", scope=scope["domain"])
                return replace(payload, domain_id=found.id)
        raise Invalid("auth.scope: only project and domain scopes are supported")

    def _default_scope(self, payload: TokenPayload) -> TokenPayload:
        with self.db.session() as s:
            user = s.get(User, payload.user_id)
            project = s.get(Project, user.default_project_id) if (
                user and user.default_project_id) else None
            if project and project.enabled and Identity.roles_on(
                    s, payload.user_id, "project", project.id):
                return replace(payload, project_id=project.id)
        return payload

    # --- validate ------------------------------------------------------------------------------

    def validate(self, token: str) -> TokenInfo:
        """The token's TokenInfo, from the cache or from the database; TokenInvalid if it is
        not valid (any more)."""
        try:
            payload, info, keys = self._cached(token)
            if info is not None:
                return info
            generation = self.cache.generation  # before the rows are read
            with self.db.session() as s:
                if self.tokens.is_revoked(s, payload):
                    raise TokenInvalid("revoked")
                info = self._load(s, token, payload)
            self.cache.put(token, info, generation, keys)
            return info
        except TokenInvalid as exc:
            log.info("token refused: %s", exc.reason, extra={"reason": exc.reason})
            raise

    def validate_cached(self, token: str) -> TokenInfo | None:
        """validate() without the database: None when the token is not in the cache (then
        validate() it, off the event loop). Cheap enough for the event loop: a stat of the key
        directory, and a decrypt only when the keys were loaded again since the token was kept."""
        try:
            return self._cached(token)[1]
        except TokenInvalid as exc:
            log.info("token refused: %s", exc.reason, extra={"reason": exc.reason})
            raise

    def _cached(self, token: str) -> tuple[TokenPayload, TokenInfo | None, int]:
        """The token's payload (signature with today's keys, expiry), its kept TokenInfo if
        any, and the key loads it was checked under."""
        keys = self.tokens.keys
        keys.fernet  # noqa: B018 -- loads the keys again if they were rotated
        loads = keys.loads
        found = self.cache.lookup(token)
        if found is not None and found[1] == loads:
            # decrypted with these very keys when kept: only time can have changed
            info: TokenInfo | None = found[0]
            payload = found[0].payload
            if payload.expires_at <= utcnow():
                raise TokenInvalid("expired")
        else:
            payload = self.tokens.decode(token)
            info = found[0] if found is not None else None
        if info is not None and info.app_cred is not None and is_expired(info.app_cred):
            self.cache.forget(token)
            raise TokenInvalid("application credential deleted or expired")
        return payload, info, loads

    def _load(self, s: Session, token: str, payload: TokenPayload) -> TokenInfo:
        """The rows a token names, refusing it where any is gone, disabled or role-less."""
        user = s.get(User, payload.user_id)
        user_domain = s.get(Domain, user.domain_id) if user else None
        if user is None or user_domain is None or not (user.enabled and user_domain.enabled):
            raise TokenInvalid("user deleted or disabled")
        if user.tokens_valid_after and payload.issued_at < user.tokens_valid_after:
            raise TokenInvalid("issued before the user's password changed")
        info = TokenInfo(token, payload, user, user_domain, roles=[])
        if payload.project_id:
            project = s.get(Project, payload.project_id)
            project_domain = s.get(Domain, project.domain_id) if project else None
            if project is None or project_domain is None or not (
                    project.enabled and project_domain.enabled):
                raise TokenInvalid("project deleted or disabled")
            info = replace(info, project=project, project_domain=project_domain,
                           roles=Identity.roles_on(s, user.id, "project", project.id))
        elif payload.domain_id:
            domain = s.get(Domain, payload.domain_id)
            if domain is None or not domain.enabled:
                raise TokenInvalid("domain deleted or disabled")
            info = replace(info, domain=domain,
                           roles=Identity.roles_on(s, user.id, "domain", domain.id))
        if payload.app_cred_id:
            cred = s.get(ApplicationCredential, payload.app_cred_id)
            if cred is None or is_expired(cred) or cred.user_id != user.id:
                raise TokenInvalid("application credential deleted or expired")
            allowed = expand_implied(r.name for r in delegated_roles(s, cred))
            info = replace(info, app_cred=cred,
                           roles=[r for r in info.roles if r.name in allowed])
        if (payload.project_id or payload.domain_id) and not info.roles:
            raise TokenInvalid("no role on the scope")
        return info
