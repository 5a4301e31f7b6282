"""Declared endpoints: strict body and query parsing, and the OpenAPI 3.1 document built from
the same pydantic models (one set of models for validation and for the spec)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.json_schema import GenerateJsonSchema

from api.http.bodies import parse_body, refuse_body
from api.http.errors import field_errors
from api.http.reference import with_examples
from api.http.statuses import PROBLEMS, problem_statuses
from publisher.core.errors import ValidationFailed
from publisher.core.schemas import MAX_ID, time_zone_names
from publisher.core.workspaces import ROLE_PERMISSIONS, Permission


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
    # What the caller's role must allow (any of them); the document lists those roles.
    permission: tuple[Permission, ...] = ()
    # Problems it can answer beyond those its shape implies (`problem_statuses`), or
    # instead of them when `shape_errors` is False (a view that reads its own body).
    errors: tuple[int, ...] = ()
    shape_errors: bool = True
    # Other forms of the same answer, by media type: {"text/csv": "what it holds"}.
    formats: tuple[tuple[str, str], ...] = ()
    # Request headers it reads, as OpenAPI parameter objects (`in: header`).
    headers: tuple[dict[str, Any], ...] = ()

    def roles(self) -> list[str]:
        """The roles whose keys may call it."""
        return [r for r, allowed in ROLE_PERMISSIONS.items() if allowed & set(self.permission)]


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
    permission: Permission | tuple[Permission, ...] = (),
    errors: tuple[int, ...] = (),
    shape_errors: bool = True,
    formats: dict[str, str] | None = None,
    headers: tuple[dict[str, Any], ...] = (),
) -> Callable:
    """Declare a view: its body and query are parsed into `g.body` / `g.query` before it runs.
    `permission`: what the caller's role must allow (the service checks it; the API
    document lists the roles that have it). `formats`: the other media types the success
    answer can take (`?format=` or `Accept`), each with what it holds."""
    allowed = permission if isinstance(permission, tuple) else (permission,)
    meta = Endpoint(
        summary,
        body,
        query,
        response,
        status,
        public,
        also,
        request_body,
        allowed,
        errors,
        shape_errors,
        tuple((formats or {}).items()),
        headers,
    )

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def parsed(*args: Any, **kwargs: Any):
            if body is not None:
                g.body = parse_body(body)
            elif request_body is None and request.method not in ("GET", "HEAD"):
                refuse_body()
            if query is not None:
                g.query = parse_query(query)
            elif shape_errors:
                refuse_unknown_parameters(set())  # none taken: one sent is not dropped unsaid
            return view(*args, **kwargs)

        parsed.endpoint_meta = meta  # type: ignore[attr-defined]
        return parsed

    return wrap


def refuse_unknown_parameters(known: set[str]) -> None:
    """A query parameter the operation does not take is a 422 naming it."""
    if unknown := set(request.args) - known:
        raise ValidationFailed(
            f"unknown query parameter(s): {', '.join(sorted(unknown))}",
            [
                {"loc": ["query", k], "msg": "unknown parameter", "type": "extra_forbidden"}
                for k in sorted(unknown)
            ],
        )


def parse_query(model: type[BaseModel]) -> BaseModel:
    """Query parameters as `model` (strings coerced to the declared types)."""
    # A parameter named as a Python keyword ("from") is the field's alias.
    refuse_unknown_parameters({f.alias or n for n, f in model.model_fields.items()})
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
    # pydantic writes the JSON (a stored number no JSON can hold, from before it was
    # refused, comes out null: see Output), unescaped UTF-8 as before.
    if isinstance(value, list):
        body = "[" + ",".join(v.model_dump_json() for v in value) + "]"
    else:
        body = value.model_dump_json()
    return current_app.response_class(body, status=status, mimetype="application/json")


_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_REF = "#/components/schemas/{model}"


class _DocumentSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema, plus what the validators check that the schema would not
    say: a URL's scheme."""

    def url_schema(self, schema):  # type: ignore[override]
        described = super().url_schema(schema)
        if schemes := schema.get("allowed_schemes"):
            either = "|".join(
                "".join(f"[{c.upper()}{c.lower()}]" for c in scheme) for scheme in schemes
            )
            described["pattern"] = f"^(?:{either})://"
        return described


