"""cowcloud's one error tree: every refusal and failure the package raises derives from Error.

Each kind carries the HTTP status it means, so the API maps the whole tree with one handler into
the error shape of the service whose path was called (api.errors), and every layer raises the
same kinds: one NotFound, one Conflict, one Invalid. Layers add subclasses where a caller needs
to tell cases apart (storage's HasChildren is a Conflict that names the clones; the images
service's ImageNotFound is a NotFound worded as Glance words it). Foreign errors are translated
once where they enter: rbd/rados and qemu-img in storage, database integrity errors in db.
"""

from __future__ import annotations


class Error(Exception):
    """Base of everything cowcloud raises on purpose; a bare Error is a 500."""

    status = 500

    def __init__(self, message: str = "", *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})


class Invalid(Error):
    """The request names something impossible, is malformed, or is missing a field."""

    status = 400


class AuthenticationFailed(Error):
    """No valid credentials: wrong password, unknown user, bad, expired or revoked token.

    The message never says which part was wrong.
    """

    status = 401

    def __init__(self, message: str = "The request you have made requires authentication.",
                 **kw: dict[str, str]) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]


class Denied(Error):
    """Authenticated, but not allowed."""

    status = 403


class NotFound(Error):
    """No such thing, or one the caller may not see."""

    status = 404


class MethodNotAllowed(Error):
    status = 405


class Conflict(Error):
    """The thing's state does not allow it now (exists already, in use, has dependents)."""

    status = 409


class Gone(Error):
    status = 410


class TooLarge(Error):
    """Over a limit: a size cap, a quota, a request body."""

    status = 413


class UnsupportedMediaType(Error):
    status = 415


class RangeNotSatisfiable(Error):
    status = 416


class Unavailable(Error):
    """What the request needs is not configured, not reachable or timed out."""

    status = 503
