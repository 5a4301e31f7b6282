"""Pages of a list: `limit` (default 50, at most 500) and an opaque `cursor`. The body stays
the list itself; where the next page is goes in the `Link` header (rel="next", RFC 8288)
and in `X-Next-Cursor`; the last page has neither."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Response, request
from pydantic import BaseModel, ConfigDict, Field

from api.http.spec import json_response
from publisher.core.errors import ValidationFailed, field_error

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
T = TypeVar("T")


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(
        default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page (1 to 500)"
    )
    cursor: str | None = Field(
        default=None,
        max_length=200,
        description="Where the page starts: the X-Next-Cursor (or Link rel=next) of the page "
        "before; leave it out for the first page",
    )


def encode(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _position(cursor: str, key: str, valid: Callable[[Any], bool]) -> Any:
    """What a cursor carries under `key`, or a 422 naming the cursor."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))[key]
        if not valid(value):
            raise ValueError(value)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed(
            "the cursor is not one this list gave",
            [field_error(["query", "cursor"], "use the X-Next-Cursor of the previous page")],
        ) from exc
    return value


def decode(cursor: str | None, key: str) -> int:
    """The position a cursor names (0: the start)."""
    if not cursor:
        return 0
    return _position(cursor, key, lambda v: isinstance(v, int) and 0 <= v <= 2**31 - 1)


def decode_key(cursor: str | None) -> list[Any] | None:
    """A sort position a cursor carries (a list of plain values), or None for the start."""
    if not cursor:
        return None
    return _position(
        cursor,
        "key",
        lambda v: isinstance(v, list) and all(isinstance(x, bool | int | str) for x in v),
    )


def after_id(query: PageQuery) -> int:
    """For lists in id order: the last id of the previous page."""
    return decode(query.cursor, "after")


def page(
    rows: Sequence[T],
    query: PageQuery,
    read: Callable[[T], BaseModel],
    *,
    next_position: Callable[[T], dict[str, Any]],
) -> Response:
    """The answer for `rows` fetched with one more than `limit` (the extra one only says
    that a next page exists)."""
    shown = list(rows[: query.limit])
    response = json_response([read(r) for r in shown])
    if len(rows) > query.limit and shown:
        cursor = encode(next_position(shown[-1]))
        args: dict[str, Any] = {**request.args.to_dict(), "cursor": cursor}
        response.headers["Link"] = f'<{request.base_url}?{urlencode(args)}>; rel="next"'
        response.headers["X-Next-Cursor"] = cursor
    return response
