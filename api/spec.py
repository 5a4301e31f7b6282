"""Declared endpoints: strict body and query parsing, and the OpenAPI 3.1 document built from
the same pydantic models (one set of models for validation and for the spec)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, json, request
from pydantic import BaseModel, TypeAdapter, ValidationError
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from api.errors import field_errors
from publisher.errors import ValidationFailed, field_error


@dataclass(frozen=True)
class Endpoint:
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    public: bool = False  # no API key (a browser coming back from a platform)
    also: tuple[int, ...] = ()  # other success statuses with the same answer
    # A request body the view reads itself (multipart and JSON), as OpenAPI describes it.
    request_body: dict[str, Any] | None = None


def endpoint(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    public: bool = False,
    also: tuple[int, ...] = (),
    request_body: dict[str, Any] | None = None,
) -> Callable:
    """Declare a view: its body and query are parsed into `g.body` / `g.query` before it runs."""
    meta = Endpoint(summary, body, query, response, status, public, also, request_body)

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def parsed(*args: Any, **kwargs: Any):
            if body is not None:
                g.body = parse_body(body)
            if query is not None:
                g.query = parse_query(query)
            return view(*args, **kwargs)

        parsed.endpoint_meta = meta  # type: ignore[attr-defined]
        return parsed

    return wrap


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The request's JSON body as `model`: 415, 400 or 422 with field errors otherwise."""
    raw = request.get_data(cache=True)
    if not raw:  # no body at all: what is required is missing (a 422 naming it)
        return model.model_validate_json(b"{}")
    if not request.is_json:
        raise UnsupportedMediaType("send the body as application/json")
    try:
        data = json.loads(raw)
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


def parse_query(model: type[BaseModel]) -> BaseModel:
    """Query parameters as `model` (strings coerced to the declared types)."""
    unknown = set(request.args) - set(model.model_fields)
    if unknown:
        raise ValidationFailed(
            f"unknown query parameter(s): {', '.join(sorted(unknown))}",
            [
                {"loc": ["query", k], "msg": "unknown parameter", "type": "extra_forbidden"}
                for k in sorted(unknown)
            ],
        )
    try:
        return model.model_validate(request.args.to_dict(), strict=False)
    except ValidationError as exc:
        errors = field_errors(exc, prefix=("query",))
        raise ValidationFailed("invalid query parameters", errors) from exc


def _inline(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema with its definitions moved among the document's components."""
    schemas.update(schema.pop("$defs", {}))
    return schema


def json_response(value: Any, status: int = 200):
    """A pydantic model (or a list of them) as JSON."""
    if isinstance(value, list):
        payload = [v.model_dump(mode="json") for v in value]
    else:
        payload = value.model_dump(mode="json")
    return app_json(payload, status)


def app_json(payload: Any, status: int):
    return current_app.response_class(
        json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json"
    )


_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_document(app: Flask, *, title: str, version: str) -> dict[str, Any]:
    """OpenAPI 3.1 for every declared endpoint, schemas taken from the pydantic models."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}

    def ref(model: Any) -> dict[str, Any]:
        schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        if isinstance(model, type) and issubclass(model, BaseModel):
            schemas[model.__name__] = schema
            return {"$ref": f"#/components/schemas/{model.__name__}"}
        return schema

    for rule in app.url_map.iter_rules():
        meta: Endpoint | None = getattr(app.view_functions[rule.endpoint], "endpoint_meta", None)
        if meta is None:
            continue
        path = _PATH_PARAM.sub(r"{\2}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "summary": meta.summary,
                "operationId": rule.endpoint.replace(".", "_"),
                "parameters": [
                    {
                        "name": name,
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer" if conv == "int" else "string"},
                    }
                    for conv, name in _PATH_PARAM.findall(rule.rule)
                ],
                "responses": {
                    str(meta.status): {"description": "success"},
                    "default": {
                        "description": "a problem",
                        "content": {
                            "application/problem+json": {
                                "schema": {"$ref": "#/components/schemas/Problem"}
                            }
                        },
                    },
                },
                "security": [] if meta.public else [{"bearer": []}],
            }
            if meta.response is not None:
                op["responses"][str(meta.status)]["content"] = {
                    "application/json": {"schema": ref(meta.response)}
                }
            for other in meta.also:
                op["responses"][str(other)] = op["responses"][str(meta.status)]
            if meta.request_body is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {
                        kind: {"schema": ref(schema) if isinstance(schema, type) else schema}
                        for kind, schema in meta.request_body.items()
                    },
                }
            if meta.body is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": ref(meta.body)}},
                }
            if meta.query is not None:
                for name, field in meta.query.model_fields.items():
                    op["parameters"].append(
                        {
                            "name": name,
                            "in": "query",
                            "required": field.is_required(),
                            "description": field.description or "",
                            "schema": _inline(
                                TypeAdapter(field.annotation).json_schema(
                                    ref_template="#/components/schemas/{model}"
                                ),
                                schemas,
                            ),
                        }
                    )
            paths.setdefault(path, {})[method.lower()] = op
    schemas["Problem"] = {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object"}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
