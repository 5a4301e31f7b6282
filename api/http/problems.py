"""The pages a problem's `type` points at (`/problems/<code>`): what each error means and
what to do about it. Every `type` the API answers with resolves to one of these."""

from __future__ import annotations

import html

from flask import Blueprint, Response
from werkzeug.exceptions import default_exceptions
from werkzeug.http import HTTP_STATUS_CODES

from api.http.errors import PROBLEM_BASE, sentence_case
from publisher.core.errors import NotFound

# code: (HTTP status, title, what happened, what to do)
PROBLEMS: dict[str, tuple[int, str, str, str]] = {
    "bad_request": (
        400,
        "Bad request",
        "The request could not be read: the body is not JSON, "
        "is nested too deeply, or holds a NUL character.",
        "Send valid JSON.",
    ),
    "unauthenticated": (
        401,
        "Unauthenticated",
        "No `Authorization: Bearer <key>` header, or a key that is unknown or revoked.",
        "Send a live key (`publisher keys create`, or POST /v1/keys as an admin).",
    ),
    "forbidden": (
        403,
        "Forbidden",
        "The key's role may not do this (the detail names the role "
        "and the action); an author may not approve their own content unless the "
        "policy allows it.",
        "Use a key whose role may, or ask an admin.",
    ),
    "not_found": (
        404,
        "Not found",
        "No such object in the key's workspace (another "
        "workspace's objects answer the same), or no such path.",
        "Check the id and the path (see /docs).",
    ),
    "method_not_allowed": (
        405,
        "Method not allowed",
        "The path exists, not with this method; the `Allow` header lists the methods it takes.",
        "Use one of them.",
    ),
    "request_timeout": (
        408,
        "Request timeout",
        "The headers or the body arrived too slowly; "
        "nothing was changed and the connection was closed.",
        "Send the request again, whole.",
    ),
    "replayed_delivery": (
        401,
        "Delivery replayed",
        "A platform's webhook delivery whose body was received before, or whose events "
        "are all over 48 hours old: nothing was stored.",
        "Nothing: the platform's retry of a delivery taken is answered so. A delivery "
        "sent again by someone else is refused the same way.",
    ),
    "link_invalid": (
        403,
        "Link not valid",
        "A review link that is not one this engine signed, was made by another key, has "
        "expired, or whose reviewer's access was revoked (`reason` says which).",
        "Ask for a new review link, made with your own key.",
    ),
    "conflict": (
        409,
        "Conflict",
        "The object's state does not allow this now (`current` says "
        "which state), or the change collides with existing data (a second channel "
        "for one account).",
        "Read the object again, then decide.",
    ),
    "stale_revision": (
        409,
        "Stale revision",
        "The vote names a revision that is no longer the "
        "current one: the content changed after it was read.",
        "Read the item again and vote on its current revision.",
    ),
    "invalid_transition": (
        409,
        "Invalid state transition",
        "The publication cannot move to that state from the one it is in.",
        "Read its status first.",
    ),
    "too_large": (
        413,
        "Content too large",
        "The upload or import is larger than PUBLISHER_MEDIA_MAX_BYTES.",
        "Send a smaller file.",
    ),
    "request_entity_too_large": (
        413,
        "Request entity too large",  # the HTTP layer's own, as the API answers it
        "The request body is larger than the API accepts.",
        "Send a smaller body.",
    ),
    "unsupported_media": (
        415,
        "Unsupported media",
        "The file is not a type this platform or the engine takes.",
        "Send one of the types the detail lists.",
    ),
    "validation_failed": (
        422,
        "Validation failed",
        "A field is wrong: `errors` lists each "
        "one with its location (`loc`), message and type; nothing was "
        "changed.",
        "Fix the fields named, then send again.",
    ),
    "invalid_grant": (
        400,
        "Invalid authorization",
        "The platform's consent came back refused, expired or for another request.",
        "Start the connection again (POST /v1/channels/connect/{platform}).",
    ),
    "platform_unavailable": (
        503,
        "Platform unavailable",
        "The platform did not answer.",
        "Try again later; scheduled posts are retried by the engine.",
    ),
    "unavailable": (
        503,
        "Service unavailable",
        "The database is unavailable; nothing was changed.",
        "Try again after `Retry-After` seconds.",
    ),
    "internal": (
        500,
        "Internal error",
        "An error the engine did not expect; it is logged.",
        "Report it with the time of the request.",
    ),
}


# Any other HTTP error the server itself answers (werkzeug names it): its own words.
for _status, _exc in default_exceptions.items():
    _name = HTTP_STATUS_CODES.get(_status, "Error")
    _title = sentence_case(_name)  # as the API answers it (api/http/errors.py)
    PROBLEMS.setdefault(
        _name.lower().replace(" ", "_"),
        (_status, _title, str(_exc.description or _title), "See the detail of the answer."),
    )


def problems_blueprint() -> Blueprint:
    bp = Blueprint("problems", __name__)

    @bp.get(PROBLEM_BASE.rstrip("/"))
    def index() -> Response:
        """Every problem type, each linked to its page."""
        rows = "".join(
            f"<li><a href='{PROBLEM_BASE}{html.escape(code)}'><code>{html.escape(code)}</code>"
            f"</a> ({status} {html.escape(title)}): {html.escape(meaning)}</li>"
            for code, (status, title, meaning, _) in sorted(PROBLEMS.items(), key=lambda i: i[1][0])
        )
        body = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Problem types"
            "</title></head><body style='font-family:sans-serif;margin:2em;max-width:45em'>"
            f"<h1>Problem types</h1><ul>{rows}</ul><p><a href='/docs'>The API reference</a>."
            "</p></body></html>"
        )
        return Response(body, mimetype="text/html")

    @bp.get(PROBLEM_BASE + "<code>")
    def page(code: str) -> Response:
        if code not in PROBLEMS:
            raise NotFound(f"no problem type {code!r}")
        status, title, meaning, remedy = PROBLEMS[code]
        body = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title></head><body style='font-family:sans-serif;"
            f"margin:2em;max-width:45em'><h1>{status} {html.escape(title)}</h1>"
            f"<p><code>type</code>: <code>{PROBLEM_BASE}{html.escape(code)}</code></p>"
            f"<h2>What happened</h2><p>{html.escape(meaning)}</p>"
            f"<h2>What to do</h2><p>{html.escape(remedy)}</p>"
            "<p>Every error is <code>application/problem+json</code> with <code>type</code>, "
            "<code>title</code>, <code>status</code>, <code>detail</code>. "
            "<a href='/docs'>The API reference</a>.</p></body></html>"
        )
        return Response(body, mimetype="text/html")

    return bp