def _path_parameter(converter: str, name: str) -> dict[str, Any]:
    if converter == "int":
        schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    elif name == "platform":
        schema = {"x-component": "PlatformName"}
    else:
        schema = {"type": "string"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def openapi_document(
    app: Flask, *, title: str, version: str, platforms: list[str]
) -> dict[str, Any]:
    """OpenAPI 3.1 for every declared endpoint, schemas taken from the pydantic models.
    `platforms`: the installed adapters' names (what a platform field accepts)."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}

    def ref(model: Any) -> dict[str, Any]:
        schema = TypeAdapter(model).json_schema(ref_template=_REF, schema_generator=_DocumentSchema)
        schemas.update(schema.pop("$defs", {}))
        if isinstance(model, type) and issubclass(model, BaseModel):
            own = {"$ref": _REF.format(model=model.__name__)}
            # A model that contains itself (a comment's replies) comes back as a reference
            # to its own definition among the $defs: that definition stays, or the
            # document would define the model as a reference to itself.
            if schema != own:
                schemas[model.__name__] = schema
            return own
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
                    *(_path_parameter(c, name) for c, name in _PATH_PARAM.findall(rule.rule)),
                    *meta.headers,
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
            params = bool(_PATH_PARAM.findall(rule.rule))
            for code in problem_statuses(meta, method.lower(), params):
                op["responses"][str(code)] = {
                    "description": PROBLEMS[code],
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                }
            if not meta.public:
                op["x-roles"] = meta.roles()
                op["description"] = f"Roles: {', '.join(op['x-roles'])}."
            if meta.response is not None:
                op["responses"][str(meta.status)]["content"] = {
                    "application/json": {"schema": ref(meta.response)},
                    **{
                        kind: {"schema": _media_schema(kind, holds)} for kind, holds in meta.formats
                    },
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
                # The model's own schema: each property keeps its bounds, pattern and default.
                query = _inline(
                    meta.query.model_json_schema(
                        ref_template=_REF, schema_generator=_DocumentSchema
                    ),
                    schemas,
                )
                for field_name, field in meta.query.model_fields.items():
                    name = field.alias or field_name
                    prop = dict(query["properties"][name])
                    prop.pop("title", None)
                    op["parameters"].append(
                        {
                            "name": name,
                            "in": "query",
                            "required": field.is_required(),
                            "description": prop.pop("description", ""),
                            "schema": prop,
                        }
                    )
            paths.setdefault(path, {})[method.lower()] = op
    schemas["TimeZoneName"] = {
        "type": "string",
        "description": "An IANA time zone name",
        "enum": list(time_zone_names()),
    }
    schemas["PlatformName"] = {
        "type": "string",
        "description": "A platform whose adapter is installed",
        "enum": platforms,
    }
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
    return with_examples(
        _named_components(
            {
                "openapi": "3.1.0",
                "info": {"title": title, "version": version},
                "paths": paths,
                "components": {
                    "schemas": schemas,
                    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                },
            }
        )
    )


def _media_schema(kind: str, holds: str) -> dict[str, Any]:
    """A non-JSON answer's schema: text, or bytes for anything else."""
    if kind.startswith("text/"):
        return {"type": "string", "description": holds}
    return {"type": "string", "format": "binary", "description": holds}


def _named_components(node: Any) -> Any:
    """`{"x-component": name}` (a type that names its component) becomes a $ref to it."""
    if isinstance(node, dict):
        named = {key: _named_components(value) for key, value in node.items()}
        if "x-component" in named:  # siblings (a description) stay: OpenAPI 3.1 allows them
            named["$ref"] = f"#/components/schemas/{named.pop('x-component')}"
        return named
    if isinstance(node, list):
        return [_named_components(value) for value in node]
    return node
