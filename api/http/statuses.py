"""The problems an operation can answer, and what each means: the API document lists
them per operation, the reference page says them in words."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.http.spec import Endpoint

# What each problem status means, for the document and the reference page.
PROBLEMS = {
    400: "the body is not JSON, or is nested too deeply",
    401: "no key, or a key that is not valid (revoked, unknown); for a platform's webhook, "
    "its signature missing, wrong or replayed",
    403: "the key's role may not do this",
    404: "not found (also another workspace's object)",
    409: "the object's state does not allow it now (the problem says which state)",
    413: "the body is too large",
    415: "the body is not sent as the content type the operation takes",
    422: "a field is wrong: `errors` lists each one with its location",
    503: "the platform (or the database) did not answer: try again later",
}


def problem_statuses(meta: Endpoint, method: str, has_path_params: bool) -> list[int]:
    """The problems an operation can answer: from its shape (a key, an id in the path, a
    body, a query, a change to an object), and those it declares."""
    found = set(meta.errors)
    if not meta.shape_errors:
        return sorted(found)
    if not meta.public:
        found |= {401, 403}
    if has_path_params:
        found.add(404)
        if method in ("post", "put", "patch", "delete"):
            found.add(409)
    if meta.body is not None or meta.request_body is not None or method != "get":
        found |= {400, 413, 415, 422}  # a change that takes no body refuses one (spec.py)
    found.add(422)  # a query parameter it does not take (or a query value that is wrong)
    return sorted(found)
