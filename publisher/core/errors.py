"""Domain errors: each has a machine `code` and the HTTP status the API answers with."""

from __future__ import annotations

from typing import Any


class PublisherError(Exception):
    """Base of every error the API turns into a problem document."""

    code = "error"
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(PublisherError):
    code, status, title = "not_found", 404, "Not found"


class Unauthenticated(PublisherError):
    code, status, title = "unauthenticated", 401, "Unauthenticated"


class Forbidden(PublisherError):
    code, status, title = "forbidden", 403, "Forbidden"


class Conflict(PublisherError):
    code, status, title = "conflict", 409, "Conflict"


class StaleRevision(Conflict):
    """A vote names a revision that is no longer the one under review."""

    code, title = "stale_revision", "Stale revision"


class InvalidTransition(Conflict):
    code, title = "invalid_transition", "Invalid state transition"


class UnsupportedMedia(PublisherError):
    code, status, title = "unsupported_media", 415, "Unsupported media"


class TooLarge(PublisherError):
    code, status, title = "too_large", 413, "Content too large"


class PlatformUnavailable(PublisherError):
    """The platform did not answer usefully (down, throttled, refused our credentials)."""

    code, status, title = "platform_unavailable", 503, "Platform unavailable"


class ValidationFailed(PublisherError):
    """Input that parsed but makes no sense; `errors` lists the fields at fault."""

    code, status, title = "validation_failed", 422, "Validation failed"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail, errors=errors or [])


def field_error(loc: str | list[str | int], msg: str, type_: str = "value_error") -> dict:
    """One entry of a 422's `errors` list."""
    path = loc.split(".") if isinstance(loc, str) else list(loc)
    return {"loc": path, "msg": msg, "type": type_}
