"""The one place errors become `application/problem+json` (RFC 9457)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from pydantic import ValidationError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import ClientDisconnected, HTTPException

from api.http.serving import RequestTooSlow, request_was_too_slow
from publisher.core.errors import PublisherError

log = logging.getLogger(__name__)

# A problem's `type`: a URI reference, resolved against the request's (RFC 9457 3.1.1), to
# the page that explains it (api/http/problems.py), served by this API.
PROBLEM_BASE = "/problems/"


def sentence_case(name: str) -> str:
    """An HTTP status's name as the API's titles are written: "Not found", "URI too long"."""
    first, *rest = name.split(" ")
    return " ".join([first, *(w if w.isupper() else w.lower() for w in rest)])


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail}
    body.update(extra)
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def problem_body(exc: PublisherError) -> dict[str, Any]:
    """A domain error as the problem document's fields (for batch answers)."""
    return {
        "type": PROBLEM_BASE + exc.code,
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
        **exc.extra,
    }


# pydantic's words for a time it cannot read name a date as if it would do ("a valid
# datetime or date"), or only what is missing: say what is wanted, with examples.
_AN_INSTANT = (
    "a date and time with its UTC offset, as ISO 8601: 2027-03-01T09:00:00+01:00 "
    "or 2027-03-01T08:00:00Z"
)
_NOT_AN_INSTANT = {
    "datetime_parsing",
    "datetime_from_date_parsing",
    "datetime_type",
    "timezone_aware",
}


def field_errors(exc: ValidationError, prefix: tuple = ()) -> list[dict[str, Any]]:
    """pydantic's errors as `{loc, msg, type}` (the input itself is never echoed back)."""
    return [
        {
            "loc": [*prefix, *e["loc"]],
            "msg": _AN_INSTANT if e["type"] in _NOT_AN_INSTANT else e["msg"],
            "type": e["type"],
        }
        for e in exc.errors(include_url=False, include_input=False)
    ]


def init_app(app: Flask) -> None:
    @app.errorhandler(PublisherError)
    def domain_error(exc: PublisherError):
        body = problem_body(exc)
        return Response(json.dumps(body), status=exc.status, mimetype="application/problem+json")

    @app.errorhandler(ValidationError)
    def invalid(exc: ValidationError):
        errors = field_errors(exc)
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors)
        return problem(422, "validation_failed", "Validation failed", detail, errors=errors)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        title = sentence_case(exc.name or "Error")  # as the domain's titles: "Not found"
        response = problem(exc.code or 500, code, title, exc.description or title)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(ClientDisconnected)
    def disconnected(exc: ClientDisconnected):
        if request_was_too_slow(request.environ):
            return too_slow(exc)
        return http_error(exc)

    @app.errorhandler(RequestTooSlow)
    def too_slow(exc: Exception):
        response = problem(
            408,
            "request_timeout",
            "Request Timeout",
            "the request body did not arrive in time: nothing was changed",
        )
        response.headers["Connection"] = "close"
        return response

    @app.errorhandler(OperationalError)
    def database_down(exc: DBAPIError):
        log.warning("database unavailable during %s %s: %s", request.method, request.path, exc)
        response = problem(
            503,
            "unavailable",
            "Service unavailable",
            "the database is unavailable; nothing was changed, try again",
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(IntegrityError)
    def conflict(exc: IntegrityError):
        log.warning("integrity error on %s %s: %s", request.method, request.path, exc.orig)
        return problem(
            409,
            "conflict",
            "Conflict",
            "the change conflicts with existing data; nothing was changed",
        )

    @app.errorhandler(DataError)
    def refused_value(exc: DataError):
        log.warning("data error on %s %s: %s", request.method, request.path, exc.orig)
        return problem(
            422,
            "validation_failed",
            "Validation failed",
            "a value does not fit what the database can store; nothing was changed",
        )

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "internal", "Internal error", "an unexpected error occurred")
