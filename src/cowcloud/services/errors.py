"""The services' error tree: what a domain operation refuses, with the HTTP status it means.

Like storage.errors, each class carries its status so the API maps the whole tree with one handler
(api.errors) into the error shape of the service whose path was called; services never import api.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every refusal a service makes."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(ServiceError):
    """The request names something impossible or is missing a field."""

    status = 400


class AuthenticationFailed(ServiceError):
    """No valid credentials: wrong password, unknown user, bad, expired or revoked token.

    The message never says which part was wrong.
    """

    status = 401

    def __init__(self, message: str = "The request you have made requires authentication.") -> None:
        super().__init__(message)


class Denied(ServiceError):
    """Authenticated, but not allowed."""

    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Unavailable(ServiceError):
    """What the request needs is not configured or not reachable now (no image store...)."""

    status = 503
