"""A request's JSON body read strictly: what JSON is (no NaN, no 1e999, no lone surrogate,
no nesting past what the validator goes, no NUL), and a change that takes no body refusing
one."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from api.http.errors import field_errors
from publisher.core.errors import ValidationFailed, field_error


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The request's JSON body as `model`: 415, 400 or 422 with field errors otherwise."""
    raw = request.get_data(cache=True)
    if not raw:  # no body at all: what is required is missing (a 422 naming it)
        return model.model_validate_json(b"{}")
    if not request.is_json:
        raise UnsupportedMediaType("send the body as application/json")
    integral: list[bool] = []

    def number(text: str) -> float | int:
        # JSON (and JSON Schema's "integer") does not tell 3.0 from 3: neither do we.
        value = float(text)
        if not math.isfinite(value):  # 1e999: no float holds it (nor the database)
            raise ValueError(f"the number {text[:40]} is beyond what a number here can be")
        if value.is_integer() and abs(value) <= 2**63:
            integral.append(True)
            return int(value)
        return value

    try:
        data = json.loads(raw, parse_float=number, parse_constant=_not_json)
        if integral:
            raw = json.dumps(data).encode()
    except RecursionError as exc:
        raise BadRequest("the body is not valid JSON: it nests too deeply") from exc
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    if (where := _nul_at(raw, data)) is not None:
        raise ValidationFailed(
            "NUL characters are not accepted", [field_error(where, "must not contain NUL")]
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        # JSON that Python reads but strict JSON does not (a lone surrogate, nesting deeper
        # than the validator goes) is bad JSON like any other: a 400, not a 422.
        broken = [e["msg"] for e in exc.errors() if e["type"] == "json_invalid"]
        if broken:
            raise BadRequest(f"the body is not valid JSON: {broken[0]}") from exc
        raise


def _not_json(name: str) -> None:
    """NaN and Infinity: Python's JSON reader takes them; JSON has no such values."""
    raise ValueError(f"{name} is not a JSON value")


class _NoBody(BaseModel, extra="forbid"):
    """What a change that takes no body accepts: nothing, or `{}`."""


def refuse_body() -> None:
    """A change that takes no body refuses one: a field sent (`{"code": ...}` to a call that
    makes its own) is named in a 422, not dropped without a word; none or `{}` is none."""
    if not request.get_data(cache=True).strip():
        return
    try:
        parse_body(_NoBody)
    except ValidationError as exc:
        raise ValidationFailed(
            "this request takes no body: send none (or {})", field_errors(exc)
        ) from exc


def _nul_at(raw: bytes, data: Any) -> list[str | int] | None:
    """Where the first NUL character sits in a parsed body (a key or a string), if any.
    JSON can only carry one escaped (a raw NUL byte is already invalid JSON), so bodies
    without the escape are not walked; the walk keeps parent links, not paths."""
    if b"\\u0000" not in raw.lower():
        return None
    stack: list[tuple[int, str | int, Any]] = [(-1, "", data)]
    parents: list[tuple[int, str | int]] = []
    while stack:
        parent, step, node = stack.pop()
        parents.append((parent, step))
        here = len(parents) - 1
        hit = isinstance(node, str) and "\x00" in node
        if isinstance(node, dict):
            for key, value in node.items():
                if "\x00" in key:
                    parents.append((here, key))
                    hit, here = True, len(parents) - 1
                    break
                stack.append((here, key, value))
        elif isinstance(node, list):
            stack.extend((here, i, value) for i, value in enumerate(node))
        if hit:
            path: list[str | int] = []
            while here > 0:
                here, step = parents[here]
                path.append(step)
            return path[::-1]
    return None
